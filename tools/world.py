"""Facts about the simulated world that the agent needs besides tool results."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from sim_grid import read_clock
from tools.context import ToolContext
from tools.lookup import all_districts


def district_names(ctx: ToolContext) -> list[str]:
    """Return the full names of the city's districts, in creation order."""
    with ctx.session() as session:
        return [district.name for district in all_districts(session)]


def sim_now(ctx: ToolContext) -> datetime:
    """Return the simulator clock's current time."""
    return read_clock(ctx.engine)


def sim_today(ctx: ToolContext) -> date:
    return sim_now(ctx).date()
