"""Argument models of the twelve tools: the contract shared by the tools, the agent's
constrained decoder, the scenario scripts and the fine-tuning traces.

Change a name here only together with every one of those users. Each model's docstring is
the tool's Chinese description that the model's tool schema carries, so keep it short.
Field order is the order of the keys in a canonical tool call.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# "today", "tomorrow", "yesterday" or an ISO date (YYYY-MM-DD), resolved by the tool against
# the simulator clock so that the model never does calendar arithmetic.
DateRef = str

DecomposeMethod = Literal["mean", "capacity", "equal", "history"]
DecomposeLevel = Literal["district", "station"]


class ToolArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GetDeficitWarningArgs(ToolArgs):
    """查询某日负荷缺口预警：缺口时段、最大缺口MW、持续时长、是否建议启动需求响应。"""

    date: DateRef = Field("tomorrow", description="today/tomorrow/yesterday 或 YYYY-MM-DD")


class DecomposeDeficitArgs(ToolArgs):
    """把负荷缺口(MW)按方法分解到各区域或某区域的供电所。"""

    gap_mw: float = Field(..., description="要分解的缺口，MW，必须为正")
    method: DecomposeMethod = Field("mean", description="mean=平均值法, capacity=按签约容量, equal=平均分配, history=按历史响应")
    date: DateRef = Field("tomorrow", description="缺口所在日期")
    level: DecomposeLevel = Field("district", description="district=到区域, station=到供电所")
    district: str | None = Field(None, description="level=station 时要分解的区域")


class SendDrNotificationArgs(ToolArgs):
    """向某区域全部签约且未退订用户发送需求响应邀约短信。"""

    district: str = Field(..., description="区域名，如 城南区")
    date: DateRef = Field("tomorrow", description="响应事件日期")


class CountRepliesArgs(ToolArgs):
    """统计邀约短信的回复：参与户数、参与率、预计响应负荷与目标对比。"""

    date: DateRef = Field("tomorrow", description="响应事件日期")
    district: str | None = Field(None, description="区域名；不填则统计全部区域")


class GetUserExecutionArgs(ToolArgs):
    """查询用户的响应执行情况：基线负荷、响应期间平均负荷、削减量、达成率、累计补贴。"""

    user_id: str = Field(..., description="6位用户编号")
    date: DateRef | None = Field(None, description="事件日期；不填则为该用户最近一次事件")


class SendSupervisionSmsArgs(ToolArgs):
    """响应期间向未达标用户发送监督短信（当前负荷、目标负荷、差距）。"""

    date: DateRef = Field("today", description="响应事件日期")
    district: str | None = Field(None, description="区域名；不填则为全部区域")


class GenerateEffectReportArgs(ToolArgs):
    """生成需求响应执行效果报告（目标与实际削减、达成率、参与与达标户数、最大削减时刻）并附图。"""

    date: DateRef = Field(..., description="响应事件日期")


class SendFollowupNoticeArgs(ToolArgs):
    """向某区域已邀约但尚未回复的用户发送追加提醒短信。"""

    district: str = Field(..., description="区域名")
    date: DateRef = Field("tomorrow", description="响应事件日期")


class ListUnderperformersArgs(ToolArgs):
    """列出响应期间未达标的用户明细。"""

    date: DateRef = Field("today", description="响应事件日期")
    district: str | None = Field(None, description="区域名；不填则为全部区域")


class GetSmsStatusArgs(ToolArgs):
    """查询短信发送状态：已发送、已送达、失败条数。"""

    district: str | None = Field(None, description="区域名；不填则为全部区域")
    date: DateRef = Field("tomorrow", description="响应事件日期")


class GetLoadCurveArgs(ToolArgs):
    """查看用户或区域某日的96点负荷曲线（含基线），并生成图。"""

    user_id: str | None = Field(None, description="6位用户编号")
    district: str | None = Field(None, description="区域名")
    date: DateRef = Field("today", description="日期")


class SendReportArgs(ToolArgs):
    """把某日的执行效果报告发送给相关负责人。"""

    date: DateRef = Field(..., description="报告对应的事件日期")
    recipients: list[str] | None = Field(None, description="接收人；不填则发给默认负责人")


# Tool name -> argument model, in the order the tools are listed to the model.
TOOL_ARGS: dict[str, type[ToolArgs]] = {
    "get_deficit_warning": GetDeficitWarningArgs,
    "decompose_deficit": DecomposeDeficitArgs,
    "send_dr_notification": SendDrNotificationArgs,
    "count_replies": CountRepliesArgs,
    "get_user_execution": GetUserExecutionArgs,
    "send_supervision_sms": SendSupervisionSmsArgs,
    "generate_effect_report": GenerateEffectReportArgs,
    "send_followup_notice": SendFollowupNoticeArgs,
    "list_underperformers": ListUnderperformersArgs,
    "get_sms_status": GetSmsStatusArgs,
    "get_load_curve": GetLoadCurveArgs,
    "send_report": SendReportArgs,
}

# Tools that change the world (send messages). The agent treats them with more care.
SIDE_EFFECT_TOOLS = frozenset(
    {"send_dr_notification", "send_supervision_sms", "send_followup_notice", "send_report"}
)


def tool_schema(name: str) -> dict:
    """Return the OpenAI-style function schema of one tool, built from its argument model."""
    model = TOOL_ARGS[name]
    parameters = model.model_json_schema()
    parameters.pop("title", None)
    parameters.pop("description", None)
    for prop in parameters.get("properties", {}).values():
        prop.pop("title", None)
    return {
        "type": "function",
        "function": {"name": name, "description": model.__doc__.strip(), "parameters": parameters},
    }


def all_tool_schemas() -> list[dict]:
    return [tool_schema(name) for name in TOOL_ARGS]
