"""Typed simulator errors. Messages are English and meant for engineers."""

from __future__ import annotations


class SimError(Exception):
    """Base class of every error the simulator raises on bad input."""


class InvalidDateError(SimError):
    """Raised when a date reference is neither a keyword nor an ISO date."""

    def __init__(self, value: str):
        super().__init__(f"invalid date {value!r}: expected today, tomorrow, yesterday or YYYY-MM-DD")
        self.value = value


class UnknownDistrictError(SimError):
    """Raised when a district name matches no district, full or short."""

    def __init__(self, name: str, choices: list[str]):
        super().__init__(f"district {name!r} not found; known districts: {', '.join(choices)}")
        self.name = name
        self.choices = choices


class UnknownCustomerError(SimError):
    """Raised when no customer has the given user id."""

    def __init__(self, user_id: str):
        super().__init__(f"customer {user_id!r} not found")
        self.user_id = user_id


class ClockError(SimError):
    """Raised when the clock is asked to move backwards or by no defined amount."""
