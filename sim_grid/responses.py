"""Participants of an event and each participant's load change, interval by interval."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta

import numpy as np
from sqlmodel import Session, col, func, select

from sim_grid.db import CURVE_DTYPE
from sim_grid.models import Event, ResponsePlan, SmsInbox, SmsOutbox
from sim_grid.rules import direction_sign
from sim_grid.settings import DRSettings

# Ids per IN (...) list: SQLite allows 32766 bound parameters and PostgreSQL 65535 per statement.
ID_CHUNK = 5000


def id_chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), ID_CHUNK):
        yield list(ids[start : start + ID_CHUNK])


def minutes_to_interval(day: date, moment: datetime, settings: DRSettings) -> int:
    """Return the first interval of `day` that starts at or after `moment`."""
    minutes = (moment - datetime.combine(day, datetime.min.time())).total_seconds() / 60
    return max(math.ceil(minutes / settings.interval_minutes - 1e-9), 0)


def participants(session: Session, event: Event, now: datetime, settings: DRSettings) -> set[int]:
    """Return the ids of customers whose last decisive reply before the event start is yes."""
    event_start = datetime.combine(event.day, datetime.min.time()) + timedelta(
        minutes=event.start_interval * settings.interval_minutes
    )
    cutoff = min(now, event_start)
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
    customer_ids = sorted(customer_ids)
    result = {}
    for chunk in id_chunks(customer_ids):
        rows = session.exec(
            select(ResponsePlan.customer_id, ResponsePlan.response_kw).where(
                ResponsePlan.day == day, col(ResponsePlan.customer_id).in_(chunk)
            )
        ).all()
        for customer_id, blob in rows:
            result[customer_id] = np.frombuffer(blob, dtype=CURVE_DTYPE).astype(np.float64)
    return result


def _first_supervision_deliveries(session: Session, event: Event, customer_ids: list[int], now: datetime) -> dict[int, datetime]:
    """Return when each customer's first supervision SMS of the event was delivered, by `now`."""
    deliveries = {}
    for chunk in id_chunks(customer_ids):
        rows = session.exec(
            select(SmsOutbox.customer_id, func.min(SmsOutbox.deliver_at))
            .where(
                SmsOutbox.event_id == event.id,
                SmsOutbox.kind == "supervision",
                SmsOutbox.status == "delivered",
                SmsOutbox.deliver_at <= now,
                col(SmsOutbox.customer_id).in_(chunk),
            )
            .group_by(SmsOutbox.customer_id)
        ).all()
        deliveries.update(dict(rows))
    return deliveries


def delivered_responses(
    session: Session, event: Event, now: datetime, settings: DRSettings, among: Collection[int] | None = None
) -> dict[int, np.ndarray]:
    """Return each participant's load change (kW per interval, positive = lower load) as of `now`.

    among, when given, limits the result to those customer ids. A participant whose plan
    reacts to supervision raises its response to supervised_response_kw from the first
    interval that starts supervision_reaction_minutes after its first delivered supervision
    SMS, to the end of the window.
    """
    taking_part = participants(session, event, now, settings)
    ids = sorted(taking_part if among is None else taking_part.intersection(among))
    responses: dict[int, np.ndarray] = {}
    reacting: dict[int, tuple[int, float]] = {}
    for chunk in id_chunks(ids):
        rows = session.exec(
            select(
                ResponsePlan.customer_id,
                ResponsePlan.response_kw,
                ResponsePlan.supervision_reaction_minutes,
                ResponsePlan.supervised_response_kw,
            ).where(ResponsePlan.day == event.day, col(ResponsePlan.customer_id).in_(chunk))
        ).all()
        for customer_id, blob, reaction_minutes, supervised_kw in rows:
            responses[customer_id] = np.frombuffer(blob, dtype=CURVE_DTYPE).astype(np.float64)
            if reaction_minutes is not None:
                reacting[customer_id] = (reaction_minutes, supervised_kw)

    if reacting:
        sign = direction_sign(event.direction)
        deliveries = _first_supervision_deliveries(session, event, sorted(reacting), now)
        for customer_id, delivered_at in deliveries.items():
            reaction_minutes, supervised_kw = reacting[customer_id]
            first = minutes_to_interval(event.day, delivered_at + timedelta(minutes=reaction_minutes), settings)
            first = max(first, event.start_interval)
            if first >= event.end_interval:
                continue
            improved = responses[customer_id].copy()
            window = improved[first : event.end_interval]
            improved[first : event.end_interval] = sign * np.maximum(sign * window, sign * supervised_kw)
            responses[customer_id] = improved
    return responses


def event_responses(
    session: Session, day: date, now: datetime, settings: DRSettings, among: Collection[int] | None = None
) -> dict[int, np.ndarray]:
    """Return the load change of the participants (among, when given) of the event on `day`.

    Returns an empty dict when the day has no event.
    """
    event = session.exec(select(Event).where(Event.day == day)).first()
    if event is None:
        return {}
    return delivered_responses(session, event, now, settings, among)
