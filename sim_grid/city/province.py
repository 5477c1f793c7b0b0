"""Province-sized bases: tens of thousands of customers with weeks of 15-minute history.

The base is written in chunks of customers with bulk inserts, so only one chunk of curves is
in memory at a time. Loads are the sector curves of sim_grid.city.profiles under one
temperature series. A station's curve is its customers' sum plus a background load of
customers outside the programme, and a district's curve is the sum of its stations. Earlier
events are replayed and settled, so histories, subsidies and the history decomposition have
data. Tomorrow has a forecast deficit over 14:00-18:00 and no event yet, as in random cities.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import insert
from sqlmodel import Session, SQLModel, select

from sim_grid.behaviour import draw_plan
from sim_grid.city.builder import forecast_error_ratio
from sim_grid.city.names import DISTRICT_NAMES, EXTRA_DISTRICT_NAMES, PLACES, UniqueDraws, customer_name
from sim_grid.city.profiles import ar1_noise, customer_history
from sim_grid.city.random_city import DECLARED_KW_RANGE, SECTOR_PROBABILITIES
from sim_grid.city.shapes import district_shape
from sim_grid.city.spec import gap_profile
from sim_grid.city.weather import daily_max_temperature, interval_temperature
from sim_grid.db import encode_curve, seeded_rng
from sim_grid.events import refresh_events
from sim_grid.models import Customer, District, Event, LoadCurve, ResponsePlan, SimClock, SmsInbox, Station, SystemForecast
from sim_grid.rules import is_normal_workday
from sim_grid.settings import DRSettings

CHUNK_CUSTOMERS = 1000
CUSTOMERS_PER_DISTRICT = 1500
CUSTOMERS_PER_STATION = 150
MAX_STATIONS_PER_DISTRICT = len(PLACES)
# Load of customers outside the programme, per kW of programme customers on the same station.
BACKGROUND_RATIO = 2.0
BACKGROUND_COOLING_SHARE_PER_C = 0.02
BACKGROUND_OFF_DAY_LEVEL = 0.8
PAST_EVENTS = 3
WINDOW = (56, 72)  # 14:00-18:00
PAST_TARGET_SHARE_OF_PEAK = 0.015
DEFICIT_SHARE_OF_PEAK = 0.02
FIRST_EVENT_DAY = date(2026, 7, 15)  # summer, inside chinese-calendar 1.11's coverage


@dataclass
class ProvinceCustomers:
    """Column arrays of the generated customers, in insertion order."""

    user_ids: list[str]
    names: list[str]
    phones: list[str]
    sectors: list[str]
    district_index: np.ndarray
    station_index: np.ndarray  # index into the province's station list
    contracted: np.ndarray
    opted_out: np.ndarray
    declared_kw: np.ndarray
    level_kw: np.ndarray  # typical workday 14:00-18:00 load without cooling


def _pick_event_day(rng: np.random.Generator) -> date:
    day = FIRST_EVENT_DAY + timedelta(days=int(rng.integers(0, 30)))
    while not is_normal_workday(day):
        day += timedelta(days=1)
    return day


def _structure(rng: np.random.Generator, customers: int) -> tuple[list[tuple[str, str]], list[tuple[int, str]]]:
    """Return (name, short name) per district and (district index, name) per station."""
    names = DISTRICT_NAMES + EXTRA_DISTRICT_NAMES
    district_count = int(np.clip(round(customers / CUSTOMERS_PER_DISTRICT), 3, len(names)))
    districts = list(names[:district_count])
    per_district = customers / district_count
    station_count = int(np.clip(round(per_district / CUSTOMERS_PER_STATION), 2, MAX_STATIONS_PER_DISTRICT))
    stations = []
    for index, (_, short) in enumerate(districts):
        for place in rng.permutation(PLACES)[:station_count]:
            stations.append((index, f"{short}{place}供电所"))
    return districts, stations


def _draw_customers(rng: np.random.Generator, count: int, districts: int, stations: list[tuple[int, str]]) -> ProvinceCustomers:
    draws = UniqueDraws(rng)
    sectors = [str(s) for s in rng.choice(list(SECTOR_PROBABILITIES), count, p=list(SECTOR_PROBABILITIES.values()))]
    district_index = rng.integers(0, districts, count)
    stations_of = [np.array([i for i, (d, _) in enumerate(stations) if d == k]) for k in range(districts)]
    station_index = np.array([rng.choice(stations_of[d]) for d in district_index])
    contracted = rng.random(count) < 0.7
    opted_out = contracted & (rng.random(count) < 0.03)
    declared = np.array([float(rng.integers(DECLARED_KW_RANGE[s][0], DECLARED_KW_RANGE[s][1] + 1)) for s in sectors])
    declared = np.where(contracted, declared, 0.0)
    typical = np.array([float(DECLARED_KW_RANGE[s][1]) for s in sectors])
    level = np.where(declared > 0, declared, typical) / rng.uniform(0.2, 0.35, count)
    return ProvinceCustomers(
        user_ids=[draws.user_id() for _ in range(count)],
        names=[customer_name(rng, s) for s in sectors],
        phones=[draws.phone() for _ in range(count)],
        sectors=sectors,
        district_index=district_index,
        station_index=station_index,
        contracted=contracted,
        opted_out=opted_out,
        declared_kw=declared,
        level_kw=level,
    )


def _insert_structure(
    session: Session, clock: datetime, seed: int, districts, stations, people: ProvinceCustomers
) -> tuple[list[int], list[int], list[int]]:
    """Write the clock, districts, stations and customers; return their database ids."""
    SQLModel.metadata.create_all(session.get_bind())
    session.add(SimClock(id=1, now=clock, seed=seed))
    district_rows = [District(name=name, short_name=short) for name, short in districts]
    session.add_all(district_rows)
    session.flush()
    station_rows = [Station(name=name, district_id=district_rows[d].id) for d, name in stations]
    session.add_all(station_rows)
    session.flush()
    district_ids = [d.id for d in district_rows]
    station_ids = [s.id for s in station_rows]

    rows = [
        {
            "user_id": people.user_ids[i],
            "name": people.names[i],
            "phone": people.phones[i],
            "sector": people.sectors[i],
            "district_id": district_ids[people.district_index[i]],
            "station_id": station_ids[people.station_index[i]],
            "contracted": bool(people.contracted[i]),
            "declared_kw": float(people.declared_kw[i]),
            "opted_out": bool(people.opted_out[i]),
        }
        for i in range(len(people.user_ids))
    ]
    session.execute(insert(Customer), rows)
    id_of = dict(session.exec(select(Customer.user_id, Customer.id)).all())
    return district_ids, station_ids, [id_of[u] for u in people.user_ids]


def _background_mw(
    rng: np.random.Generator, programme_mw: np.ndarray, days: list[date], temperature_c: np.ndarray
) -> np.ndarray:
    """Return each station's load outside the programme, shape (stations, days, intervals), MW."""
    intervals = temperature_c.shape[1]
    per_hour = intervals // 24
    workdays = np.array([is_normal_workday(d) for d in days])
    afternoon = programme_mw[:, workdays, 14 * per_hour : 18 * per_hour].mean(axis=(1, 2)) if workdays.any() else programme_mw.mean(axis=(1, 2))
    level = BACKGROUND_RATIO * afternoon  # (stations,)
    cooling = 1.0 + BACKGROUND_COOLING_SHARE_PER_C * np.maximum(temperature_c - 26.0, 0.0)  # (days, intervals)
    day_level = np.where(workdays, 1.0, BACKGROUND_OFF_DAY_LEVEL)
    noise = 1.0 + ar1_noise(rng, programme_mw.shape, 0.01, 0.8)
    shape = district_shape(intervals)
    return level[:, None, None] * shape[None, None, :] * cooling[None] * day_level[None, :, None] * noise


def _past_event_days(rng: np.random.Generator, days: list[date], event_day: date) -> list[date]:
    """Pick PAST_EVENTS normal workdays in the later two thirds of the history, a week apart or more."""
    candidates = [d for d in days[len(days) // 3 :] if is_normal_workday(d) and d < event_day - timedelta(days=2)]
    picked: list[date] = []
    for day in rng.permutation(np.array(candidates, dtype=object)):
        if all(abs((day - other).days) >= 7 for other in picked):
            picked.append(day)
        if len(picked) == PAST_EVENTS:
            break
    return sorted(picked)


def _replay_past_events(session: Session, seed: int, event_days: list[date], peak_mw: float, settings: DRSettings) -> None:
    """Create the earlier events with every invitable customer's plan and reply (settled later)."""
    invitable = session.exec(
        select(Customer).where(Customer.contracted == True, Customer.opted_out == False)  # noqa: E712
    ).all()
    rng = seeded_rng("province-past-events", seed)
    start, end = WINDOW
    for day in event_days:
        event = Event(
            day=day, start_interval=start, end_interval=end,
            target_mw=round(PAST_TARGET_SHARE_OF_PEAK * peak_mw, 1),
            price_yuan_per_kwh=float(rng.choice([0.8, 1.5, 2.0, 3.0])), status="notified",
        )
        session.add(event)
        session.flush()
        replied_at = datetime.combine(day - timedelta(days=1), datetime.min.time()) + timedelta(hours=11)
        plans, replies = [], []
        for customer in invitable:
            plan = draw_plan(seed, customer, event, settings)
            plans.append(plan.model_dump(exclude={"id"}))
            if plan.reply_kind in ("yes", "no"):
                replies.append({"customer_id": customer.id, "event_id": event.id, "text": plan.reply_text,
                                "received_at": replied_at, "parsed": plan.reply_kind, "applied": True})
        session.execute(insert(ResponsePlan), plans)
        if replies:
            session.execute(insert(SmsInbox), replies)


def _insert_customer_curves(
    session: Session, seed: int, people: ProvinceCustomers, customer_ids: list[int], station_count: int,
    days: list[date], temperature_c: np.ndarray, advance,
) -> np.ndarray:
    """Write every customer's curves chunk by chunk and return each station's programme load (MW).

    advance(n) is called after each chunk of n customers.
    """
    customers = len(customer_ids)
    programme_mw = np.zeros((station_count, len(days), temperature_c.shape[1]))
    for first in range(0, customers, CHUNK_CUSTOMERS):
        chunk = slice(first, min(first + CHUNK_CUSTOMERS, customers))
        chunk_rng = seeded_rng("province-curves", seed, first)
        curves = customer_history(chunk_rng, people.sectors[chunk], people.level_kw[chunk], days, temperature_c)
        blobs = curves.astype("<f4")
        rows = [
            {"day": day, "customer_id": customer_ids[first + i], "values": blobs[i, j].tobytes()}
            for i in range(blobs.shape[0])
            for j, day in enumerate(days)
        ]
        session.execute(insert(LoadCurve), rows)
        for station in np.unique(people.station_index[chunk]):
            members = people.station_index[chunk] == station
            programme_mw[station] += curves[members].sum(axis=0) / 1000.0  # kW to MW
        advance(chunk.stop - chunk.start)
    return programme_mw


def _insert_grid_curves(
    session: Session, seed: int, programme_mw: np.ndarray, stations: list[tuple[int, str]], station_ids: list[int],
    district_ids: list[int], days: list[date], temperature_c: np.ndarray,
) -> np.ndarray:
    """Write station and district curves (MW) and return the district curves."""
    station_mw = programme_mw + _background_mw(seeded_rng("province-background", seed), programme_mw, days, temperature_c)
    district_mw = np.zeros((len(district_ids), len(days), temperature_c.shape[1]))
    for index, (district, _) in enumerate(stations):
        district_mw[district] += station_mw[index]
    rows = [
        {"day": day, "station_id": station_ids[s], "values": encode_curve(station_mw[s, j])}
        for s in range(len(station_ids))
        for j, day in enumerate(days)
    ]
    rows += [
        {"day": day, "district_id": district_ids[d], "values": encode_curve(district_mw[d, j])}
        for d in range(len(district_ids))
        for j, day in enumerate(days)
    ]
    session.execute(insert(LoadCurve), rows)
    return district_mw


def build_province(
    session: Session, seed: int, customers: int, history_days: int, settings: DRSettings, progress: bool = True
) -> None:
    """Write a province-sized base into an empty database, with a progress bar on stderr."""
    rng = seeded_rng("province", seed)
    event_day = _pick_event_day(rng)
    clock = datetime.combine(event_day - timedelta(days=1), datetime.min.time()) + timedelta(hours=9)
    days = [event_day - timedelta(days=history_days - 1 - i) for i in range(history_days)]
    temperature = interval_temperature(
        daily_max_temperature(seeded_rng("province-weather", seed), days), settings.intervals_per_day
    )

    districts, stations = _structure(rng, customers)
    people = _draw_customers(rng, customers, len(districts), stations)
    district_ids, station_ids, customer_ids = _insert_structure(session, clock, seed, districts, stations, people)

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=Console(stderr=True), disable=not progress) as bar:
        task = bar.add_task("生成用户负荷曲线", total=customers)
        programme_mw = _insert_customer_curves(
            session, seed, people, customer_ids, len(stations), days, temperature, lambda n: bar.advance(task, n)
        )

        task = bar.add_task("生成供电所与区域曲线", total=1)
        district_mw = _insert_grid_curves(session, seed, programme_mw, stations, station_ids, district_ids, days, temperature)
        bar.advance(task)

        task = bar.add_task("写入预测并回放历史事件", total=1)
        city_mw = district_mw.sum(axis=0)  # (days, intervals)
        peak_mw = float(city_mw.max())
        _insert_forecasts(session, seed, days, city_mw, event_day, clock.date(), peak_mw, settings)
        _replay_past_events(session, seed, _past_event_days(rng, days, event_day), peak_mw, settings)
        session.flush()
        refresh_events(session, clock, settings)
        bar.advance(task)


def _insert_forecasts(
    session: Session, seed: int, days: list[date], city_mw: np.ndarray, event_day: date, today: date,
    peak_mw: float, settings: DRSettings,
) -> None:
    """Write today's forecast (no deficit) and the event day's (a deficit over WINDOW)."""
    rng = seeded_rng("province-forecast", seed)
    intervals = settings.intervals_per_day
    deficit_mw = round(DEFICIT_SHARE_OF_PEAK * peak_mw, 1)
    for day, gap in ((today, np.full(intervals, -0.02 * peak_mw)), (event_day, gap_profile(*WINDOW, deficit_mw, intervals))):
        forecast = city_mw[days.index(day)] * (1.0 + forecast_error_ratio(rng, intervals, settings))
        supply = forecast + settings.reserve_margin_mw - gap
        session.add(SystemForecast(day=day, forecast_mw=encode_curve(forecast), supply_mw=encode_curve(supply)))
