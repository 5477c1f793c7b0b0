"""The simulated SMS gateway: outbox with delivery receipts, inbox with scheduled replies."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from sim_grid.behaviour import plan_for
from sim_grid.clock import city_seed, read_clock
from sim_grid.db import seeded_rng
from sim_grid.errors import UnknownCustomerError
from sim_grid.models import Customer, Event, SmsInbox, SmsOutbox
from sim_grid.rules import parse_reply
from sim_grid.settings import DRSettings


def sent_phones(session: Session, event_id: int | None, kind: str) -> set[str]:
    return set(session.exec(select(SmsOutbox.phone).where(SmsOutbox.event_id == event_id, SmsOutbox.kind == kind)).all())


def send_message(
    session: Session,
    *,
    event: Event | None,
    kind: str,
    text: str,
    now: datetime,
    settings: DRSettings,
    customer: Customer | None = None,
    phone: str | None = None,
    recipient_name: str | None = None,
    may_fail: bool = True,
) -> SmsOutbox | None:
    """Queue one message with its seeded delivery time and outcome.

    Returns None, and writes nothing, when this (event, kind, phone) was already sent.
    """
    phone = phone or customer.phone
    event_id = event.id if event else None
    existing = session.exec(
        select(SmsOutbox.id).where(SmsOutbox.event_id == event_id, SmsOutbox.kind == kind, SmsOutbox.phone == phone)
    ).first()
    if existing is not None:
        return None

    rng = seeded_rng("sms", city_seed(session), event_id, kind, phone)
    delay = int(rng.integers(1, settings.sms_delivery_max_minutes + 1))
    failed = may_fail and rng.random() < settings.sms_failure_rate
    message = SmsOutbox(
        event_id=event_id,
        customer_id=customer.id if customer else None,
        phone=phone,
        recipient_name=recipient_name or (customer.name if customer else None),
        kind=kind,
        text=text,
        status="sent",
        sent_at=now,
        deliver_at=now + timedelta(minutes=delay),
        final_status="failed" if failed else "delivered",
    )
    session.add(message)
    return message


def send_invitation(
    session: Session, event: Event, customer: Customer, text: str, now: datetime, settings: DRSettings
) -> SmsOutbox | None:
    """Send an invitation and schedule the customer's planned reply.

    Only customers that stay silent can have their invitation fail, so a failed delivery
    never hides a planned reply. The reply arrives after the planned delay, but no later
    than the reply deadline (reply_deadline_hour on the day before the event) when the
    invitation went out before it.
    """
    plan = plan_for(session, customer, event, settings)
    message = send_message(
        session,
        event=event,
        kind="invitation",
        text=text,
        now=now,
        settings=settings,
        customer=customer,
        may_fail=plan.reply_kind == "none",
    )
    if message is None or plan.reply_kind == "none":
        return message

    received_at = now + timedelta(minutes=plan.reply_delay_minutes)
    deadline = datetime.combine(event.day - timedelta(days=1), datetime.min.time()) + timedelta(
        hours=settings.reply_deadline_hour
    )
    if now < deadline:
        received_at = min(received_at, deadline)
    session.add(
        SmsInbox(
            customer_id=customer.id,
            event_id=event.id,
            text=plan.reply_text,
            received_at=received_at,
            parsed=parse_reply(plan.reply_text),
        )
    )
    return message


def _apply_reply(session: Session, reply: SmsInbox) -> None:
    if reply.parsed == "optout":
        customer = session.get(Customer, reply.customer_id)
        customer.opted_out = True
        session.add(customer)
    reply.applied = True
    session.add(reply)


def apply_due_messages(session: Session, now: datetime) -> None:
    """Turn due outbox rows into delivery receipts and apply replies that have arrived."""
    for message in session.exec(select(SmsOutbox).where(SmsOutbox.status == "sent", SmsOutbox.deliver_at <= now)).all():
        message.status = message.final_status
        session.add(message)
    for reply in session.exec(select(SmsInbox).where(SmsInbox.applied == False, SmsInbox.received_at <= now)).all():  # noqa: E712
        _apply_reply(session, reply)


def inject_reply(engine: Engine, user_id: str, text: str, at: datetime | None = None) -> SmsInbox:
    """Record an inbound SMS from a customer at `at` (default: now).

    The reply belongs to the event of the customer's latest invitation or follow-up sent
    by then (None if there is none). It takes effect at once when `at` is not in the future.
    """
    with Session(engine) as session:
        customer = session.exec(select(Customer).where(Customer.user_id == user_id)).first()
        if customer is None:
            raise UnknownCustomerError(user_id)
        now = read_clock(session)
        at = at or now

        invitation = session.exec(
            select(SmsOutbox)
            .where(SmsOutbox.customer_id == customer.id, SmsOutbox.sent_at <= at)
            .where(SmsOutbox.kind.in_(["invitation", "followup"]))
            .order_by(SmsOutbox.sent_at.desc(), SmsOutbox.id.desc())
        ).first()
        reply = SmsInbox(
            customer_id=customer.id,
            event_id=invitation.event_id if invitation else None,
            text=text,
            received_at=at,
            parsed=parse_reply(text),
        )
        session.add(reply)
        if at <= now:
            _apply_reply(session, reply)
        session.commit()
        session.refresh(reply)
        return reply
