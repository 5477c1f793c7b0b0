"""Plain descriptions of a city before it is written to the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np


@dataclass
class CustomerSpec:
    user_id: str
    name: str
    phone: str
    sector: str
    station_index: int  # index into the district's stations
    contracted: bool
    opted_out: bool
    declared_kw: float
    window_kw: float  # typical mean load over 14:00-18:00 on a workday


@dataclass
class DistrictSpec:
    name: str
    short_name: str
    stations: list[str]
    window_mw: float  # mean district load over the deficit window on a workday
    customers: list[CustomerSpec] = field(default_factory=list)


@dataclass
class PastEventSpec:
    day: date
    price_yuan_per_kwh: float
    target_mw: float


@dataclass
class CitySpec:
    seed: int
    clock_start: datetime
    event_day: date  # the day with the forecast deficit
    window: tuple[int, int]  # deficit window [start, end) in intervals
    gap_mw: np.ndarray  # deficit per interval on event_day; positive exactly inside the window
    past_events: list[PastEventSpec]
    districts: list[DistrictSpec]
    # True: weather-driven sector load curves (sim_grid.city.profiles) and a day-ahead forecast
    # that misses the metered load by a seeded error. The demo city keeps its engineered
    # curves and an exact forecast so that its figures stay fixed.
    realistic: bool = False


def gap_profile(start: int, end: int, peak_mw: float, intervals: int = 96) -> np.ndarray:
    """Return a deficit curve positive on [start, end) with its maximum peak_mw, negative elsewhere."""
    positions = np.arange(intervals)
    gap = -6.0 - 1.5 * np.minimum(np.abs(positions - start), np.abs(positions - (end - 1)))
    peak_at = start + (end - start) * 7 // 16
    inside = np.arange(start, end)
    hump = 1.0 - 0.55 * np.abs(inside - peak_at) / max(peak_at - start, end - 1 - peak_at, 1)
    gap[start:end] = peak_mw * hump
    return gap
