"""Typed errors of the SMS gateway layer. Messages are English and meant for engineers."""

from __future__ import annotations


class GatewayError(Exception):
    """Base class of every error this package raises."""


class GatewayConfigError(GatewayError):
    """Raised when a gateway or the webhook server is missing a setting it needs (credentials, sender, URL)."""


class UnknownGatewayError(GatewayError):
    """Raised when no backend is registered under the requested name."""

    def __init__(self, name: str, choices: list[str]):
        super().__init__(f"SMS gateway {name!r} not found; registered gateways: {', '.join(choices)}")
        self.name = name
        self.choices = choices


class InvalidPhoneError(GatewayError, ValueError):
    """Raised when a phone number cannot be read as a possible E.164 number."""

    def __init__(self, number: str, reason: str):
        super().__init__(f"invalid phone number {number!r}: {reason}")
        self.number = number


class MessageRejectedError(GatewayError):
    """Raised by a backend when the gateway refuses one message for good (bad number, opted out, ...)."""

    def __init__(self, code: str | None, reason: str):
        super().__init__(f"gateway rejected the message (code {code}): {reason}")
        self.code = code
        self.reason = reason


class GatewayUnavailableError(GatewayError):
    """Raised by a backend when the gateway could not be reached or failed; try again later.

    maybe_accepted is True when the request may have reached the gateway (a timeout or a
    server error), so the message must be looked up before it is sent again.
    """

    def __init__(self, reason: str, maybe_accepted: bool = True):
        super().__init__(reason)
        self.maybe_accepted = maybe_accepted
