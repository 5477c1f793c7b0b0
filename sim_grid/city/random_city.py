"""Random cities for training and tests, generated deterministically from a seed."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
from sqlmodel import Session

from sim_grid.city.builder import replay_past_events, write_city
from sim_grid.city.names import DISTRICT_NAMES, PLACES, UniqueDraws, customer_name
from sim_grid.city.spec import CitySpec, CustomerSpec, DistrictSpec, PastEventSpec, gap_profile
from sim_grid.db import seeded_rng
from sim_grid.rules import is_normal_workday
from sim_grid.settings import DRSettings

# Event days are drawn between these dates because chinese-calendar 1.11 covers 2026 at the latest.
FIRST_EVENT_DAY = date(2026, 4, 1)
LAST_EVENT_DAY = date(2026, 11, 30)
SECTOR_PROBABILITIES = {"industrial": 0.4, "commercial": 0.4, "residential": 0.2}
DECLARED_KW_RANGE = {"industrial": (30, 300), "commercial": (20, 200), "residential": (5, 20)}


def _draw_workday(rng: np.random.Generator) -> date:
    span = (LAST_EVENT_DAY - FIRST_EVENT_DAY).days
    while True:
        day = FIRST_EVENT_DAY + timedelta(days=int(rng.integers(span + 1)))
        if is_normal_workday(day):
            return day


def random_spec(seed: int) -> CitySpec:
    """Draw a city: 3-6 districts, 2-4 stations each, 50-300 customers per district."""
    rng = seeded_rng("random-city", seed)
    draws = UniqueDraws(rng)
    event_day = _draw_workday(rng)
    start = int(rng.integers(48, 65))  # 12:00 to 16:15
    end = min(start + int(rng.integers(8, 21)), 88)
    peak_mw = float(np.round(rng.uniform(10, 80), 1))

    picked = rng.choice(len(DISTRICT_NAMES), int(rng.integers(3, 7)), replace=False)
    places = list(rng.permutation(PLACES))
    districts = []
    for k in picked:
        name, short = DISTRICT_NAMES[k]
        stations = [f"{places.pop()}供电所" for _ in range(int(rng.integers(2, 5)))]
        customers = []
        for _ in range(int(rng.integers(50, 301))):
            sector = str(rng.choice(list(SECTOR_PROBABILITIES), p=list(SECTOR_PROBABILITIES.values())))
            contracted = bool(rng.random() < 0.85)
            low, high = DECLARED_KW_RANGE[sector]
            declared = float(rng.integers(low, high + 1)) if contracted else 0.0
            window_kw = (declared or float(high)) / rng.uniform(0.2, 0.35)
            customers.append(
                CustomerSpec(draws.user_id(), customer_name(rng, sector), draws.phone(), sector,
                             int(rng.integers(len(stations))), contracted, contracted and rng.random() < 0.03,
                             declared, window_kw)
            )
        districts.append(DistrictSpec(name, short, stations, float(np.round(rng.uniform(120, 400), 1)), customers))

    # Two or three earlier events on workdays of the preceding weeks.
    past_days = sorted({event_day - timedelta(days=int(d)) for d in rng.integers(6, 40, int(rng.integers(2, 4)))})
    past = [
        PastEventSpec(d, float(rng.choice([0.8, 1.5, 2.0, 3.0])), float(np.round(rng.uniform(10, 60), 1)))
        for d in past_days
        if is_normal_workday(d)
    ]
    clock_start = datetime.combine(event_day - timedelta(days=1), datetime.min.time()) + timedelta(hours=9)
    return CitySpec(seed, clock_start, event_day, (start, end), gap_profile(start, end, peak_mw), past, districts, realistic=True)


def build_random_city(session: Session, seed: int, settings: DRSettings) -> None:
    """Write a random city into an empty database."""
    build = write_city(session, random_spec(seed), settings)
    replay_past_events(build)
