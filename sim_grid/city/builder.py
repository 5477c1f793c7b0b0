"""Writing a CitySpec to the database: structure, load history, forecasts and past events."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import insert
from sqlmodel import Session, SQLModel, select

from sim_grid.behaviour import draw_plan
from sim_grid.city.profiles import ar1_noise, customer_history
from sim_grid.city.shapes import district_shape, sector_shape
from sim_grid.city.weather import daily_max_temperature, interval_temperature
from sim_grid.city.spec import CitySpec
from sim_grid.db import encode_curve, seeded_rng
from sim_grid.events import refresh_events
from sim_grid.models import Customer, District, Event, LoadCurve, ResponsePlan, SimClock, SmsInbox, Station, SystemForecast
from sim_grid.rules import is_normal_workday, select_baseline_days
from sim_grid.settings import DRSettings

# Load on weekends and holidays relative to a workday.
OFF_DAY_FACTOR = 0.72


class CityBuild:
    """The arrays and ids of a city while it is being written."""

    def __init__(self, session: Session, spec: CitySpec, settings: DRSettings):
        self.session = session
        self.spec = spec
        self.settings = settings
        self.event_days = sorted([e.day for e in spec.past_events] + [spec.event_day])
        self.days = history_days(self.event_days, spec.clock_start.date(), settings)
        self.day_index = {d: i for i, d in enumerate(self.days)}
        self.customers: list[Customer] = []
        self.customer_specs = [c for d in spec.districts for c in d.customers]
        self.curves = np.zeros(0)
        self.baselines: dict[date, np.ndarray] = {}

    def baseline_days(self, day: date) -> list[date]:
        earlier = [d for d in self.event_days if d < day]
        return select_baseline_days(day, earlier, self.settings.baseline_days)

    def index_of(self, user_id: str) -> int:
        return next(i for i, c in enumerate(self.customers) if c.user_id == user_id)


def history_days(event_days: list[date], today: date, settings: DRSettings) -> list[date]:
    """Return every day from the first baseline day of the earliest event to the last event."""
    first = min(select_baseline_days(event_days[0], [], settings.baseline_days))
    last = max(event_days[-1], today)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def insert_structure(build: CityBuild) -> None:
    """Create tables and write the clock, districts, stations and customers."""
    session, spec = build.session, build.spec
    SQLModel.metadata.create_all(session.get_bind())
    session.add(SimClock(id=1, now=spec.clock_start, seed=spec.seed))

    for district_spec in spec.districts:
        district = District(name=district_spec.name, short_name=district_spec.short_name)
        session.add(district)
        session.flush()
        stations = [Station(name=name, district_id=district.id) for name in district_spec.stations]
        session.add_all(stations)
        session.flush()
        for c in district_spec.customers:
            build.customers.append(
                Customer(
                    user_id=c.user_id,
                    name=c.name,
                    phone=c.phone,
                    sector=c.sector,
                    district_id=district.id,
                    station_id=stations[c.station_index].id,
                    contracted=c.contracted,
                    declared_kw=c.declared_kw,
                    opted_out=c.opted_out,
                )
            )
    session.add_all(build.customers)
    session.flush()


def generate_customer_history(build: CityBuild) -> None:
    """Fill build.curves (customers × days × intervals, kW) with ordinary-day loads."""
    rng = seeded_rng("customer-history", build.spec.seed)
    intervals = build.settings.intervals_per_day
    if build.spec.realistic:
        daily_max = daily_max_temperature(seeded_rng("weather", build.spec.seed), build.days)
        temperature = interval_temperature(daily_max, intervals)
        sectors = [c.sector for c in build.customer_specs]
        level = np.array([c.window_kw for c in build.customer_specs])
        build.curves = customer_history(rng, sectors, level, build.days, temperature)
        return

    shapes = {s: sector_shape(s, intervals) for s in ("industrial", "commercial", "residential")}
    shape = np.stack([shapes[c.sector] for c in build.customer_specs])  # (n, intervals)
    level = np.array([c.window_kw for c in build.customer_specs])

    n, days = len(build.customer_specs), len(build.days)
    day_factor = rng.normal(1.0, 0.04, (n, days))
    day_factor *= np.array([1.0 if is_normal_workday(d) else OFF_DAY_FACTOR for d in build.days])
    noise = 1.0 + rng.normal(0.0, 0.04, (n, days, intervals))
    build.curves = level[:, None, None] * shape[:, None, :] * day_factor[:, :, None] * noise


def fill_event_days(build: CityBuild) -> None:
    """Set each event day's stored curve to the customer's baseline, with noise outside the window.

    Without a response a customer draws its baseline inside the window, so the reduction
    the rules measure equals the planned response.
    """
    rng = seeded_rng("event-days", build.spec.seed)
    start, end = build.spec.window
    for day in build.event_days:
        indices = [build.day_index[d] for d in build.baseline_days(day)]
        baseline = build.curves[:, indices, :].mean(axis=1)
        build.baselines[day] = baseline
        curve = baseline * (1.0 + rng.normal(0.0, 0.03, baseline.shape))
        curve[:, start:end] = baseline[:, start:end]
        build.curves[:, build.day_index[day], :] = curve


def insert_customer_curves(build: CityBuild) -> None:
    rows = [
        {"day": day, "customer_id": customer.id, "values": encode_curve(build.curves[i, j])}
        for i, customer in enumerate(build.customers)
        for j, day in enumerate(build.days)
    ]
    build.session.execute(insert(LoadCurve), rows)


def insert_grid_curves(build: CityBuild) -> dict[date, np.ndarray]:
    """Write station and district curves (MW) and return the city total per day.

    Every district's mean over the deficit window is its window_mw times a factor shared by
    all districts that day, so the mean-method shares are the same on every day.
    """
    spec, settings = build.spec, build.settings
    rng = seeded_rng("grid-history", spec.seed)
    intervals = settings.intervals_per_day
    shape = district_shape(intervals)
    start, end = spec.window
    city_day_factor = {d: rng.normal(1.0, 0.02) * (1.0 if is_normal_workday(d) else OFF_DAY_FACTOR) for d in build.days}

    districts = build.session.exec(select(District).order_by(District.id)).all()
    city_total = {d: np.zeros(intervals) for d in build.days}
    rows = []
    for district, district_spec in zip(districts, spec.districts):
        stations = build.session.exec(select(Station).where(Station.district_id == district.id).order_by(Station.id)).all()
        weights = rng.dirichlet(np.full(len(stations), 4.0))
        for day in build.days:
            target_window_mw = district_spec.window_mw * city_day_factor[day]
            station_curves = weights[:, None] * shape[None, :] * target_window_mw
            station_curves *= 1.0 + rng.normal(0.0, 0.03, station_curves.shape)
            station_curves *= target_window_mw / station_curves.sum(axis=0)[start:end].mean()
            district_curve = station_curves.sum(axis=0)
            city_total[day] += district_curve
            rows.append({"day": day, "district_id": district.id, "values": encode_curve(district_curve)})
            for station, curve in zip(stations, station_curves):
                rows.append({"day": day, "station_id": station.id, "values": encode_curve(curve)})
    build.session.execute(insert(LoadCurve), rows)
    return city_total


def forecast_error_ratio(rng: np.random.Generator, intervals: int, settings: DRSettings) -> np.ndarray:
    """Return a relative day-ahead forecast error per interval: AR(1) with the configured SD."""
    return ar1_noise(rng, (intervals,), settings.forecast_error_sd_ratio, settings.forecast_error_autocorrelation)


def insert_forecasts(build: CityBuild, city_total: dict[date, np.ndarray]) -> None:
    """Write forecasts for today and the event day; supply leaves the spec's gap on the event day.

    In a realistic city the forecast misses the metered city total by a seeded error. The
    supply is set against the forecast, so the deficit the dispatcher is warned of is still
    the spec's gap, while the metered load turns out a little different.
    """
    reserve = build.settings.reserve_margin_mw
    today = build.spec.clock_start.date()
    comfortable_gap = np.full(build.settings.intervals_per_day, -20.0)
    rng = seeded_rng("forecast-error", build.spec.seed)
    for day, gap in ((today, comfortable_gap), (build.spec.event_day, build.spec.gap_mw)):
        forecast = city_total[day]
        if build.spec.realistic:
            forecast = forecast * (1.0 + forecast_error_ratio(rng, len(forecast), build.settings))
        supply = forecast + reserve - gap
        build.session.add(SystemForecast(day=day, forecast_mw=encode_curve(forecast), supply_mw=encode_curve(supply)))


def replay_past_events(build: CityBuild, plan_overrides: dict[tuple[str, date], ResponsePlan] | None = None) -> None:
    """Create the past events with their replies and settle them through the rules.

    NOTE: past events get inbox replies but no outbox rows, so their SMS status reads empty.

    plan_overrides maps (user_id, day) to a hand-made plan that replaces the seeded draw.
    """
    session, spec, settings = build.session, build.spec, build.settings
    plan_overrides = plan_overrides or {}
    start, end = spec.window
    for past in spec.past_events:
        event = Event(
            day=past.day,
            start_interval=start,
            end_interval=end,
            target_mw=past.target_mw,
            price_yuan_per_kwh=past.price_yuan_per_kwh,
            status="notified",
        )
        session.add(event)
        session.flush()
        replied_at = datetime.combine(past.day - timedelta(days=1), datetime.min.time()) + timedelta(hours=11)
        for customer in build.customers:
            if not customer.contracted or customer.opted_out:
                continue
            plan = plan_overrides.get((customer.user_id, past.day)) or draw_plan(spec.seed, customer, event, settings)
            plan.customer_id = customer.id
            session.add(plan)
            if plan.reply_kind in ("yes", "no"):
                session.add(
                    SmsInbox(
                        customer_id=customer.id,
                        event_id=event.id,
                        text=plan.reply_text,
                        received_at=replied_at,
                        parsed=plan.reply_kind,
                        applied=True,
                    )
                )
    session.flush()
    refresh_events(session, spec.clock_start, settings)


def write_city(session: Session, spec: CitySpec, settings: DRSettings, customize=None) -> CityBuild:
    """Write the whole city. `customize(build)` may edit build.curves before they are stored."""
    build = CityBuild(session, spec, settings)
    insert_structure(build)
    generate_customer_history(build)
    if customize is not None:
        customize(build)
    fill_event_days(build)
    insert_customer_curves(build)
    city_total = insert_grid_curves(build)
    insert_forecasts(build, city_total)
    return build
