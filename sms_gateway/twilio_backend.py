"""The Twilio backend: sending through the official SDK, and Twilio's signed webhooks.

Settings come from environment variables: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, the sender
TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM, and DR_AGENT_PUBLIC_URL, the public base URL
of the webhook server (every message requests its receipts at <public URL>/sms/twilio/status).
TWILIO_API_BASE_URL replaces https://api.twilio.com, for a local stub or an egress proxy.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta, timezone

import requests
from sqlmodel import Session
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import SIGNATURE_SETTINGS_HEADER, RequestValidator, get_signature_algorithm
from twilio.rest import Client

from sim_grid import DRSettings
from sim_grid.models import SmsOutbox
from sms_gateway.base import InboundSms, SendResult, SmsGateway, StatusReport, WebhookReceiver, WebhookRequest
from sms_gateway.errors import GatewayConfigError, GatewayUnavailableError, MessageRejectedError

logger = logging.getLogger(__name__)

TWILIO_API_URL = "https://api.twilio.com"
STATUS_CALLBACK_PATH = "/sms/twilio/status"
PUBLIC_URL_ENV = "DR_AGENT_PUBLIC_URL"
REQUEST_TIMEOUT_SECONDS = 15.0
# Messages to one number that find_accepted reads back when it looks for an earlier hand-over.
LOOKUP_PAGE_SIZE = 20

# Twilio's message statuses (Messages resource, API 2010-04-01) and what each means for the outbox.
# accepted, scheduled, queued and sending mean the message is still with Twilio. read (WhatsApp,
# RCS) implies delivery, and canceled is a scheduled message that will never be sent.
TWILIO_OUTBOX_STATUS = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}

# The SDK's HTTP client logs request URLs at INFO level, and list URLs carry phone numbers.
_sdk_http_logger = logging.getLogger(__name__ + ".http")
_sdk_http_logger.setLevel(logging.WARNING)


class _BaseUrlHttpClient(TwilioHttpClient):
    """The SDK's HTTP client with https://api.twilio.com replaced by another base URL."""

    def __init__(self, base_url: str, timeout: float):
        super().__init__(timeout=timeout, logger=_sdk_http_logger)
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        if url.startswith(TWILIO_API_URL):
            url = self.base_url + url[len(TWILIO_API_URL) :]
        return super().request(method, url, *args, **kwargs)


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise GatewayConfigError(f"environment variable {name} is not set; the twilio SMS gateway needs it")
    return value


class TwilioWebhooks(WebhookReceiver):
    """Twilio's inbound-message and status callbacks, signed with X-Twilio-Signature."""

    name = "twilio"
    response_body = "<Response></Response>"  # empty TwiML: no automatic reply
    response_media_type = "text/xml"

    def __init__(self, auth_token: str):
        if not auth_token:
            raise GatewayConfigError(
                "TWILIO_AUTH_TOKEN is not set; the twilio webhooks cannot check X-Twilio-Signature and will not start"
            )
        self.validator = RequestValidator(auth_token)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> TwilioWebhooks:
        return cls(environ.get("TWILIO_AUTH_TOKEN", "").strip())

    def verify(self, request: WebhookRequest) -> bool:
        signature = request.headers.get("x-twilio-signature")
        if not signature:
            return False
        algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER.lower()))
        return self.validator.validate(request.url, request.form, signature, algorithm)

    def parse_inbound(self, request: WebhookRequest) -> list[InboundSms]:
        form = request.form
        sender = form.get("From")
        if not sender:
            return []
        message_id = form.get("MessageSid") or form.get("SmsSid") or None
        return [InboundSms(message_id=message_id, from_phone=sender, text=form.get("Body", ""))]

    def parse_status(self, request: WebhookRequest) -> list[StatusReport]:
        form = request.form
        message_id = form.get("MessageSid") or form.get("SmsSid")
        status = form.get("MessageStatus") or form.get("SmsStatus")
        if not message_id or not status:
            return []
        return [StatusReport(message_id=message_id, status=status, error_code=form.get("ErrorCode") or None)]

    def outbox_status(self, status: str) -> str | None:
        return TWILIO_OUTBOX_STATUS.get(status)


class TwilioGateway(SmsGateway):
    """Sends through Twilio's Messages API; every message carries a status-callback URL."""

    name = "twilio"
    external = True
    webhook_receiver = TwilioWebhooks

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        status_callback_url: str,
        *,
        messaging_service_sid: str | None = None,
        from_number: str | None = None,
        api_base_url: str | None = None,
    ):
        if not (messaging_service_sid or from_number):
            raise GatewayConfigError("set TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM: the twilio gateway needs a sender")
        if not status_callback_url.startswith(("https://", "http://")):
            raise GatewayConfigError(f"status callback URL {status_callback_url!r} must be an absolute http(s) URL")
        self.status_callback_url = status_callback_url
        # With both set, the Messaging Service picks the sender, so From is not sent.
        self.messaging_service_sid = messaging_service_sid
        self.from_number = None if messaging_service_sid else from_number
        http_client = _BaseUrlHttpClient(api_base_url or TWILIO_API_URL, REQUEST_TIMEOUT_SECONDS)
        self.client = Client(account_sid, auth_token, http_client=http_client)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> TwilioGateway:
        public_url = _required(environ, PUBLIC_URL_ENV).rstrip("/")
        return cls(
            _required(environ, "TWILIO_ACCOUNT_SID"),
            _required(environ, "TWILIO_AUTH_TOKEN"),
            public_url + STATUS_CALLBACK_PATH,
            messaging_service_sid=environ.get("TWILIO_MESSAGING_SERVICE_SID") or None,
            from_number=environ.get("TWILIO_FROM") or None,
            api_base_url=environ.get("TWILIO_API_BASE_URL") or None,
        )

    def send(self, session: Session, message: SmsOutbox, settings: DRSettings) -> SendResult:
        sender = {"messaging_service_sid": self.messaging_service_sid} if self.messaging_service_sid else {"from_": self.from_number}
        try:
            created = self.client.messages.create(
                to=message.phone, body=message.text, status_callback=self.status_callback_url, **sender
            )
        except TwilioRestException as error:
            if error.status == 429:
                raise GatewayUnavailableError(f"Twilio rate limit (HTTP 429, code {error.code})", maybe_accepted=False) from error
            if 400 <= error.status < 500:
                raise MessageRejectedError(str(error.code) if error.code else str(error.status), error.msg) from error
            raise GatewayUnavailableError(f"Twilio server error HTTP {error.status}: {error.msg}") from error
        except (requests.RequestException, TwilioException) as error:
            raise GatewayUnavailableError(f"Twilio request failed: {error}") from error
        return SendResult(message_id=created.sid, status=created.status)

    def find_accepted(self, message: SmsOutbox) -> SendResult | None:
        """Look for a message with the same recipient and text created since the last hand-over.

        NOTE: a match needs Twilio to return the body unchanged. A body that Twilio rewrote (for
        example with smart encoding) is not found, so that message is sent a second time.
        """
        since = message.attempted_at_utc.replace(tzinfo=timezone.utc) - timedelta(minutes=5)
        try:
            recent = self.client.messages.list(to=message.phone, limit=LOOKUP_PAGE_SIZE)
        except (requests.RequestException, TwilioException) as error:
            raise GatewayUnavailableError(f"Twilio message lookup failed: {error}") from error
        for record in recent:
            created_at = record.date_created
            if record.body == message.text and (created_at is None or created_at >= since):
                return SendResult(message_id=record.sid, status=record.status)
        return None

    def fetch_status(self, message_id: str) -> str | None:
        try:
            return self.client.messages(message_id).fetch().status
        except (requests.RequestException, TwilioException) as error:
            raise GatewayUnavailableError(f"Twilio status query for {message_id} failed: {error}") from error

    def outbox_status(self, status: str) -> str | None:
        return TWILIO_OUTBOX_STATUS.get(status)
