"""The gateway interface: a sending backend and, for gateways that call back, a webhook receiver.

A backend sends one queued SmsOutbox row at a time; sms_gateway.outbox drives it through a
batch. A webhook receiver checks and parses the gateway's HTTP callbacks (inbound replies and
delivery receipts); sms_gateway.webhooks serves them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from sqlmodel import Session
from starlette.datastructures import FormData

from sim_grid import DRSettings
from sim_grid.models import SmsOutbox

# Outbox statuses after which no receipt changes a message any more.
TERMINAL_STATUSES = frozenset({"delivered", "undelivered", "failed"})


@dataclass(frozen=True)
class SendResult:
    """The gateway's reply to an accepted message."""

    message_id: str | None  # the gateway's id of the message; None for the simulator
    status: str  # the gateway's own status word at acceptance (Twilio: accepted, queued, ...)


@dataclass(frozen=True)
class InboundSms:
    """A reply from a phone, as the gateway reported it."""

    message_id: str | None
    from_phone: str
    text: str


@dataclass(frozen=True)
class StatusReport:
    """A delivery receipt: the gateway's status word for one of its messages."""

    message_id: str
    status: str
    error_code: str | None = None


@dataclass(frozen=True)
class WebhookRequest:
    """An HTTP callback as passed to a receiver: the public URL the gateway called, headers, body."""

    url: str
    headers: Mapping[str, str]  # lower-case names
    form: FormData  # empty unless the body was form-encoded
    body: bytes


class SmsGateway(ABC):
    """A sending backend. Subclasses set name and external, and implement send."""

    name: ClassVar[str]
    # True when sending leaves this process: sends are then committed one by one, rate-limited
    # and checked with find_accepted after an interruption.
    external: ClassVar[bool] = True
    # The receiver of this gateway's callbacks; None when it sends none (the simulator).
    webhook_receiver: ClassVar[type[WebhookReceiver] | None] = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SmsGateway:
        """Build the backend from environment variables (credentials, sender). Raises GatewayConfigError."""
        return cls()

    def prepare(self, session: Session, messages: Sequence[SmsOutbox], settings: DRSettings) -> None:
        """Load in bulk what send reads for these queued messages, before they are sent one by one (default: nothing)."""

    @abstractmethod
    def send(self, session: Session, message: SmsOutbox, settings: DRSettings) -> SendResult:
        """Hand one queued message to the gateway.

        Raises MessageRejectedError when the gateway refuses this message for good, and
        GatewayUnavailableError when it could not be reached or failed.
        """

    def find_accepted(self, message: SmsOutbox) -> SendResult | None:
        """Return the gateway's record of an earlier hand-over of this message, or None if it has none."""
        return None

    def fetch_status(self, message_id: str) -> str | None:
        """Return the gateway's current status word for a message (None: the backend cannot query it)."""
        return None

    def outbox_status(self, status: str) -> str | None:
        """Map the gateway's status word to an outbox status (sent or a terminal one); None if unknown."""
        return status if status == "sent" or status in TERMINAL_STATUSES else None


class WebhookReceiver(ABC):
    """Checks and parses one gateway's HTTP callbacks, served under /sms/<name>/inbound and /status."""

    name: ClassVar[str]
    response_body: ClassVar[str] = ""
    response_media_type: ClassVar[str] = "text/plain"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WebhookReceiver:
        """Build the receiver from environment variables. Raises GatewayConfigError without a secret."""
        raise NotImplementedError

    @abstractmethod
    def verify(self, request: WebhookRequest) -> bool:
        """Return True only when the request carries the gateway's valid signature."""

    @abstractmethod
    def parse_inbound(self, request: WebhookRequest) -> list[InboundSms]:
        """Read the replies of an inbound-message callback."""

    @abstractmethod
    def parse_status(self, request: WebhookRequest) -> list[StatusReport]:
        """Read the receipts of a delivery-status callback."""

    @abstractmethod
    def outbox_status(self, status: str) -> str | None:
        """Map the gateway's status word to an outbox status; None for a word to ignore."""
