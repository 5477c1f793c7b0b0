"""The simulated SMS gateway: outbox with delivery receipts, inbox with scheduled replies.

simulate_send is the send step of the simulated gateway. receive_reply records a reply
from any gateway, simulated or real.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.event import listens_for
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from sim_grid.behaviour import load_stored_plans, plan_for
from sim_grid.clock import city_seed, read_clock
from sim_grid.db import seeded_rng
from sim_grid.errors import UnknownCustomerError
from sim_grid.models import Customer, Event, SimClock, SmsInbox, SmsOutbox
from sim_grid.rules import parse_reply
from sim_grid.settings import DRSettings


def sent_phones(session: Session, event_id: int | None, kind: str) -> set[str]:
    return set(session.exec(select(SmsOutbox.phone).where(SmsOutbox.event_id == event_id, SmsOutbox.kind == kind)).all())


def _planned_reply(session: Session, customer: Customer, event: Event, now: datetime, settings: DRSettings) -> None:
    """Schedule the customer's planned reply to an invitation sent at `now`.

    The reply arrives after the planned delay, but no later than the reply deadline
    (reply_deadline_hour on the day before the event) when the invitation went out before it.
    """
    plan = plan_for(session, customer, event, settings)
    if plan.reply_kind == "none":
        return
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


_BATCH_CLOCK = "sim_batch_clock"


def prepare_sends(session: Session, messages: Sequence[SmsOutbox]) -> None:
    """Read in bulk what simulate_send reads for each of these messages, before a batch is sent.

    The stored response plans of invited customers go to the session's plan cache. Plans not
    stored yet are drawn by simulate_send, only for invitations that a sender has claimed.
    The clock row stays in the session until the transaction ends, so that reading the clock
    once per message finds it there instead of querying again.
    """
    session.info[_BATCH_CLOCK] = session.get(SimClock, 1)
    customer_ids: dict[int, set[int]] = defaultdict(set)
    for message in messages:
        if message.kind == "invitation" and message.customer_id is not None and message.event_id is not None:
            customer_ids[message.event_id].add(message.customer_id)

    for event_id, ids in customer_ids.items():
        event = session.get(Event, event_id)
        if event is not None:
            load_stored_plans(session, ids, event.day)


@listens_for(OrmSession, "after_commit")
@listens_for(OrmSession, "after_rollback")
def _release_batch_clock(session: OrmSession) -> None:
    """Let go of the clock row that prepare_sends kept, once its transaction has ended."""
    session.info.pop(_BATCH_CLOCK, None)


def simulate_send(session: Session, message: SmsOutbox, now: datetime, settings: DRSettings) -> None:
    """Mark a queued message sent at `now` with its seeded delivery time and outcome.

    An invitation also schedules the customer's planned reply. Only customers that stay
    silent can have their invitation fail, so a failed delivery never hides a planned reply.
    Reports to the responsible people never fail; other customer messages may.
    """
    customer = session.get(Customer, message.customer_id) if message.customer_id is not None else None
    event = session.get(Event, message.event_id) if message.event_id is not None else None
    may_fail = customer is not None and message.kind != "report"
    if message.kind == "invitation" and customer is not None and event is not None:
        may_fail = plan_for(session, customer, event, settings).reply_kind == "none"

    rng = seeded_rng("sms", city_seed(session), message.event_id, message.kind, message.phone)
    delay = int(rng.integers(1, settings.sms_delivery_max_minutes + 1))
    failed = may_fail and rng.random() < settings.sms_failure_rate
    message.status = "sent"
    message.sent_at = now
    message.deliver_at = now + timedelta(minutes=delay)
    message.final_status = "failed" if failed else "delivered"
    session.add(message)

    if message.kind == "invitation" and customer is not None and event is not None:
        _planned_reply(session, customer, event, now, settings)


def _apply_reply(session: Session, reply: SmsInbox) -> None:
    if reply.parsed in ("optout", "optin"):
        customer = session.get(Customer, reply.customer_id)
        customer.opted_out = reply.parsed == "optout"
        session.add(customer)
    reply.applied = True
    session.add(reply)


def apply_due_messages(session: Session, now: datetime) -> None:
    """Turn due simulated outbox rows into delivery receipts and apply replies that have arrived.

    Messages sent through a real gateway get their status from its delivery receipts instead.
    """
    due = select(SmsOutbox).where(SmsOutbox.gateway == "sim", SmsOutbox.status == "sent", SmsOutbox.deliver_at <= now)
    for message in session.exec(due).all():
        message.status = message.final_status
        session.add(message)
    for reply in session.exec(select(SmsInbox).where(SmsInbox.applied == False, SmsInbox.received_at <= now)).all():  # noqa: E712
        _apply_reply(session, reply)


def receive_reply(
    session: Session, customer: Customer, text: str, at: datetime, gateway_message_id: str | None = None
) -> SmsInbox:
    """Record an inbound SMS from a customer, received at `at` (simulator clock).

    The text is stored as it came. A reply belongs to the event of the customer's latest
    invitation or follow-up sent by then (None if there is none). START (re-subscribe) is a
    subscription command, so it belongs to no event. The reply takes effect at once (an
    opt-out or re-subscription changes the customer) when `at` is not in the future.
    """
    parsed = parse_reply(text)
    event_id = None
    if parsed != "optin":
        invitation = session.exec(
            select(SmsOutbox)
            .where(SmsOutbox.customer_id == customer.id, SmsOutbox.sent_at <= at)
            .where(SmsOutbox.kind.in_(["invitation", "followup"]))
            .order_by(SmsOutbox.sent_at.desc(), SmsOutbox.id.desc())
        ).first()
        event_id = invitation.event_id if invitation else None
    reply = SmsInbox(
        customer_id=customer.id,
        event_id=event_id,
        text=text,
        received_at=at,
        parsed=parsed,
        gateway_message_id=gateway_message_id,
    )
    session.add(reply)
    if at <= read_clock(session):
        _apply_reply(session, reply)
    return reply


def inject_reply(engine: Engine, user_id: str, text: str, at: datetime | None = None) -> SmsInbox:
    """Record an inbound SMS from a customer at `at` (default: now); see receive_reply."""
    with Session(engine) as session:
        customer = session.exec(select(Customer).where(Customer.user_id == user_id)).first()
        if customer is None:
            raise UnknownCustomerError(user_id)
        reply = receive_reply(session, customer, text, at or read_clock(session))
        session.commit()
        session.refresh(reply)
        return reply
