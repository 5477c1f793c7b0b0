"""Event lifecycle: status changes driven by the clock, settlement and live progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from sqlmodel import Session, col, select

from sim_grid.loads import actual_curves, baselines, interval_start, intervals_elapsed, participants
from sim_grid.models import Customer, Event, Execution
from sim_grid.rules import settle_execution
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


def settle_event(session: Session, event: Event, now: datetime, settings: DRSettings) -> list[Execution]:
    """Write one Execution row per participant of a finished event (existing rows are kept)."""
    if session.exec(select(Execution.id).where(Execution.event_id == event.id)).first() is not None:
        return []

    ids = sorted(participants(session, event, now, settings))
    customers = {c.id: c for c in session.exec(select(Customer).where(col(Customer.id).in_(ids))).all()}
    base = baselines(session, "customer", ids, event.day, settings)
    actual = actual_curves(session, "customer", ids, event.day, event_end(event, settings), settings)
    window = slice(event.start_interval, event.end_interval)

    executions = []
    for customer_id in ids:
        if customer_id not in base or customer_id not in actual:
            continue
        customer = customers[customer_id]
        result = settle_execution(
            base[customer_id][window],
            actual[customer_id][window],
            customer.declared_kw,
            event_hours(event, settings),
            event.price_yuan_per_kwh,
            settings,
        )
        execution = Execution(
            event_id=event.id,
            customer_id=customer_id,
            declared_kw=customer.declared_kw,
            baseline_kw=result.baseline_kw,
            actual_avg_kw=result.actual_avg_kw,
            reduction_kw=result.reduction_kw,
            rate=result.rate,
            qualified=result.qualified,
            subsidy_yuan=result.subsidy_yuan,
        )
        session.add(execution)
        executions.append(execution)
    return executions


@dataclass(frozen=True)
class LiveProgress:
    """A participant's performance over the part of the window that has ended."""

    customer: Customer
    intervals_done: int
    baseline_kw: float  # mean baseline over the elapsed window
    actual_avg_kw: float
    reduction_kw: float
    rate: float
    current_kw: float  # load in the last ended interval
    current_baseline_kw: float
    target_kw: float  # current baseline minus declared response


def live_progress(
    session: Session, event: Event, now: datetime, settings: DRSettings, district_id: int | None = None
) -> list[LiveProgress]:
    """Return each participant's progress over the window's intervals that ended by `now`."""
    done = min(intervals_elapsed(event.day, now, settings), event.end_interval) - event.start_interval
    if done <= 0:
        return []

    ids = participants(session, event, now, settings)
    query = select(Customer).where(col(Customer.id).in_(list(ids)))
    if district_id is not None:
        query = query.where(Customer.district_id == district_id)
    customers = session.exec(query.order_by(Customer.user_id)).all()

    chosen = [c.id for c in customers]
    base = baselines(session, "customer", chosen, event.day, settings)
    actual = actual_curves(session, "customer", chosen, event.day, now, settings)
    window = slice(event.start_interval, event.start_interval + done)
    last = event.start_interval + done - 1

    progress = []
    for customer in customers:
        if customer.id not in base or customer.id not in actual:
            continue
        baseline_kw = float(np.mean(base[customer.id][window]))
        actual_kw = float(np.mean(actual[customer.id][window]))
        reduction_kw = baseline_kw - actual_kw
        progress.append(
            LiveProgress(
                customer=customer,
                intervals_done=done,
                baseline_kw=baseline_kw,
                actual_avg_kw=actual_kw,
                reduction_kw=reduction_kw,
                rate=reduction_kw / customer.declared_kw if customer.declared_kw > 0 else 0.0,
                current_kw=float(actual[customer.id][last]),
                current_baseline_kw=float(base[customer.id][last]),
                target_kw=float(base[customer.id][last]) - customer.declared_kw,
            )
        )
    return progress
