"""Event rules on stored cities: per-event baseline methods, valley events, supervision, forecast error.

Every test runs on SQLite and on PostgreSQL (see tests/city_stores.py).
"""

from datetime import date, datetime, timedelta

import numpy as np
import pytest
from sqlmodel import Session, select

from sim_grid import DRSettings, advance_clock, read_clock
from sim_grid.city.random_city import random_spec
from sim_grid.db import decode_curve
from sim_grid.loads import baselines, event_days_before, stored_curves
from sim_grid.models import Customer, District, Event, Execution, LoadCurve, ResponsePlan, SmsOutbox, SystemForecast
from sim_grid.responses import delivered_responses
from sim_grid.rules import select_baseline_days
from tests.city_stores import city_store  # noqa: F401  (fixture)
from tools import ToolContext, call_tool

DEMO_EVENT_DAY = date(2026, 6, 24)
STAR_USER_ID = "603954"
RANDOM_SEED = 11


@pytest.fixture(scope="module")
def demo(city_store) -> str:
    return city_store.create("rules_demo")


@pytest.fixture(scope="module")
def random_city(city_store) -> str:
    return city_store.create("rules_random", seed=RANDOM_SEED)


def _context(city_store, template, tmp_path) -> ToolContext:
    return ToolContext(city_store.copy(template, "city"), output_dir=tmp_path)


def _call(ctx, name, **arguments):
    result = call_tool(name, arguments, ctx)
    assert result["ok"], result
    return result


def _plan_event(ctx, method: str | None = None, direction: str | None = None) -> Event:
    """Split tomorrow's deficit (creating the event), then set its baseline method or direction."""
    warning = _call(ctx, "get_deficit_warning", date="tomorrow")
    _call(ctx, "decompose_deficit", gap_mw=warning["peak_gap_mw"])
    with Session(ctx.engine, expire_on_commit=False) as session:
        event = session.exec(select(Event).order_by(Event.day.desc())).first()
        event.baseline_method = method or event.baseline_method
        event.direction = direction or event.direction
        session.add(event)
        session.commit()
        return event


def _notify_all(ctx) -> None:
    with Session(ctx.engine) as session:
        names = session.exec(select(District.name).order_by(District.id)).all()
    for name in names:
        _call(ctx, "send_dr_notification", district=name)


def _star_id(session: Session) -> int:
    return session.exec(select(Customer.id).where(Customer.user_id == STAR_USER_ID)).one()


def test_event_baseline_method_high_5_of_10(city_store, demo, tmp_path):
    ctx = _context(city_store, demo, tmp_path)
    _plan_event(ctx, method="high_5_of_10")
    with Session(ctx.engine) as session:
        star = _star_id(session)
        baseline = baselines(session, "customer", [star], DEMO_EVENT_DAY, DRSettings())[star]

        # By hand: take the ten normal workdays before the event that are no earlier event days
        # and rank them by mean 14:00-18:00 load. The five highest are averaged per interval.
        pool = select_baseline_days(DEMO_EVENT_DAY, event_days_before(session, DEMO_EVENT_DAY), 10)
        curves = stored_curves(session, "customer", [star], pool)
    ranked = sorted(pool, key=lambda d: -curves[(star, d)][56:72].mean())
    expected = np.mean([curves[(star, d)] for d in ranked[:5]], axis=0)
    np.testing.assert_allclose(baseline, expected, rtol=1e-9)
    ctx.engine.dispose()


def test_caiso_adjustment_applies_once_its_period_has_ended(city_store, demo, tmp_path):
    ctx = _context(city_store, demo, tmp_path)
    _plan_event(ctx, method="caiso_10_in_10")
    with Session(ctx.engine) as session:
        star = _star_id(session)
        pool = select_baseline_days(DEMO_EVENT_DAY, event_days_before(session, DEMO_EVENT_DAY), 10)
        curves = stored_curves(session, "customer", [star], pool + [DEMO_EVENT_DAY])
        before = baselines(session, "customer", [star], DEMO_EVENT_DAY, DRSettings())[star]
    ten_day_mean = np.mean([curves[(star, d)] for d in pool], axis=0)
    np.testing.assert_allclose(before, ten_day_mean, rtol=1e-9)  # 09:00 the day before: no adjustment yet

    advance_clock(ctx.engine, to=datetime(2026, 6, 24, 13, 0))
    with Session(ctx.engine) as session:
        after = baselines(session, "customer", [star], DEMO_EVENT_DAY, DRSettings())[star]
    # Ratio of the event day's 10:00-13:00 load (intervals 40-51) to the ten-day mean, within ±20%.
    ratio = curves[(star, DEMO_EVENT_DAY)][40:52].mean() / ten_day_mean[40:52].mean()
    np.testing.assert_allclose(after, ten_day_mean * np.clip(ratio, 0.8, 1.2), rtol=1e-9)
    ctx.engine.dispose()


def test_valley_event_settles_load_increase(city_store, random_city, tmp_path):
    ctx = _context(city_store, random_city, tmp_path)
    event = _plan_event(ctx, direction="valley")
    _notify_all(ctx)
    end = datetime.combine(event.day, datetime.min.time()) + timedelta(minutes=15 * event.end_interval + 30)
    advance_clock(ctx.engine, to=end)

    with Session(ctx.engine) as session:
        rows = session.exec(
            select(Execution, ResponsePlan)
            .join(ResponsePlan, (ResponsePlan.customer_id == Execution.customer_id) & (ResponsePlan.day == event.day))
            .where(Execution.event_id == event.id)
        ).all()
    assert len(rows) > 20
    for execution, plan in rows:
        planned = decode_curve(plan.response_kw)[event.start_interval : event.end_interval]
        assert planned.max() <= 0.0  # a valley participant plans to raise its load
        # The event-day curve equals the baseline inside the window, so the settled increase
        # is the planned one (float32 storage limits the match).
        assert execution.reduction_kw == pytest.approx(-planned.mean(), abs=0.05)
    qualified = sum(execution.qualified for execution, _ in rows)
    assert qualified / len(rows) > 0.6
    ctx.engine.dispose()


def test_supervision_raises_reacting_customers_response(city_store, random_city, tmp_path):
    ctx = _context(city_store, random_city, tmp_path)
    event = _plan_event(ctx)
    _notify_all(ctx)
    start = datetime.combine(event.day, datetime.min.time()) + timedelta(minutes=15 * event.start_interval)
    advance_clock(ctx.engine, to=start + timedelta(hours=1))
    sent = _call(ctx, "send_supervision_sms", date="today")
    assert sent["sent"] > 0
    advance_clock(ctx.engine, to=start + timedelta(hours=1, minutes=59))

    settings = DRSettings()
    with Session(ctx.engine) as session:
        now = read_clock(session)
        stored_event = session.get(Event, event.id)
        responses = delivered_responses(session, stored_event, now, settings)
        supervised = session.exec(
            select(SmsOutbox.customer_id, SmsOutbox.deliver_at, SmsOutbox.status).where(
                SmsOutbox.event_id == event.id, SmsOutbox.kind == "supervision"
            )
        ).all()
        plans = {p.customer_id: p for p in session.exec(select(ResponsePlan).where(ResponsePlan.day == event.day)).all()}

    reacted = 0
    for customer_id, delivered_at, status in supervised:
        plan = plans[customer_id]
        planned = decode_curve(plan.response_kw)
        response = responses[customer_id]
        if plan.supervision_reaction_minutes is None or status != "delivered":
            np.testing.assert_allclose(response, planned)
            continue
        reacts_at = delivered_at + timedelta(minutes=plan.supervision_reaction_minutes)
        first = -(-int((reacts_at - datetime.combine(event.day, datetime.min.time())).total_seconds() // 60) // 15)
        np.testing.assert_allclose(response[:first], planned[:first])
        assert (response[first : event.end_interval] >= plan.supervised_response_kw - 1e-6).all()
        reacted += 1
    assert reacted > 0
    ctx.engine.dispose()


def test_random_city_forecast_misses_metered_load(city_store, random_city, tmp_path):
    ctx = _context(city_store, random_city, tmp_path)
    day = random_spec(RANDOM_SEED).event_day
    with Session(ctx.engine) as session:
        forecast = session.exec(select(SystemForecast).where(SystemForecast.day == day)).one()
        district_curves = session.exec(
            select(LoadCurve.values).where(LoadCurve.day == day, LoadCurve.district_id != None)  # noqa: E711
        ).all()
    metered = np.sum([decode_curve(blob) for blob in district_curves], axis=0)
    error = decode_curve(forecast.forecast_mw) / metered - 1.0
    assert 0.002 < np.std(error) < 0.08  # configured SD 2%
    # The warning is computed on the forecast, so it still shows the drawn gap.
    warning = _call(ctx, "get_deficit_warning", date="tomorrow")
    assert warning["peak_gap_mw"] == pytest.approx(float(random_spec(RANDOM_SEED).gap_mw.max()), abs=0.05)
    ctx.engine.dispose()


def test_demo_forecast_has_no_error(city_store, demo, tmp_path):
    ctx = _context(city_store, demo, tmp_path)
    with Session(ctx.engine) as session:
        forecast = session.exec(select(SystemForecast).where(SystemForecast.day == DEMO_EVENT_DAY)).one()
        district_curves = session.exec(
            select(LoadCurve.values).where(LoadCurve.day == DEMO_EVENT_DAY, LoadCurve.district_id != None)  # noqa: E711
        ).all()
    metered = np.sum([decode_curve(blob) for blob in district_curves], axis=0)
    np.testing.assert_allclose(decode_curve(forecast.forecast_mw), metered, rtol=1e-5)
    ctx.engine.dispose()
