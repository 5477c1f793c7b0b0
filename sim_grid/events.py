"""Event lifecycle: status changes driven by the clock, settlement and live progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from sqlalchemy import insert
from sqlmodel import Session, col, select

from sim_grid.loads import actual_matrix, baseline_matrix, interval_start, intervals_elapsed
from sim_grid.db import decode_total, encode_total
from sim_grid.models import Customer, Event, EventLoadTotal, Execution
from sim_grid.responses import id_chunks, participants
from sim_grid.rules import direction_sign, settle_executions
from sim_grid.settings import DRSettings


def event_on(session: Session, day: date) -> Event | None:
    return session.exec(select(Event).where(Event.day == day)).first()


def event_start(event: Event, settings: DRSettings) -> datetime:
    return interval_start(event.day, event.start_interval, settings)


def event_end(event: Event, settings: DRSettings) -> datetime:
    return interval_start(event.day, event.end_interval, settings)


def event_hours(event: Event, settings: DRSettings) -> float:
    return (event.end_interval - event.start_interval) * settings.interval_minutes / 60


def refresh_events(session: Session, now: datetime, settings: DRSettings) -> None:
    """Start events whose window has begun and settle those whose window has ended."""
    for event in session.exec(select(Event).where(Event.status != "done")).all():
        if now >= event_end(event, settings):
            settle_event(session, event, now, settings)
            event.status = "done"
        elif now >= event_start(event, settings):
            event.status = "running"
        session.add(event)


def _declared_kw(session: Session, ids: list[int]) -> dict[int, float]:
    declared = {}
    for chunk in id_chunks(ids):
        declared.update(dict(session.exec(select(Customer.id, Customer.declared_kw).where(col(Customer.id).in_(chunk))).all()))
    return declared


def settle_event(session: Session, event: Event, now: datetime, settings: DRSettings) -> int:
    """Write one Execution row per participant of a finished event and return how many.

    Writes nothing when the event already has Execution rows. Participants without a
    baseline or an event-day curve are left out.
    """
    if session.exec(select(Execution.id).where(Execution.event_id == event.id)).first() is not None:
        return 0

    end = event_end(event, settings)
    ids = sorted(participants(session, event, now, settings))
    declared = _declared_kw(session, ids)
    window = slice(event.start_interval, event.end_interval)
    base_day = baseline_matrix(session, "customer", ids, event.day, settings, now=end)
    actual_day = actual_matrix(session, "customer", ids, event.day, end, settings)
    base, actual = base_day[:, window], actual_day[:, window]
    complete = ~(np.isnan(base).any(axis=1) | np.isnan(actual).any(axis=1))
    settled_ids = [customer_id for customer_id, ok in zip(ids, complete) if ok]
    if not settled_ids:
        return 0
    session.add(
        EventLoadTotal(
            event_id=event.id,
            baseline_mw=encode_total(base_day[complete].sum(axis=0) / 1000),
            actual_mw=encode_total(actual_day[complete].sum(axis=0) / 1000),
        )
    )

    declared_kw = np.array([declared[customer_id] for customer_id in settled_ids])
    result = settle_executions(
        base[complete], actual[complete], declared_kw, event_hours(event, settings), event.price_yuan_per_kwh,
        settings, event.direction,
    )
    rows = [
        {
            "event_id": event.id,
            "customer_id": customer_id,
            "declared_kw": float(declared_kw[i]),
            "baseline_kw": float(result.baseline_kw[i]),
            "actual_avg_kw": float(result.actual_avg_kw[i]),
            "reduction_kw": float(result.reduction_kw[i]),
            "rate": float(result.rate[i]),
            "qualified": bool(result.qualified[i]),
            "subsidy_yuan": float(result.subsidy_yuan[i]),
            "penalty_yuan": float(result.penalty_yuan[i]),
        }
        for i, customer_id in enumerate(settled_ids)
    ]
    session.execute(insert(Execution), rows)
    return len(rows)


def settled_totals(session: Session, event: Event, settings: DRSettings) -> tuple[np.ndarray, np.ndarray]:
    """Return the settled participants' summed baseline and actual load, MW per interval.

    These are the totals stored at settlement. An event settled without participants, or not
    settled yet, gets zeros.
    """
    stored = session.exec(select(EventLoadTotal).where(EventLoadTotal.event_id == event.id)).first()
    if stored is None:
        zeros = np.zeros(settings.intervals_per_day)
        return zeros, zeros.copy()
    return decode_total(stored.baseline_mw), decode_total(stored.actual_mw)


@dataclass(frozen=True)
class LiveProgress:
    """A participant's performance over the part of the window that has ended.

    reduction_kw and rate count a load increase for a valley event, as settlement does.
    """

    customer: Customer
    intervals_done: int
    baseline_kw: float  # mean baseline over the elapsed window
    actual_avg_kw: float
    reduction_kw: float
    rate: float
    current_kw: float  # load in the last ended interval
    current_baseline_kw: float
    target_kw: float  # load the customer should stay below (valley: above) in the current interval


def live_progress(
    session: Session,
    event: Event,
    now: datetime,
    settings: DRSettings,
    district_id: int | None = None,
    customer_id: int | None = None,
    below_rate: float | None = None,
) -> list[LiveProgress]:
    """Return each participant's progress over the window's intervals that ended by `now`, by user id.

    district_id or customer_id narrow the result to one district or one customer, and
    below_rate to the participants whose rate so far is below it.
    """
    done = min(intervals_elapsed(event.day, now, settings), event.end_interval) - event.start_interval
    if done <= 0:
        return []

    ids = participants(session, event, now, settings)
    if customer_id is not None:
        ids &= {customer_id}
    # Every participant is read as plain columns, and only the customers returned are loaded as objects.
    rows = []
    for chunk in id_chunks(sorted(ids)):
        query = select(Customer.id, Customer.user_id, Customer.declared_kw).where(col(Customer.id).in_(chunk))
        if district_id is not None:
            query = query.where(Customer.district_id == district_id)
        rows.extend(session.exec(query).all())
    rows.sort(key=lambda row: row.user_id)

    chosen = [row.id for row in rows]
    window = slice(event.start_interval, event.start_interval + done)
    last = event.start_interval + done - 1
    # NOTE: over a whole province this reads every participant's baseline days and event-day
    # curve, about 0.7 s of CPU for 8,400 participants (see docs/benchmarks.md).
    base = baseline_matrix(session, "customer", chosen, event.day, settings, now=now)
    actual = actual_matrix(session, "customer", chosen, event.day, now, settings)
    complete = ~(np.isnan(base).all(axis=1) | np.isnan(actual[:, window]).any(axis=1))

    sign = direction_sign(event.direction)
    baseline_kw = base[:, window].mean(axis=1)
    actual_kw = actual[:, window].mean(axis=1)
    reduction_kw = sign * (baseline_kw - actual_kw)

    selected: list[tuple[int, float]] = []
    for i, row in enumerate(rows):
        if not complete[i]:
            continue
        rate = float(reduction_kw[i] / row.declared_kw) if row.declared_kw > 0 else 0.0
        if below_rate is None or rate < below_rate:
            selected.append((i, rate))
    customers = _customers_by_id(session, [chosen[i] for i, _ in selected])

    progress = []
    for i, rate in selected:
        customer = customers[chosen[i]]
        declared = customer.declared_kw
        progress.append(
            LiveProgress(
                customer=customer,
                intervals_done=done,
                baseline_kw=float(baseline_kw[i]),
                actual_avg_kw=float(actual_kw[i]),
                reduction_kw=float(reduction_kw[i]),
                rate=rate,
                current_kw=float(actual[i, last]),
                current_baseline_kw=float(base[i, last]),
                target_kw=float(base[i, last]) - sign * declared,
            )
        )
    return progress


def _customers_by_id(session: Session, ids: list[int]) -> dict[int, Customer]:
    customers = {}
    for chunk in id_chunks(sorted(ids)):
        customers.update((c.id, c) for c in session.exec(select(Customer).where(col(Customer.id).in_(chunk))).all())
    return customers
