"""Recording inbound replies from a real gateway into the simulator's inbox."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from sim_grid import read_clock
from sim_grid.models import Customer, SmsInbox
from sim_grid.sms import receive_reply
from sms_gateway.base import InboundSms
from sms_gateway.errors import InvalidPhoneError
from sms_gateway.phones import mask_phone, to_e164

logger = logging.getLogger(__name__)


def record_inbound(session: Session, gateway_name: str, message: InboundSms) -> SmsInbox | None:
    """Add one reply at the simulator clock's time and apply it (opt-out, opt-in); the caller commits.

    The text is stored as it came and goes through the reply rules only. Returns None, and
    adds nothing, for a message id seen before (a gateway's retry) or a sender that is not
    a customer.
    """
    if message.message_id is not None:
        seen = session.exec(select(SmsInbox.id).where(SmsInbox.gateway_message_id == message.message_id)).first()
        if seen is not None:
            logger.info("inbound %s from %s is a repeat; ignored", message.message_id, mask_phone(message.from_phone))
            return None
    try:
        phone = to_e164(message.from_phone)
    except InvalidPhoneError as error:
        logger.warning("inbound %s via %s ignored: %s", message.message_id, gateway_name, error)
        return None

    customer = session.exec(select(Customer).where(Customer.phone == phone)).first()
    if customer is None:
        # Replies from numbers that are not customers (report recipients, strangers) are dropped.
        logger.warning("inbound %s via %s from %s ignored: no customer has this number", message.message_id, gateway_name, mask_phone(phone))
        return None

    reply = receive_reply(session, customer, message.text, read_clock(session), gateway_message_id=message.message_id)
    session.flush()  # a repeat of this message id later in the same transaction must find it
    logger.info("inbound %s via %s from %s parsed as %s", message.message_id, gateway_name, mask_phone(phone), reply.parsed)
    return reply
