"""The tool table and call_tool, which validates arguments and turns problems into results."""

from __future__ import annotations

import logging
from collections.abc import Callable

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from sim_grid import SimError
from tools.context import ToolContext
from tools.contract import TOOL_ARGS
from tools.curves import get_load_curve
from tools.deficit import decompose_deficit, get_deficit_warning
from tools.errors import ToolError
from tools.execution import get_user_execution
from tools.invitations import get_sms_status, send_dr_notification, send_followup_notice
from tools.replies import count_replies
from tools.report import generate_effect_report, send_report
from tools.supervision import list_underperformers, send_supervision_sms

logger = logging.getLogger(__name__)

_FUNCTIONS: dict[str, Callable[..., dict]] = {
    "get_deficit_warning": get_deficit_warning,
    "decompose_deficit": decompose_deficit,
    "send_dr_notification": send_dr_notification,
    "count_replies": count_replies,
    "get_user_execution": get_user_execution,
    "send_supervision_sms": send_supervision_sms,
    "generate_effect_report": generate_effect_report,
    "send_followup_notice": send_followup_notice,
    "list_underperformers": list_underperformers,
    "get_sms_status": get_sms_status,
    "get_load_curve": get_load_curve,
    "send_report": send_report,
}
# Same order as the contract, which is the order of the tool list in the model's prompt.
TOOLS: dict[str, Callable[..., dict]] = {name: _FUNCTIONS[name] for name in TOOL_ARGS}


def failure(message_zh: str) -> dict:
    return {"ok": False, "error": message_zh, "summary": message_zh}


def _describe_validation(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "参数"
        if item["type"] == "missing":
            problems.append(f"缺少参数 {field}")
        elif item["type"] == "extra_forbidden":
            problems.append(f"不支持参数 {field}")
        else:
            problems.append(f"参数 {field} 的值无效")
    return "参数有误：" + "；".join(problems) + "。"


def call_tool(name: str, arguments: dict | None, ctx: ToolContext) -> dict:
    """Run a tool by name. User-level problems come back as {"ok": False, "error": ...}; nothing is written then."""
    if name not in TOOLS:
        return failure(f"未知工具“{name}”，可用工具：{'、'.join(TOOLS)}。")
    try:
        args = TOOL_ARGS[name].model_validate(arguments or {})
    except ValidationError as error:
        return failure(_describe_validation(error))
    try:
        try:
            return TOOLS[name](args, ctx)
        except IntegrityError:
            # Another session wrote the same outbox rows first (two dispatchers notifying one
            # district at once). The tools are idempotent, so a rerun sees those rows and sends
            # only what is still missing.
            logger.info("tool %s raced a concurrent writer; running it again", name)
            return TOOLS[name](args, ctx)
    except ToolError as error:
        return failure(error.message_zh)
    except SimError as error:
        logger.warning("tool %s rejected %r: %s", name, arguments, error)
        return failure("请求无法处理，请检查日期、区域或用户编号是否正确。")
