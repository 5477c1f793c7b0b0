"""Reading load curves: stored history, baselines and clock-limited actual loads.

Ordinary days' curves are metered history, known in full once stored. On an event day the
stored row is the load without any response; a participant's planned reduction is
subtracted on reading. Intervals that have not ended by the clock read as NaN.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import numpy as np
from sqlmodel import Session, col, select

from sim_grid.db import decode_curve
from sim_grid.models import Customer, Event, LoadCurve, ResponsePlan, SmsInbox
from sim_grid.rules import baseline_curve, select_baseline_days
from sim_grid.settings import DRSettings

_LEVEL_COLUMNS = {
    "customer": LoadCurve.customer_id,
    "station": LoadCurve.station_id,
    "district": LoadCurve.district_id,
}


def intervals_elapsed(day: date, now: datetime, settings: DRSettings) -> int:
    """Return how many intervals of `day` have ended by `now`."""
    if day < now.date():
        return settings.intervals_per_day
    if day > now.date():
        return 0
    minutes = now.hour * 60 + now.minute
    return minutes // settings.interval_minutes


def interval_start(day: date, interval: int, settings: DRSettings) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(minutes=interval * settings.interval_minutes)


def stored_curves(session: Session, level: str, ids: Iterable[int], days: Iterable[date]) -> dict[tuple[int, date], np.ndarray]:
    """Return the stored curves of the given ids and days, keyed by (id, day)."""
    column = _LEVEL_COLUMNS[level]
    ids, days = list(ids), list(days)
    if not ids or not days:
        return {}
    rows = session.exec(
        select(column, LoadCurve.day, LoadCurve.values).where(col(column).in_(ids), col(LoadCurve.day).in_(days))
    ).all()
    return {(owner, day): decode_curve(blob) for owner, day, blob in rows}


def event_days_before(session: Session, day: date) -> set[date]:
    return set(session.exec(select(Event.day).where(Event.day < day)).all())


def baseline_days_for(session: Session, day: date, settings: DRSettings) -> list[date]:
    """Return the baseline days of `day`: normal workdays before it, skipping earlier events.

    NOTE: the day before an event is read in full even while the clock is still on it
    (a split made at 09:00 uses that afternoon), because ordinary days are stored whole.
    """
    return select_baseline_days(day, event_days_before(session, day), settings.baseline_days)


def baselines(session: Session, level: str, ids: Iterable[int], day: date, settings: DRSettings) -> dict[int, np.ndarray]:
    """Return each id's baseline curve for `day`; ids without stored history are left out."""
    ids = list(ids)
    days = baseline_days_for(session, day, settings)
    curves = stored_curves(session, level, ids, days)
    result = {}
    for owner in ids:
        owner_curves = [curves[(owner, d)] for d in days if (owner, d) in curves]
        if owner_curves:
            result[owner] = baseline_curve(owner_curves)
    return result


def participants(session: Session, event: Event, now: datetime, settings: DRSettings) -> set[int]:
    """Return the ids of customers whose last decisive reply before the event start is yes."""
    cutoff = min(now, interval_start(event.day, event.start_interval, settings))
    rows = session.exec(
        select(SmsInbox.customer_id, SmsInbox.parsed)
        .where(SmsInbox.event_id == event.id, SmsInbox.received_at <= cutoff, SmsInbox.parsed != "unparsed")
        .order_by(SmsInbox.received_at, SmsInbox.id)
    ).all()
    latest: dict[int, str] = {}
    for customer_id, parsed in rows:
        latest[customer_id] = parsed
    return {customer_id for customer_id, parsed in latest.items() if parsed == "yes"}


def planned_responses(session: Session, customer_ids: Iterable[int], day: date) -> dict[int, np.ndarray]:
    customer_ids = list(customer_ids)
    if not customer_ids:
        return {}
    rows = session.exec(
        select(ResponsePlan.customer_id, ResponsePlan.response_kw).where(
            ResponsePlan.day == day, col(ResponsePlan.customer_id).in_(customer_ids)
        )
    ).all()
    return {customer_id: decode_curve(blob) for customer_id, blob in rows}


def _responding_customers(session: Session, day: date, now: datetime, settings: DRSettings) -> dict[int, np.ndarray]:
    """Return the planned reduction (kW) of every participant of the event on `day`."""
    event = session.exec(select(Event).where(Event.day == day)).first()
    if event is None:
        return {}
    ids = participants(session, event, now, settings)
    return planned_responses(session, ids, day)


def actual_curves(
    session: Session, level: str, ids: Iterable[int], day: date, now: datetime, settings: DRSettings
) -> dict[int, np.ndarray]:
    """Return each id's actual curve of `day` with NaN for intervals not yet ended."""
    ids = list(ids)
    curves = {owner: curve.copy() for (owner, _), curve in stored_curves(session, level, ids, [day]).items()}

    responses = _responding_customers(session, day, now, settings)
    if responses:
        if level == "customer":
            for customer_id, response in responses.items():
                if customer_id in curves:
                    curves[customer_id] -= response
        else:
            owner_column = Customer.station_id if level == "station" else Customer.district_id
            owners = dict(session.exec(select(Customer.id, owner_column).where(col(Customer.id).in_(list(responses)))).all())
            for customer_id, response in responses.items():
                owner = owners.get(customer_id)
                if owner in curves:
                    curves[owner] -= response / 1000.0  # kW to MW

    known = intervals_elapsed(day, now, settings)
    for curve in curves.values():
        curve[known:] = np.nan
    return curves
