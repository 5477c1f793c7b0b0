"""Reading the simulator clock and resolving date references against it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from sim_grid.errors import InvalidDateError
from sim_grid.models import SimClock

_RELATIVE_DAYS = {
    "today": 0,
    "今天": 0,
    "今日": 0,
    "tomorrow": 1,
    "明天": 1,
    "明日": 1,
    "yesterday": -1,
    "昨天": -1,
    "昨日": -1,
}


def read_clock(engine_or_session: Engine | Session) -> datetime:
    """Return the simulated current time."""
    if isinstance(engine_or_session, Session):
        return engine_or_session.get(SimClock, 1).now
    with Session(engine_or_session) as session:
        return session.get(SimClock, 1).now


def city_seed(session: Session) -> int:
    """Return the city's seed, read once per session (it never changes) to spare a query per use."""
    if "city_seed" not in session.info:
        session.info["city_seed"] = session.get(SimClock, 1).seed
    return session.info["city_seed"]


def resolve_date(engine_or_session: Engine | Session, reference: str | date) -> date:
    """Resolve today/tomorrow/yesterday (or 今天/明天/昨天) or YYYY-MM-DD against the clock."""
    if isinstance(reference, date):
        return reference
    text = str(reference).strip().lower()
    if text in _RELATIVE_DAYS:
        return read_clock(engine_or_session).date() + timedelta(days=_RELATIVE_DAYS[text])
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidDateError(str(reference)) from None
