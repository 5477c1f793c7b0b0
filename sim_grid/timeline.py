"""Moving the simulator clock.

Moving the clock makes scheduled things happen: SMS delivery receipts, arriving replies
(opt-outs take effect), events starting and finishing (finished events are settled).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from sim_grid.errors import ClockError
from sim_grid.events import refresh_events
from sim_grid.models import SimClock
from sim_grid.settings import DRSettings
from sim_grid.sms import apply_due_messages


def advance_clock(
    engine: Engine,
    minutes: float | None = None,
    to: datetime | None = None,
    settings: DRSettings | None = None,
) -> datetime:
    """Move the clock forward by `minutes` or to `to`, and apply what became due.

    Raises ClockError when both or neither are given, or when the target is in the past.
    """
    if (minutes is None) == (to is None):
        raise ClockError("give exactly one of minutes or to")
    settings = settings or DRSettings()

    with Session(engine) as session:
        clock = session.get(SimClock, 1)
        target = clock.now + timedelta(minutes=minutes) if minutes is not None else to
        if target < clock.now:
            raise ClockError(f"cannot move the clock back from {clock.now} to {target}")

        clock.now = target
        session.add(clock)
        apply_due_messages(session, target)
        refresh_events(session, target, settings)
        session.commit()
        return target
