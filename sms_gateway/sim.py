"""The default backend: the simulator's outbox, with seeded delivery receipts and replies."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from sim_grid import DRSettings, read_clock
from sim_grid.models import SmsOutbox
from sim_grid.sms import prepare_sends, simulate_send
from sms_gateway.base import SendResult, SmsGateway


class SimGateway(SmsGateway):
    """Sends into the simulator: delivery and replies happen as the simulator clock moves."""

    name = "sim"
    external = False

    def prepare(self, session: Session, messages: Sequence[SmsOutbox], settings: DRSettings) -> None:
        prepare_sends(session, messages)

    def send(self, session: Session, message: SmsOutbox, settings: DRSettings) -> SendResult:
        simulate_send(session, message, read_clock(session), settings)
        return SendResult(message_id=None, status="sent")
