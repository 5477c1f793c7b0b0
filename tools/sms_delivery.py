"""Sending the send_* tools' messages through the context's gateway, and telling the dispatcher what was held back."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from sim_grid import DRSettings
from sms_gateway import DeliveryReport, OutgoingSms, deliver
from tools.context import ToolContext
from tools.errors import ToolError


def send_messages(ctx: ToolContext, session: Session, messages: list[OutgoingSms], now: datetime) -> DeliveryReport:
    """Send a batch through ctx.gateway; commits the session.

    Raises ToolError, having written nothing, when `now` is inside the quiet hours.
    """
    report = deliver(session, ctx.gateway, messages, ctx.settings, now)
    if report.quiet_hours:
        start, end = ctx.settings.quiet_hours_start_hour, ctx.settings.quiet_hours_end_hour
        raise ToolError(
            f"现在（{now:%H:%M}）处于短信免打扰时段（{start:02d}:00-{end:02d}:00），本次未发送任何短信，请在{end:02d}:00以后再发送。"
        )
    return report


def delivery_notes(report: DeliveryReport, settings: DRSettings) -> str:
    """Return Chinese sentences about messages that were not sent in this call ("" when none)."""
    notes = []
    queued = report.count("queued")
    if report.rate_limited:
        notes.append(
            f"因发送频率限制（每分钟最多{settings.max_sends_per_minute}条），另有{queued}条短信仍在排队，"
            "请约1分钟后再次执行本操作补发，已发送的不会重复发送。"
        )
    elif report.gateway_error:
        notes.append(f"短信网关暂时不可用，另有{queued}条短信仍在排队，请稍后再次执行本操作补发，已发送的不会重复发送。")
    if report.count("rejected"):
        notes.append(f"{report.count('rejected')}条短信被短信网关拒收（号码无效或已退订），已记为发送失败。")
    if report.count("invalid_phone"):
        notes.append(f"{report.count('invalid_phone')}个手机号码格式无效，未发送。")
    if report.count("opted_out"):
        notes.append(f"{report.count('opted_out')}位用户已退订短信，未发送。")
    return "".join(notes)


def delivery_fields(report: DeliveryReport) -> dict:
    """Return the non-zero counts of messages held back, for the tool result ({} when all went out)."""
    fields = {
        "queued": report.count("queued"),
        "rejected": report.count("rejected"),
        "invalid_phone": report.count("invalid_phone"),
        "opted_out_skipped": report.count("opted_out"),
    }
    return {name: count for name, count in fields.items() if count}
