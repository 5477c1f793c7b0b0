"""The dispatcher's approval of messages before they are sent, and its audit record."""

from __future__ import annotations

import datetime as dt
import json

from sim_grid import AuditEntry, record_audit
from tools import ToolContext

# Dispatcher-facing name of the messages each sending tool sends.
MESSAGE_KIND = {
    "send_dr_notification": "需求响应邀约短信",
    "send_followup_notice": "追加提醒短信",
    "send_supervision_sms": "监督短信",
    "send_report": "效果报告",
}


def proposal_text(preview: dict) -> str:
    """Render the Chinese question shown to the dispatcher before a send."""
    kind = MESSAGE_KIND.get(preview["tool"], "短信")
    district = preview.get("arguments", {}).get("district")
    scope = f"{district}的" if district else ""
    count = preview.get("recipients")
    who = f"{scope}{count}位接收人" if count is not None else f"{scope}接收人"
    lines = [f"即将向{who}发送{kind}。"]
    if preview.get("sample_text"):
        lines.append(f"短信内容（示例）：{preview['sample_text']}")
    lines.append("请确认是否发送（确认 / 取消）。")
    return "\n".join(lines)


def approval_request(preview: dict) -> dict:
    """Return the payload of the graph interrupt that requests approval."""
    return {"type": "approval", "tool": preview["tool"], "arguments": preview.get("arguments", {}), "preview": preview, "prompt": proposal_text(preview)}


def record_decision(ctx: ToolContext, actor: str, thread_id: str, request_text: str, call: dict, preview: dict, decision: str, result: dict) -> None:
    """Write one audit entry for a proposed send."""
    record_audit(
        ctx.engine,
        AuditEntry(
            recorded_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
            actor=actor,
            thread_id=thread_id,
            request_text=request_text,
            tool=call["name"],
            arguments_json=json.dumps(call["args"], ensure_ascii=False),
            proposal=proposal_text(preview),
            decision=decision,
            sent_count=int(result.get("sent") or 0),
        ),
    )
