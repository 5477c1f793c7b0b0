"""Invitation and follow-up SMS to a district's contracted customers, and delivery status."""

from __future__ import annotations

from collections import Counter

from sqlmodel import Session, col, select

from sim_grid import read_clock
from sim_grid.models import Customer, District, Event, SmsInbox, SmsOutbox
from sms_gateway import OutgoingSms
from tools.context import ToolContext
from tools.contract import GetSmsStatusArgs, SendDrNotificationArgs, SendFollowupNoticeArgs
from tools.errors import ToolError
from tools.lookup import day_of, district_allocation, district_named, event_of_day, optional_district
from tools.sms_delivery import delivery_fields, delivery_notes, send_messages
from tools.text import day_label, number, window_label

STATUS_NAMES = {"delivered": "已送达", "sent": "发送中", "failed": "失败", "queued": "排队"}
# Outbox statuses as get_sms_status counts them: a message the handset never got is a failure.
STATUS_GROUPS = {"queued": "queued", "sent": "sent", "delivered": "delivered", "undelivered": "failed", "failed": "failed"}


def _invitable(session: Session, district: District) -> list[Customer]:
    return list(
        session.exec(
            select(Customer)
            .where(Customer.district_id == district.id, Customer.contracted == True, Customer.opted_out == False)  # noqa: E712
            .order_by(Customer.user_id)
        ).all()
    )


def _require_open(event: Event) -> None:
    if event.status in ("running", "done"):
        raise ToolError(f"{day_label(event.day)}的需求响应已经开始或结束，不能再发送邀约类短信。")


def send_dr_notification(args: SendDrNotificationArgs, ctx: ToolContext) -> dict:
    """SMS an invitation to every contracted, not opted-out customer of a district."""
    settings = ctx.settings
    with ctx.session() as session:
        district = district_named(session, args.district)
        day = day_of(session, args.date)
        event = event_of_day(session, day)
        _require_open(event)
        allocation = district_allocation(session, event, district)
        if allocation is None:
            raise ToolError(f"{district.name}还没有{day_label(day)}的削减目标，请先把负荷缺口分解到各区域。")

        now = read_clock(session)
        window = window_label(event.start_interval, event.end_interval, settings)
        customers = _invitable(session, district)
        messages = [
            OutgoingSms(
                kind="invitation",
                text=(
                    f"【需求响应邀约】{customer.name}您好：{day_label(day)}{window}开展需求响应，"
                    f"{district.name}目标削减{number(allocation.target_mw)}MW，补贴{number(event.price_yuan_per_kwh, 2)}元/kWh，"
                    f"您的约定响应量为{number(customer.declared_kw)}kW。回复1参与，回复2不参与，回复TD退订。"
                ),
                phone=customer.phone,
                event_id=event.id,
                customer_id=customer.id,
                recipient_name=customer.name,
            )
            for customer in customers
        ]
        report = send_messages(ctx, session, messages, now)
        sent = report.count("sent")
        if event.status == "planned" and sent:
            event.status = "notified"
            session.add(event)
        session.commit()

    already = report.count("already_sent")
    details = f"（{window}，目标削减{number(allocation.target_mw)}MW，补贴{number(event.price_yuan_per_kwh, 2)}元/kWh）"
    if sent and not already:
        summary = f"已向{district.name}{sent}位签约用户发送{day_label(day)}需求响应邀约短信{details}，预计5分钟内送达。"
    elif sent:
        summary = f"已向{district.name}{sent}位签约用户补发邀约短信{details}，另有{already}位此前已发送，未重复发送。"
    elif already == len(customers):
        summary = f"{district.name}{already}位签约用户此前都已收到{day_label(day)}的邀约短信，本次未重复发送。"
    else:
        summary = f"本次未能向{district.name}签约用户发出新的邀约短信，此前已发送{already}位。"
    return {
        "ok": True,
        "summary": summary + delivery_notes(report, settings) + "是否查看短信发送状态？",
        "district": district.name,
        "date": day.isoformat(),
        "invited": len(customers),
        "sent": sent,
        "already_sent": already,
        "window": window,
        "target_mw": allocation.target_mw,
        "price_yuan_per_kwh": event.price_yuan_per_kwh,
        **delivery_fields(report),
    }


def invited_query(event: Event, district: District | None, *columns):
    """Select the columns of each customer who received an invitation for the event, by user id.

    district, when given, keeps the customers of that district.
    """
    query = (
        select(*columns)
        .select_from(Customer)
        .join(SmsOutbox, SmsOutbox.customer_id == Customer.id)
        .where(SmsOutbox.event_id == event.id, SmsOutbox.kind == "invitation", SmsOutbox.status != "queued")
    )
    if district is not None:
        query = query.where(Customer.district_id == district.id)
    return query.order_by(Customer.user_id)


def invited_customers(session: Session, event: Event, district: District | None) -> list[Customer]:
    """Return the customers who received an invitation for the event, optionally in one district."""
    return list(session.exec(invited_query(event, district, Customer)).all())


def decisive_replies(session: Session, event: Event, now) -> dict[int, str]:
    """Return each customer's latest yes/no/optout reply received by `now`."""
    rows = session.exec(
        select(SmsInbox.customer_id, SmsInbox.parsed)
        .where(SmsInbox.event_id == event.id, SmsInbox.received_at <= now, SmsInbox.parsed != "unparsed")
        .order_by(SmsInbox.received_at, SmsInbox.id)
    ).all()
    return dict(rows)


def send_followup_notice(args: SendFollowupNoticeArgs, ctx: ToolContext) -> dict:
    """Remind invited customers of a district who have not replied yet."""
    settings = ctx.settings
    with ctx.session() as session:
        district = district_named(session, args.district)
        day = day_of(session, args.date)
        event = event_of_day(session, day)
        _require_open(event)
        now = read_clock(session)
        invited = invited_customers(session, event, district)
        if not invited:
            raise ToolError(f"{district.name}还没有发送{day_label(day)}的邀约短信，请先发送需求响应通知。")

        replied = decisive_replies(session, event, now)
        silent = [c for c in invited if c.id not in replied and not c.opted_out]
        window = window_label(event.start_interval, event.end_interval, settings)
        messages = [
            OutgoingSms(
                kind="followup",
                text=(
                    f"【需求响应提醒】{customer.name}您好：{day_label(day)}{window}的需求响应尚未收到您的回复，"
                    "回复1参与，回复2不参与，回复TD退订。"
                ),
                phone=customer.phone,
                event_id=event.id,
                customer_id=customer.id,
                recipient_name=customer.name,
            )
            for customer in silent
        ]
        report = send_messages(ctx, session, messages, now) if messages else None
        sent = report.count("sent") if report else 0
        already = report.count("already_sent") if report else 0

    notes = delivery_notes(report, settings) if report else ""
    if sent:
        summary = f"已向{district.name}{sent}位尚未回复的用户发送追加提醒短信。{notes}是否稍后再统计回复？"
    elif silent and already == len(silent):
        summary = f"{district.name}{len(silent)}位未回复用户此前已收到追加提醒，本次未重复发送。是否稍后再统计回复？"
    elif silent:
        summary = f"本次未能向{district.name}{len(silent)}位未回复用户发出追加提醒。{notes}是否稍后再试？"
    else:
        summary = f"{district.name}已邀约的用户都已回复，无需追加提醒。是否统计用户回复？"
    return {"ok": True, "summary": summary, "district": district.name, "date": day.isoformat(),
            "not_replied": len(silent), "sent": sent, **(delivery_fields(report) if report else {})}


def get_sms_status(args: GetSmsStatusArgs, ctx: ToolContext) -> dict:
    """Count an event's messages by delivery status, optionally for one district."""
    with ctx.session() as session:
        district = optional_district(session, args.district)
        day = day_of(session, args.date)
        event = event_of_day(session, day)
        query = select(SmsOutbox.kind, SmsOutbox.status).where(SmsOutbox.event_id == event.id)
        if district is not None:
            query = query.join(Customer, Customer.id == SmsOutbox.customer_id).where(Customer.district_id == district.id)
        rows = session.exec(query).all()

    scope = district.name if district else "全市"
    rows = [(kind, STATUS_GROUPS.get(status, status)) for kind, status in rows]
    by_status = Counter(status for _, status in rows)
    by_kind: dict[str, dict[str, int]] = {}
    for kind, status in rows:
        by_kind.setdefault(kind, {}).setdefault(status, 0)
        by_kind[kind][status] += 1
    counts = {status: by_status.get(status, 0) for status in ("queued", "sent", "delivered", "failed")}

    if not rows:
        summary = f"{scope}还没有发送{day_label(day)}需求响应的短信。"
    else:
        shown = [s for s in ("delivered", "sent", "failed", "queued") if counts[s] or s in ("delivered", "sent")]
        parts = "，".join(f"{STATUS_NAMES[s]}{counts[s]}条" for s in shown)
        summary = f"{scope}{day_label(day)}需求响应短信共{len(rows)}条：{parts}。是否统计用户回复？"
    return {"ok": True, "summary": summary, "district": district.name if district else None, "date": day.isoformat(),
            "total": len(rows), **counts, "by_kind": by_kind}
