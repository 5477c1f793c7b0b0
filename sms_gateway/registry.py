"""The table of gateway backends, by name, like a plugin registry.

Built-in backends are imported on first use, so the Twilio SDK loads only when it is used.
Another package adds a backend with register_gateway, or with an entry point in the group
"dr_agent.sms_gateways" whose value is "module:GatewayClass" (the class may set a
`webhook_receiver` attribute to its WebhookReceiver class).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from importlib.metadata import entry_points

from sms_gateway.base import SmsGateway, WebhookReceiver
from sms_gateway.errors import GatewayConfigError, UnknownGatewayError

ENTRY_POINT_GROUP = "dr_agent.sms_gateways"
GATEWAY_ENV = "DR_AGENT_SMS_GATEWAY"  # backend name; unset means "sim"

# name -> "module:attribute" of the SmsGateway class, resolved on first use.
_GATEWAYS: dict[str, str | type[SmsGateway]] = {
    "sim": "sms_gateway.sim:SimGateway",
    "twilio": "sms_gateway.twilio_backend:TwilioGateway",
}
_entry_points_loaded = False


def register_gateway(gateway_class: type[SmsGateway]) -> type[SmsGateway]:
    """Register a backend under its `name`; usable as a class decorator."""
    _GATEWAYS[gateway_class.name] = gateway_class
    return gateway_class


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        _GATEWAYS.setdefault(entry_point.name, entry_point.value)
    _entry_points_loaded = True


def gateway_names() -> list[str]:
    _load_entry_points()
    return sorted(_GATEWAYS)


def gateway_class(name: str) -> type[SmsGateway]:
    """Return the backend class registered under `name`. Raises UnknownGatewayError."""
    _load_entry_points()
    if name not in _GATEWAYS:
        raise UnknownGatewayError(name, gateway_names())
    target = _GATEWAYS[name]
    if isinstance(target, str):
        module_name, _, attribute = target.partition(":")
        target = getattr(importlib.import_module(module_name), attribute)
        _GATEWAYS[name] = target
    return target


def create_gateway(name: str | None = None, environ: Mapping[str, str] | None = None) -> SmsGateway:
    """Build a backend from the environment: `name`, else $DR_AGENT_SMS_GATEWAY, else "sim".

    Raises UnknownGatewayError or GatewayConfigError.
    """
    environ = os.environ if environ is None else environ
    name = name or environ.get(GATEWAY_ENV) or "sim"
    return gateway_class(name).from_env(environ)


def create_webhook_receiver(name: str, environ: Mapping[str, str] | None = None) -> WebhookReceiver:
    """Build the webhook receiver of backend `name`. Raises GatewayConfigError if it has none."""
    environ = os.environ if environ is None else environ
    receiver_class = getattr(gateway_class(name), "webhook_receiver", None)
    if receiver_class is None:
        raise GatewayConfigError(f"SMS gateway {name!r} receives no webhooks; serve a gateway that does, such as twilio")
    return receiver_class.from_env(environ)
