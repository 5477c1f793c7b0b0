"""Sending a batch so that each (event, kind, phone) goes out at most once, across retries and crashes.

The design, in three steps:
1. Every message of the batch without an outbox row is written as queued, and these rows are
   committed together before any message is handed to the gateway.
2. Queued rows are sent one by one in id order. For an external gateway the hand-over time
   (attempted_at_utc) is committed before the gateway is called, and the gateway's message id
   with status sent is committed as soon as it returns.
3. A later call for the same messages skips rows that are no longer queued and sends the
   queued ones. A queued row with attempted_at_utc set was interrupted during the call, so the
   gateway is asked (find_accepted) whether it accepted the message before it is sent again.

The one exception is a message whose text the gateway rewrites, because the lookup in step 3
compares texts (see TwilioGateway.find_accepted).

Quiet hours (on the simulator clock) refuse the whole batch and write nothing. The rate limit
(wall clock, external gateways only) leaves the rest of the batch queued for a later call.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, func, select

from sim_grid import DRSettings
from sim_grid.models import Customer, SmsOutbox
from sim_grid.responses import ID_CHUNK
from sms_gateway.base import SendResult, SmsGateway
from sms_gateway.errors import GatewayUnavailableError, InvalidPhoneError, MessageRejectedError
from sms_gateway.phones import mask_phone, to_e164
from sms_gateway.receipts import apply_outbox_status, apply_stored_receipts, utc_now

logger = logging.getLogger(__name__)

RATE_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class OutgoingSms:
    """One message a tool wants sent; phone may be in any form to_e164 reads."""

    kind: str  # invitation, followup, supervision, report
    text: str
    phone: str
    event_id: int | None = None
    customer_id: int | None = None
    recipient_name: str | None = None


@dataclass
class DeliveryReport:
    """The outcome of each requested message, in request order, and why a batch stopped.

    Outcomes: sent (accepted in this call), already_sent (sent by an earlier call), queued
    (left for a later call), rejected (refused for good by the gateway), opted_out,
    invalid_phone, quiet_hours.
    """

    outcomes: list[str]
    quiet_hours: bool = False
    rate_limited: bool = False
    gateway_error: str | None = None
    counts: Counter = field(init=False)

    def __post_init__(self) -> None:
        self.counts = Counter(self.outcomes)

    def count(self, outcome: str) -> int:
        return self.counts[outcome]


def in_quiet_hours(moment: datetime, settings: DRSettings) -> bool:
    """Return True when `moment` falls in [quiet_hours_start_hour, quiet_hours_end_hour), across midnight if needed."""
    # NOTE: `moment` is the simulator clock. With a real gateway that clock must follow local
    # time, or quiet hours protect the wrong hours.
    start, end = settings.quiet_hours_start_hour, settings.quiet_hours_end_hour
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= moment.hour < end
    return moment.hour >= start or moment.hour < end


def _outbox_keys(messages: list[OutgoingSms]) -> list[tuple | None]:
    """Return each message's outbox key (event_id, kind, E.164 phone), or None, with a warning logged, for an invalid phone."""
    keys: list[tuple | None] = []
    for message in messages:
        try:
            keys.append((message.event_id, message.kind, to_e164(message.phone)))
        except InvalidPhoneError as error:
            logger.warning("message %s to %s skipped: %s", message.kind, mask_phone(message.phone), error)
            keys.append(None)
    return keys


def _existing_rows(session: Session, keys: set[tuple]) -> dict[tuple, SmsOutbox]:
    """Return the outbox rows that already exist for these (event_id, kind, phone) keys, by key."""
    phones: dict[tuple, list[str]] = defaultdict(list)
    for event_id, kind, phone in keys:
        phones[(event_id, kind)].append(phone)

    rows = {}
    for (event_id, kind), batch_phones in phones.items():
        event_filter = col(SmsOutbox.event_id).is_(None) if event_id is None else SmsOutbox.event_id == event_id
        batch_phones.sort()
        # Chunks keep each IN list within the bound-parameter limits of SQLite and PostgreSQL.
        for start in range(0, len(batch_phones), ID_CHUNK):
            chunk = batch_phones[start : start + ID_CHUNK]
            query = select(SmsOutbox).where(event_filter, SmsOutbox.kind == kind, col(SmsOutbox.phone).in_(chunk))
            for row in session.exec(query).all():
                rows[(row.event_id, row.kind, row.phone)] = row
    return rows


def _opted_out(session: Session, messages: list[OutgoingSms]) -> set[int]:
    ids = sorted({m.customer_id for m in messages if m.customer_id is not None})
    if not ids:
        return set()
    query = select(Customer.id).where(col(Customer.id).in_(ids), Customer.opted_out == True)  # noqa: E712
    return set(session.exec(query).all())


def _sends_left(session: Session, gateway: SmsGateway, settings: DRSettings) -> int | None:
    """Return how many more hand-overs the rate limit allows now; None when unlimited."""
    if not gateway.external or settings.max_sends_per_minute is None:
        return None
    recent = session.exec(
        select(func.count())
        .select_from(SmsOutbox)
        .where(SmsOutbox.gateway == gateway.name, SmsOutbox.attempted_at_utc >= utc_now() - RATE_WINDOW)
    ).one()
    return max(settings.max_sends_per_minute - recent, 0)


def _lease_expired(attempted_at: datetime, settings: DRSettings) -> bool:
    """Tell a hand-over cut off by a crash from one a running sender is still making."""
    return utc_now() - attempted_at.replace(tzinfo=None) >= timedelta(seconds=settings.handover_lease_seconds)


_OUTBOX = SmsOutbox.__table__
# Built once, because a batch claims its rows one by one. It is a Core UPDATE on the table, so it
# skips the ORM's bulk-update steps, such as matching the statement against every object in the
# session. _claim then sets the session's copy of the row itself.
_CLAIM = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"), _OUTBOX.c.status == "queued")
    .where(or_(_OUTBOX.c.attempted_at_utc.is_(None), _OUTBOX.c.attempted_at_utc <= bindparam("stale")))
    .values(attempted_at_utc=bindparam("claimed_at"))
)


def _claim(session: Session, row: SmsOutbox, commit: bool, settings: DRSettings) -> bool:
    """Mark ``row`` as being handed over, unless another sender did so first.

    The conditional UPDATE is atomic in SQLite and PostgreSQL, so of two concurrent senders
    exactly one gets the row. Without ``commit`` the claim holds the write lock (SQLite) or the
    row lock (PostgreSQL) until the batch commits, so a concurrent sender waits and then finds
    the row sent.
    """
    now = utc_now()
    stale = now - timedelta(seconds=settings.handover_lease_seconds)
    claimed = session.exec(_CLAIM, params={"row_id": row.id, "stale": stale, "claimed_at": now}).rowcount == 1
    if commit:
        session.commit()
    if claimed and not commit:
        # The row matched inside this transaction: it is still queued, and stores this claim's time.
        set_committed_value(row, "attempted_at_utc", now)
    else:
        session.refresh(row)
    return claimed


def _mark_sent(session: Session, gateway: SmsGateway, row: SmsOutbox, result: SendResult, now: datetime) -> None:
    row.gateway = gateway.name
    row.gateway_message_id = result.message_id
    row.sent_at = row.sent_at or now
    if row.status == "queued":
        row.status = "sent"
    apply_outbox_status(row, gateway.outbox_status(result.status) or "sent")
    if result.message_id is not None:
        apply_stored_receipts(session, row)
    session.add(row)


class _BatchSender:
    """Sends the queued rows of one batch and records what happened to each."""

    def __init__(self, session: Session, gateway: SmsGateway, settings: DRSettings, now: datetime):
        self.session = session
        self.gateway = gateway
        self.settings = settings
        self.now = now
        self.sends_left = _sends_left(session, gateway, settings)
        self.rate_limited = False

    def _commit_if_external(self) -> None:
        if self.gateway.external:
            self.session.commit()

    def hand_over(self, row: SmsOutbox, may_send: bool) -> str:
        """Send one queued row (or only look it up when may_send is False); return its outcome.

        Raises GatewayUnavailableError, after which the row stays queued.
        """
        if self.gateway.external and row.attempted_at_utc is not None:
            if not _lease_expired(row.attempted_at_utc, self.settings):
                # Another process is handing this row over right now.
                return "already_sent"
            earlier = self.gateway.find_accepted(row)
            if earlier is not None:
                _mark_sent(self.session, self.gateway, row, earlier, self.now)
                self.session.commit()
                logger.info("outbox row %d was accepted before an interruption; not sent again", row.id)
                return "sent"
        if not may_send:
            self.session.delete(row)
            self._commit_if_external()
            return "opted_out"
        if self.sends_left is not None and self.sends_left <= 0:
            self.rate_limited = True
            return "queued"

        if not _claim(self.session, row, commit=self.gateway.external, settings=self.settings):
            return "already_sent"
        if self.gateway.external and self.sends_left is not None:
            self.sends_left -= 1
        try:
            result = self.gateway.send(self.session, row, self.settings)
        except MessageRejectedError as error:
            row.gateway = self.gateway.name
            row.status = "failed"
            row.error_code = error.code
            self.session.add(row)
            self._commit_if_external()
            logger.warning("outbox row %d to %s rejected by %s: %s", row.id, mask_phone(row.phone), self.gateway.name, error)
            return "rejected"
        except GatewayUnavailableError as error:
            if not error.maybe_accepted:
                row.attempted_at_utc = None
                self.session.add(row)
                self.session.commit()
            raise
        _mark_sent(self.session, self.gateway, row, result, self.now)
        self._commit_if_external()
        return "sent"


def deliver(
    session: Session, gateway: SmsGateway, messages: list[OutgoingSms], settings: DRSettings, now: datetime
) -> DeliveryReport:
    """Send a batch through `gateway` at simulator time `now`; commits the session.

    Messages to customers who opted out and to invalid numbers are skipped. See the module
    docstring for the at-most-once design.
    """
    if in_quiet_hours(now, settings):
        logger.info("batch of %d messages rejected: %s is inside the quiet hours", len(messages), now)
        return DeliveryReport(["quiet_hours"] * len(messages), quiet_hours=True)

    outcomes = [""] * len(messages)
    keys = _outbox_keys(messages)
    existing = _existing_rows(session, {key for key in keys if key is not None})
    opted_out = _opted_out(session, messages)
    pending: list[tuple[int, SmsOutbox, bool]] = []
    keys_in_batch = set()
    for index, (message, key) in enumerate(zip(messages, keys)):
        if key is None:
            outcomes[index] = "invalid_phone"
            continue
        phone = key[2]
        row = existing.get(key)
        if key in keys_in_batch or (row is not None and row.status != "queued"):
            outcomes[index] = "already_sent"
            continue
        keys_in_batch.add(key)
        may_send = message.customer_id not in opted_out
        if row is None and not may_send:
            outcomes[index] = "opted_out"
            continue
        if row is None:
            row = SmsOutbox(
                event_id=message.event_id,
                customer_id=message.customer_id,
                phone=phone,
                recipient_name=message.recipient_name,
                kind=message.kind,
                text=message.text,
                status="queued",
                gateway=gateway.name,
            )
            session.add(row)
            existing[key] = row
        pending.append((index, row, may_send))
    # A concurrent sender that queued the same messages first makes this commit raise
    # IntegrityError (unique event, kind, phone); tools.registry then reruns the whole tool.
    session.commit()

    sender = _BatchSender(session, gateway, settings, now)
    gateway.prepare(session, [row for _, row, may_send in pending if may_send], settings)
    gateway_error = None
    # Without autoflush, an in-process gateway's changes (sent rows, replies it schedules) are
    # written by the commit below in a few batched statements, not flushed before every claim.
    # An external gateway's changes are still written by the commit after each hand-over.
    with session.no_autoflush:
        for index, row, may_send in sorted(pending, key=lambda item: item[1].id):
            if gateway_error is not None or sender.rate_limited:
                outcomes[index] = "queued"
                continue
            try:
                outcomes[index] = sender.hand_over(row, may_send)
            except GatewayUnavailableError as error:
                gateway_error = str(error)
                outcomes[index] = "queued"
                logger.warning("gateway %s unavailable at outbox row %d; the rest stays queued: %s", gateway.name, row.id, error)
    session.commit()

    report = DeliveryReport(outcomes, rate_limited=sender.rate_limited, gateway_error=gateway_error)
    logger.info("batch of %d messages via %s: %s", len(messages), gateway.name, dict(report.counts))
    return report
