"""SQLModel tables of the simulated city.

Times are naive local (China Standard Time) datetimes of the simulated clock.
Load values are kW for customers and MW for stations, districts and the system, stored as
little-endian float32 arrays of one value per interval (96 for 15-minute intervals).
"""

from __future__ import annotations

from datetime import date

from pydantic import NaiveDatetime
from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class SimClock(SQLModel, table=True):
    """The single row holding the simulated current time and the city's seed."""

    id: int | None = Field(default=1, primary_key=True)
    now: NaiveDatetime
    seed: int = 0


class District(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    short_name: str = Field(index=True, unique=True)


class Station(SQLModel, table=True):
    """A power-supply station (供电所) inside a district."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    district_id: int = Field(foreign_key="district.id", index=True)


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(index=True, unique=True, min_length=6, max_length=6)
    name: str
    phone: str = Field(unique=True)
    sector: str  # industrial, commercial or residential
    district_id: int = Field(foreign_key="district.id", index=True)
    station_id: int = Field(foreign_key="station.id", index=True)
    contracted: bool = Field(default=False, index=True)
    declared_kw: float = 0.0
    opted_out: bool = False


class LoadCurve(SQLModel, table=True):
    """One day of metered load for one customer (kW), station or district (MW).

    Exactly one of customer_id, station_id, district_id is set. On an event day the row is
    the load the customer would have drawn without responding. A participant's planned
    response is subtracted when the curve is read.
    """

    __table_args__ = (
        Index("ix_loadcurve_customer_day", "customer_id", "day"),
        Index("ix_loadcurve_station_day", "station_id", "day"),
        Index("ix_loadcurve_district_day", "district_id", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    station_id: int | None = Field(default=None, foreign_key="station.id")
    district_id: int | None = Field(default=None, foreign_key="district.id")
    values: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class SystemForecast(SQLModel, table=True):
    """Day-ahead forecast of the city's load and its available supply, MW per interval."""

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True, unique=True)
    forecast_mw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    supply_mw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Event(SQLModel, table=True):
    """A demand-response event; the window is [start_interval, end_interval) of its day."""

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True, unique=True)
    start_interval: int
    end_interval: int
    target_mw: float
    price_yuan_per_kwh: float
    status: str = "planned"  # planned, notified, running, done
    baseline_method: str = "recent"  # a settings.BaselineMethod
    direction: str = "peak"  # peak (削峰) or valley (填谷)


class Allocation(SQLModel, table=True):
    """A share of an event's target given to a district or to a station."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    district_id: int | None = Field(default=None, foreign_key="district.id", index=True)
    station_id: int | None = Field(default=None, foreign_key="station.id", index=True)
    target_mw: float
    method: str


class ResponsePlan(SQLModel, table=True):
    """The seeded behaviour of one customer for one event: its reply and its reduction.

    reply_kind is yes, no, optout, unparsed or none (stays silent). response_kw is the
    planned reduction per interval in kW (negative in a valley event, where the load rises),
    applied only if the customer takes part.
    """

    __table_args__ = (UniqueConstraint("customer_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    day: date = Field(index=True)
    reply_kind: str
    reply_text: str | None = None
    reply_delay_minutes: int = 0
    response_kw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # Minutes after a supervision SMS is delivered until the customer raises its reduction to
    # supervised_response_kw for the rest of the window; None: supervision changes nothing.
    supervision_reaction_minutes: int | None = None
    supervised_response_kw: float = 0.0


class SmsOutbox(SQLModel, table=True):
    """An outgoing message; each (event, kind, phone) is sent at most once.

    A row is written as queued before a gateway is asked to send it, and becomes sent when
    the gateway accepts it. Delivery receipts then move it to delivered, undelivered or
    failed, and a receipt never moves it out of one of those three.
    """

    __table_args__ = (UniqueConstraint("event_id", "kind", "phone"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int | None = Field(default=None, foreign_key="event.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    phone: str  # E.164, e.g. +8613812345678
    recipient_name: str | None = None
    kind: str = Field(index=True)  # invitation, followup, supervision, report
    text: str
    status: str = Field(default="sent", index=True)  # queued, sent, delivered, undelivered, failed
    gateway: str = "sim"  # the gateway backend that sent (or will send) the message
    gateway_message_id: str | None = Field(default=None, unique=True)  # e.g. Twilio's Message SID
    error_code: str | None = None  # the gateway's error code of an undelivered or rejected message
    # Wall-clock UTC time of the latest hand-over to an external gateway. A queued row with it
    # set may have been accepted before the process stopped, so it is checked before a resend.
    attempted_at_utc: NaiveDatetime | None = Field(default=None, index=True)
    sent_at: NaiveDatetime | None = None  # simulator clock; None while queued
    deliver_at: NaiveDatetime | None = None  # simulated delivery time; only the sim gateway sets it
    final_status: str = "delivered"  # simulated outcome; only the sim gateway uses it


class SmsReceipt(SQLModel, table=True):
    """A delivery receipt (status callback) from a gateway, stored once per (message, status).

    status is the gateway's own word (Twilio: queued, sent, delivered, ...); outbox_status is
    what it means for SmsOutbox.status. A receipt can arrive before its message's id has
    been written to the outbox; it is applied when the id is written.
    """

    __table_args__ = (UniqueConstraint("gateway_message_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    gateway: str
    gateway_message_id: str = Field(index=True)
    status: str
    outbox_status: str
    error_code: str | None = None
    received_at_utc: NaiveDatetime


class SmsInbox(SQLModel, table=True):
    """An incoming reply, visible once the clock reaches received_at."""

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="event.id", index=True)
    text: str
    received_at: NaiveDatetime = Field(index=True)
    parsed: str  # yes, no, optout, optin, unparsed
    applied: bool = False
    gateway_message_id: str | None = Field(default=None, unique=True)  # None for simulated replies


class Execution(SQLModel, table=True):
    """Settled result of one participant in one finished event.

    reduction_kw is the delivered response: baseline minus actual load for a peak event,
    actual minus baseline for a valley event.
    """

    __table_args__ = (UniqueConstraint("event_id", "customer_id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    declared_kw: float
    baseline_kw: float
    actual_avg_kw: float
    reduction_kw: float
    rate: float
    qualified: bool
    subsidy_yuan: float
    penalty_yuan: float = 0.0


class EventLoadTotal(SQLModel, table=True):
    """Settled participants' summed baseline and actual load of one event, MW per interval.

    Written at settlement, so that the effect report reads one row instead of every
    participant's curves. The arrays are little-endian float64 (TOTAL_DTYPE in sim_grid.db),
    not float32 like load curves, so report figures match a sum over the curves exactly.
    Intervals after the event's end are NaN in actual_mw.
    """

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", unique=True)
    baseline_mw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    actual_mw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
