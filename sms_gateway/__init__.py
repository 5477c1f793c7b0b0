"""SMS gateways behind one small interface: the simulator (default) and Twilio.

Tools send through deliver() with the gateway in their ToolContext. The webhook server in
sms_gateway.webhooks records replies and delivery receipts; it is imported on its own
because it loads FastAPI and uvicorn. This package imports sim_grid and nothing of tools or agent.
"""

from sms_gateway.base import InboundSms, SendResult, SmsGateway, StatusReport, WebhookReceiver, WebhookRequest
from sms_gateway.errors import (
    GatewayConfigError,
    GatewayError,
    GatewayUnavailableError,
    InvalidPhoneError,
    MessageRejectedError,
    UnknownGatewayError,
)
from sms_gateway.outbox import DeliveryReport, OutgoingSms, deliver, in_quiet_hours
from sms_gateway.phones import mask_phone, to_e164
from sms_gateway.registry import create_gateway, create_webhook_receiver, gateway_class, gateway_names, register_gateway
from sms_gateway.sim import SimGateway

__all__ = [
    "DeliveryReport",
    "GatewayConfigError",
    "GatewayError",
    "GatewayUnavailableError",
    "InboundSms",
    "InvalidPhoneError",
    "MessageRejectedError",
    "OutgoingSms",
    "SendResult",
    "SimGateway",
    "SmsGateway",
    "StatusReport",
    "UnknownGatewayError",
    "WebhookReceiver",
    "WebhookRequest",
    "create_gateway",
    "create_webhook_receiver",
    "deliver",
    "gateway_class",
    "gateway_names",
    "in_quiet_hours",
    "mask_phone",
    "register_gateway",
    "to_e164",
]
