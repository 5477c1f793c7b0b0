"""Finding participants below target during or after an event, and sending them reminders."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from sim_grid import read_clock
from sim_grid.events import event_end, live_progress
from sim_grid.loads import intervals_elapsed
from sim_grid.models import Customer, District, Event, Execution
from sim_grid.settings import DRSettings
from sms_gateway import OutgoingSms
from tools.context import ToolContext
from tools.contract import ListUnderperformersArgs, SendSupervisionSmsArgs
from tools.errors import ToolError
from tools.lookup import day_of, event_of_day, optional_district
from tools.sms_delivery import delivery_fields, delivery_notes, send_messages
from tools.text import day_label, interval_time, number, percent

SUMMARY_NAMES_SHOWN = 3


def _require_started(event: Event, now: datetime, settings: DRSettings) -> None:
    """Raise unless at least one interval of the event window has ended."""
    ended = min(intervals_elapsed(event.day, now, settings), event.end_interval) - event.start_interval
    if ended <= 0:
        raise ToolError(
            f"{day_label(event.day)}的需求响应尚未开始或刚开始（{interval_time(event.start_interval, settings)}开始），暂无执行数据。"
        )


def _live_underperformers(session: Session, event: Event, now: datetime, settings: DRSettings, district: District | None):
    district_id = district.id if district else None
    below = live_progress(session, event, now, settings, district_id, below_rate=settings.qualify_rate_min)
    return sorted(below, key=lambda p: p.rate)


def send_supervision_sms(args: SendSupervisionSmsArgs, ctx: ToolContext) -> dict:
    """During an event, SMS each participant below target its current load, target load and gap."""
    settings = ctx.settings
    with ctx.session() as session:
        district = optional_district(session, args.district)
        day = day_of(session, args.date)
        event = event_of_day(session, day)
        now = read_clock(session)
        if now >= event_end(event, settings):
            raise ToolError(f"{day_label(day)}的需求响应已经结束，不再发送监督短信，可以生成执行效果报告。")
        _require_started(event, now, settings)

        below = _live_underperformers(session, event, now, settings, district)
        messages, users = [], []
        for p in below:
            gap_kw = max(p.current_kw - p.target_kw, 0.0)
            text = (
                f"【需求响应监督】{p.customer.name}您好：您当前负荷{number(p.current_kw)}kW，"
                f"目标负荷{number(p.target_kw)}kW，还差{number(gap_kw)}kW，达成率{percent(p.rate)}，请尽快削减用电。"
            )
            messages.append(OutgoingSms(kind="supervision", text=text, phone=p.customer.phone, event_id=event.id,
                                        customer_id=p.customer.id, recipient_name=p.customer.name))
            users.append({"user_id": p.customer.user_id, "current_kw": round(p.current_kw, 1),
                          "target_kw": round(p.target_kw, 1), "gap_kw": round(gap_kw, 1), "rate": round(p.rate, 4)})
        report = send_messages(ctx, session, messages, now) if messages else None
        sent = report.count("sent") if report else 0
        already = report.count("already_sent") if report else 0

    time_label = f"{now:%H:%M}"
    scope = district.name if district else ""
    if not below:
        summary = f"截至{time_label}，{scope}参与用户均达到目标，无需发送监督短信。"
        return {"ok": True, "summary": summary, "underperformers": 0, "sent": 0, "already_sent": 0, "users": []}
    summary = f"截至{time_label}，{scope}共有{len(below)}位参与用户未达标，"
    if sent == len(below):
        summary += "已逐一发送监督短信，告知当前负荷、目标负荷和差距。"
    elif sent and sent + already == len(below):
        summary += f"已向其中{sent}位发送监督短信，其余{already}位此前已发送，未重复发送。"
    elif sent:
        summary += f"已向其中{sent}位发送监督短信，{already}位此前已发送。"
    elif already == len(below):
        summary += "此前都已收到监督短信，本次未重复发送。"
    else:
        summary += f"本次未能发出监督短信，此前已发送{already}位。"
    return {"ok": True, "summary": summary + delivery_notes(report, settings) + "是否查看未达标用户明细？",
            "date": day.isoformat(), "underperformers": len(below), "sent": sent, "already_sent": already, "users": users,
            **delivery_fields(report)}


def list_underperformers(args: ListUnderperformersArgs, ctx: ToolContext) -> dict:
    """List participants below target so far (during the event) or not qualified (after it)."""
    settings = ctx.settings
    with ctx.session() as session:
        district = optional_district(session, args.district)
        day = day_of(session, args.date)
        event = event_of_day(session, day)
        now = read_clock(session)
        finished = event.status == "done"
        if finished:
            query = (
                select(Execution, Customer)
                .join(Customer, Customer.id == Execution.customer_id)
                .where(Execution.event_id == event.id, Execution.qualified == False)  # noqa: E712
            )
            if district is not None:
                query = query.where(Customer.district_id == district.id)
            rows = sorted(session.exec(query).all(), key=lambda row: row[0].rate)
            users = [{"user_id": c.user_id, "name": c.name, "declared_kw": c.declared_kw,
                      "reduction_kw": round(e.reduction_kw, 1), "rate": round(e.rate, 4)} for e, c in rows]
        else:
            _require_started(event, now, settings)
            below = _live_underperformers(session, event, now, settings, district)
            users = [{"user_id": p.customer.user_id, "name": p.customer.name, "declared_kw": p.customer.declared_kw,
                      "reduction_kw": round(p.reduction_kw, 1), "rate": round(p.rate, 4),
                      "current_kw": round(p.current_kw, 1), "target_kw": round(p.target_kw, 1)} for p in below]

    scope = district.name if district else ""
    when = f"{day_label(day)}需求响应" if finished else f"截至{now:%H:%M}"
    if not users:
        summary = f"{when}{scope}没有未达标的参与用户。"
    else:
        shown = "、".join(f"{u['user_id']}（{percent(u['rate'])}）" for u in users[:SUMMARY_NAMES_SHOWN])
        more = "等" if len(users) > SUMMARY_NAMES_SHOWN else ""
        summary = f"{when}{scope}共有{len(users)}户未达标，达成率最低的是{shown}{more}。"
    summary += "是否生成执行效果报告？" if finished else "是否发送监督短信？"
    return {"ok": True, "summary": summary, "date": day.isoformat(), "finished": finished, "count": len(users), "users": users}
