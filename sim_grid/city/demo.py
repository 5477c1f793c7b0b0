"""The demo city: seeded data engineered so that the rules reproduce the showcase figures.

Nothing here writes a result. The data are chosen so that the rules yield these figures:
- a 30 MW deficit over 14:00-18:00 tomorrow, and district window loads in the ratio 20:30:25:25;
- 128 invitable customers in 城南区, of whom 84 (6720 declared kW) reply yes;
- customer 603954 with a 120 kW baseline and a hand-made event history;
- event-day responses of 420 participants totalling 36.52 MW on average and 39.18 MW at
  15:30, with 36 participants missing the qualification rules.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np

from sim_grid.behaviour import REPLY_TEXTS
from sim_grid.city.builder import CityBuild, replay_past_events, write_city
from sim_grid.city.names import UniqueDraws, customer_name
from sim_grid.city.spec import CitySpec, CustomerSpec, DistrictSpec, PastEventSpec, gap_profile
from sim_grid.db import encode_curve, seeded_rng
from sim_grid.models import ResponsePlan
from sim_grid.settings import DRSettings
from sqlmodel import Session

DEMO_SEED = 20260623
CLOCK_START = datetime(2026, 6, 23, 9, 0)
EVENT_DAY = date(2026, 6, 24)
WINDOW = (56, 72)  # 14:00-18:00
PEAK_GAP_MW = 30.0

STAR_USER_ID = "603954"
STAR_WINDOW_KW = 120.0
STAR_DECLARED_KW = 30.0
# Past events of the star customer: (day, price, reply, constant reduction kW).
STAR_HISTORY = (
    (date(2026, 5, 13), 2.0, "yes", 38.0),
    (date(2026, 5, 27), 2.0, "no", 0.0),
    (date(2026, 6, 3), 3.0, "yes", 37.0),
    (date(2026, 6, 10), 3.0, "yes", 34.0),
    (date(2026, 6, 17), 0.8, "yes", 35.0),
)
PAST_TARGETS_MW = (35.0, 30.0, 40.0, 38.0, 32.0)

# name, short name, stations, window MW, replies of invitable customers, declared kW of the
# yes repliers together, opted-out customers, customers without a contract
DISTRICTS = (
    ("城南区", "城南", ["南湖供电所", "雨花供电所", "白沙供电所"], 200.0,
     {"yes": 84, "no": 20, "unparsed": 1, "none": 23}, 6720, 4, 12),
    ("城北区", "城北", ["北苑供电所", "新河供电所", "龙潭供电所", "长桥供电所"], 300.0,
     {"yes": 125, "no": 35, "optout": 2, "unparsed": 1, "none": 27}, 10000, 3, 15),
    ("城东区", "城东", ["东郊供电所", "仙林供电所", "紫荆供电所"], 250.0,
     {"yes": 105, "no": 30, "optout": 1, "none": 24}, 8400, 2, 10),
    ("城西区", "城西", ["河西供电所", "江心供电所", "西山供电所"], 250.0,
     {"yes": 106, "no": 28, "unparsed": 1, "none": 25}, 8480, 3, 10),
)

# Event-day response of all participants together: mean 36.52 MW, maximum 39.18 MW at 15:30.
TOTAL_RESPONSE_MEAN_KW = 36520.0
TOTAL_RESPONSE_PEAK_KW = 39180.0
PEAK_OFFSET = 6  # interval 62 = 15:30
LAGGARDS_PER_DISTRICT = 3  # cut about 30% of the declared kW all along
DROPOUTS_PER_DISTRICT = 5  # full cut in the first hour, 40% afterwards
SPIKES_PER_DISTRICT = 1  # cut well but exceed the baseline maximum once


def integers_with_sum(rng: np.random.Generator, count: int, total: int, low: int, high: int) -> list[int]:
    """Draw `count` integers in [low, high] that sum exactly to `total`."""
    values = rng.integers(low, high + 1, count).astype(float)
    values = np.clip(np.round(values * total / values.sum()), low, high).astype(int)
    step = 1 if values.sum() < total else -1
    i = 0
    while values.sum() != total:
        j = i % count
        if low <= values[j] + step <= high:
            values[j] += step
        i += 1
    return values.tolist()


def _demo_spec() -> tuple[CitySpec, dict[str, str]]:
    """Return the city spec and each invitable customer's planned reply kind."""
    rng = seeded_rng("demo-customers", DEMO_SEED)
    draws = UniqueDraws(rng, reserved_ids={STAR_USER_ID})
    reply_kinds: dict[str, str] = {}
    districts = []

    for index, (name, short, stations, window_mw, replies, yes_kw, opted_out, not_contracted) in enumerate(DISTRICTS):
        kinds = [kind for kind, n in replies.items() for _ in range(n)]
        rng.shuffle(kinds)
        if index == 0:
            kinds.remove("yes")
            kinds.insert(0, "yes")  # the star customer comes first

        yes_count = kinds.count("yes")
        if index == 0:
            star_kw = int(STAR_DECLARED_KW)
            yes_declared = [star_kw] + integers_with_sum(rng, yes_count - 1, yes_kw - star_kw, 20, 160)
        else:
            yes_declared = integers_with_sum(rng, yes_count, yes_kw, 20, 160)
        yes_iter = iter(yes_declared)

        customers = []
        for position, kind in enumerate(kinds):
            user_id = STAR_USER_ID if index == 0 and position == 0 else draws.user_id()
            sector = "commercial" if user_id == STAR_USER_ID else str(rng.choice(["industrial", "commercial"], p=[0.55, 0.45]))
            declared = float(next(yes_iter)) if kind == "yes" else float(rng.integers(20, 201))
            window_kw = STAR_WINDOW_KW if user_id == STAR_USER_ID else declared / rng.uniform(0.22, 0.35)
            customers.append(
                CustomerSpec(user_id, customer_name(rng, sector), draws.phone(), sector, int(rng.integers(len(stations))),
                             True, False, declared, window_kw)
            )
            reply_kinds[user_id] = kind
        for contracted, count in ((True, opted_out), (False, not_contracted)):
            for _ in range(count):
                sector = str(rng.choice(["industrial", "commercial", "residential"], p=[0.4, 0.4, 0.2]))
                declared = float(rng.integers(20, 201)) if contracted else 0.0
                window_kw = (declared or 40.0) / rng.uniform(0.22, 0.35)
                customers.append(
                    CustomerSpec(draws.user_id(), customer_name(rng, sector), draws.phone(), sector,
                                 int(rng.integers(len(stations))), contracted, contracted, declared, window_kw)
                )
        districts.append(DistrictSpec(name, short, stations, window_mw, customers))

    spec = CitySpec(
        seed=DEMO_SEED,
        clock_start=CLOCK_START,
        event_day=EVENT_DAY,
        window=WINDOW,
        gap_mw=gap_profile(*WINDOW, PEAK_GAP_MW),
        past_events=[PastEventSpec(day, price, target) for (day, price, _, _), target in zip(STAR_HISTORY, PAST_TARGETS_MW)],
        districts=districts,
    )
    return spec, reply_kinds


def _pin_star_window_load(build: CityBuild) -> None:
    """Scale the star customer's workday window load to exactly STAR_WINDOW_KW."""
    i = build.index_of(STAR_USER_ID)
    start, end = WINDOW
    window = build.curves[i, :, start:end]
    build.curves[i, :, start:end] = window * (STAR_WINDOW_KW / window.mean(axis=1, keepdims=True))


def _star_history_plans(build: CityBuild) -> dict[tuple[str, date], ResponsePlan]:
    intervals = build.settings.intervals_per_day
    start, end = WINDOW
    plans = {}
    for day, _, kind, reduction_kw in STAR_HISTORY:
        response = np.zeros(intervals)
        response[start:end] = reduction_kw
        plans[(STAR_USER_ID, day)] = ResponsePlan(
            customer_id=0, day=day, reply_kind=kind, reply_text="1" if kind == "yes" else "2",
            reply_delay_minutes=30, response_kw=encode_curve(response),
        )
    return plans


def _total_response_profile() -> np.ndarray:
    """Return the participants' summed reduction per window interval (kW)."""
    raw = np.array([0.95, 0.97, 0.98, 0.99, 1.01, 1.04, 0.0, 1.05, 1.03, 1.01, 1.0, 0.99, 0.98, 0.97, 0.96, 0.94])
    peak_ratio = TOTAL_RESPONSE_PEAK_KW / TOTAL_RESPONSE_MEAN_KW
    others = np.delete(raw, PEAK_OFFSET)
    others *= (len(raw) - peak_ratio) / others.sum()
    profile = np.insert(others, PEAK_OFFSET, peak_ratio)
    if others.max() >= peak_ratio:
        raise RuntimeError("demo response profile has its maximum away from 15:30; retune the demo constants")
    return profile * TOTAL_RESPONSE_MEAN_KW


def _event_day_plans(build: CityBuild, reply_kinds: dict[str, str]) -> list[ResponsePlan]:
    """Build every invitable customer's plan for the event day, with engineered reductions."""
    rng = seeded_rng("demo-event-day", DEMO_SEED)
    intervals = build.settings.intervals_per_day
    start, end = WINDOW
    length = end - start
    baseline = build.baselines[EVENT_DAY]

    yes_by_district: dict[int, list[int]] = {}
    for i, customer in enumerate(build.customers):
        if reply_kinds.get(customer.user_id) == "yes":
            yes_by_district.setdefault(customer.district_id, []).append(i)

    responses: dict[int, np.ndarray] = {}
    for members in yes_by_district.values():
        candidates = [i for i in members if build.customers[i].user_id != STAR_USER_ID]
        picked = rng.choice(candidates, LAGGARDS_PER_DISTRICT + DROPOUTS_PER_DISTRICT + SPIKES_PER_DISTRICT, replace=False)
        laggards = picked[:LAGGARDS_PER_DISTRICT]
        dropouts = picked[LAGGARDS_PER_DISTRICT : LAGGARDS_PER_DISTRICT + DROPOUTS_PER_DISTRICT]
        spikes = picked[LAGGARDS_PER_DISTRICT + DROPOUTS_PER_DISTRICT :]
        for i in laggards:
            responses[i] = build.customers[i].declared_kw * (0.3 + rng.normal(0.0, 0.03, length))
        for i in dropouts:
            rate = np.where(np.arange(length) < 4, 1.0, 0.4) + rng.normal(0.0, 0.02, length)
            responses[i] = build.customers[i].declared_kw * rate
        for i in spikes:
            declared = build.customers[i].declared_kw
            window_base = baseline[i, start:end]
            response = np.full(length, 1.05 * declared)
            spike_at = 12
            response[spike_at] = -(window_base.max() - window_base[spike_at]) - 0.1 * declared - 1.0
            responses[i] = response

    regular = [i for members in yes_by_district.values() for i in members if i not in responses]
    declared = np.array([build.customers[i].declared_kw for i in regular])
    special_total = np.sum(list(responses.values()), axis=0)
    shape = (_total_response_profile() - special_total) / declared.sum()
    noise = rng.normal(0.0, 0.04, (len(regular), length))
    noise -= (declared @ noise) / declared.sum()  # keeps the kW-weighted noise at zero per interval
    rates = shape[None, :] + noise
    if rates.min() <= 0.0 or rates.mean(axis=1).min() < 0.85 or rates[:, :4].mean(axis=1).min() < 0.85:
        raise RuntimeError("demo event-day plans leave a regular participant below target; retune the demo constants")
    for row, i in enumerate(regular):
        responses[i] = declared[row] * rates[row]

    plans = []
    for i, customer in enumerate(build.customers):
        kind = reply_kinds.get(customer.user_id)
        if kind is None:
            continue
        full = np.zeros(intervals)
        if i in responses:
            full[start:end] = responses[i]
        text = str(rng.choice(REPLY_TEXTS[kind])) if kind != "none" else None
        plans.append(
            ResponsePlan(
                customer_id=customer.id, day=EVENT_DAY, reply_kind=kind, reply_text=text,
                reply_delay_minutes=int(rng.integers(5, 421)), response_kw=encode_curve(full),
            )
        )
    return plans


def build_demo_city(session: Session, settings: DRSettings) -> None:
    """Write the demo city into an empty database."""
    spec, reply_kinds = _demo_spec()
    build = write_city(session, spec, settings, customize=_pin_star_window_load)
    replay_past_events(build, _star_history_plans(build))
    session.add_all(_event_day_plans(build, reply_kinds))
