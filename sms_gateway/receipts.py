"""Delivery receipts: stored once per (message, status), applied without leaving a terminal status."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlmodel import Session, select

from sim_grid.models import SmsOutbox, SmsReceipt
from sms_gateway.base import TERMINAL_STATUSES, SmsGateway, StatusReport
from sms_gateway.phones import mask_phone

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    """Return the wall-clock time in UTC, naive, as the *_utc columns store it."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def apply_outbox_status(message: SmsOutbox, status: str, error_code: str | None = None) -> bool:
    """Move a message to `status` unless it is already terminal; return True if it changed.

    Receipts can arrive twice or out of order, so delivered, undelivered and failed are final:
    a late "sent" never moves a message back.
    """
    if message.status in TERMINAL_STATUSES or message.status == status:
        return False
    message.status = status
    if error_code:
        message.error_code = error_code
    return True


def apply_stored_receipts(session: Session, message: SmsOutbox) -> None:
    """Apply receipts that arrived before the message's gateway id was written to the outbox."""
    receipts = session.exec(
        select(SmsReceipt).where(SmsReceipt.gateway_message_id == message.gateway_message_id).order_by(SmsReceipt.id)
    ).all()
    for receipt in receipts:
        apply_outbox_status(message, receipt.outbox_status, receipt.error_code)


def record_status(session: Session, gateway_name: str, report: StatusReport, outbox_status: str) -> str:
    """Add one receipt and apply it to its message; the caller commits.

    Returns "applied" or one of: "duplicate" when this message and status were stored
    before (nothing changes), "unchanged" when the message is already terminal or in that
    status, and "pending" when no message has this id yet. A pending receipt is applied when
    a message gets the id.
    """
    duplicate = session.exec(
        select(SmsReceipt.id).where(
            SmsReceipt.gateway_message_id == report.message_id, SmsReceipt.status == report.status
        )
    ).first()
    if duplicate is not None:
        return "duplicate"

    session.add(
        SmsReceipt(
            gateway=gateway_name,
            gateway_message_id=report.message_id,
            status=report.status,
            outbox_status=outbox_status,
            error_code=report.error_code,
            received_at_utc=utc_now(),
        )
    )
    session.flush()  # a repeat of this receipt later in the same transaction must find it
    message = session.exec(select(SmsOutbox).where(SmsOutbox.gateway_message_id == report.message_id)).first()
    outcome = "pending"
    if message is not None:
        outcome = "applied" if apply_outbox_status(message, outbox_status, report.error_code) else "unchanged"
        session.add(message)
    if message is not None:
        logger.info("receipt %s for %s (%s): %s", report.status, report.message_id, mask_phone(message.phone), outcome)
    else:
        logger.info("receipt %s for unknown message %s stored for later", report.status, report.message_id)
    return outcome


def refresh_statuses(session: Session, gateway: SmsGateway, limit: int = 100) -> int:
    """Query the gateway for messages still in status sent, for use when callbacks cannot reach us.

    Commits and returns the number of messages whose status changed. Raises GatewayUnavailableError.
    """
    pending = session.exec(
        select(SmsOutbox)
        .where(SmsOutbox.gateway == gateway.name, SmsOutbox.status == "sent", SmsOutbox.gateway_message_id != None)  # noqa: E711
        .order_by(SmsOutbox.id)
        .limit(limit)
    ).all()
    changed = 0
    for message in pending:
        status = gateway.fetch_status(message.gateway_message_id)
        outbox_status = gateway.outbox_status(status) if status else None
        if outbox_status and apply_outbox_status(message, outbox_status):
            session.add(message)
            changed += 1
    session.commit()
    return changed

