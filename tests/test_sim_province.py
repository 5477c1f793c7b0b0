"""A small province-sized base: consistent grid curves, settled past events, working tools.

Every test runs on SQLite and on PostgreSQL (see tests/city_stores.py).
"""

from datetime import datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from sim_grid import DRSettings, advance_clock, create_province, open_city, read_clock
from sim_grid.behaviour import draw_plan
from sim_grid.clock import city_seed
from sim_grid.db import decode_curve
from sim_grid.events import live_progress
from sim_grid.models import Customer, District, Event, Execution, LoadCurve, ResponsePlan, SmsOutbox, Station
from tests.city_stores import city_store  # noqa: F401  (fixture)
from tools import ToolContext, call_tool

CUSTOMERS = 300
HISTORY_DAYS = 30


@pytest.fixture(scope="module")
def province(city_store) -> str:
    location = city_store.empty("province")
    create_province(location, seed=4, customers=CUSTOMERS, history_days=HISTORY_DAYS, progress=False).dispose()
    return location


@pytest.fixture(scope="module")
def engine(province):
    engine = open_city(province)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def event_hour(city_store, tmp_path_factory):
    """The same province one hour into tomorrow's event, every district invited at 09:00.

    It is built afresh, not copied: a PostgreSQL copy needs a source without open connections,
    and the module's ``engine`` keeps the province open.
    """
    location = city_store.empty("event_hour")
    create_province(location, seed=4, customers=CUSTOMERS, history_days=HISTORY_DAYS, progress=False).dispose()
    engine = open_city(location)
    city_store.engines.append(engine)
    ctx = ToolContext(engine, output_dir=tmp_path_factory.mktemp("charts"))
    warning = call_tool("get_deficit_warning", {"date": "tomorrow"}, ctx)
    assert call_tool("decompose_deficit", {"gap_mw": warning["peak_gap_mw"]}, ctx)["ok"]
    with Session(engine) as session:
        districts = session.exec(select(District.name).order_by(District.id)).all()
    for district in districts:
        assert call_tool("send_dr_notification", {"district": district}, ctx)["ok"]

    with Session(engine) as session:
        event = session.exec(select(Event).order_by(Event.day.desc())).first()
    start = datetime.combine(event.day, datetime.min.time()) + timedelta(minutes=15 * event.start_interval)
    advance_clock(engine, to=start + timedelta(hours=1))
    return ctx


def test_province_sizes(engine):
    with Session(engine) as session:
        customers = session.exec(select(func.count()).select_from(Customer)).one()
        customer_curves = session.exec(select(func.count()).select_from(LoadCurve).where(LoadCurve.customer_id != None)).one()  # noqa: E711
        districts = session.exec(select(func.count()).select_from(District)).one()
    assert customers == CUSTOMERS
    assert customer_curves == CUSTOMERS * HISTORY_DAYS
    assert districts >= 3


def test_district_curve_is_sum_of_its_stations(engine):
    with Session(engine) as session:
        district = session.exec(select(District).order_by(District.id)).first()
        day = session.exec(select(func.max(LoadCurve.day))).one()
        district_mw = decode_curve(
            session.exec(select(LoadCurve.values).where(LoadCurve.district_id == district.id, LoadCurve.day == day)).one()
        )
        station_blobs = session.exec(
            select(LoadCurve.values)
            .join(Station, Station.id == LoadCurve.station_id)
            .where(Station.district_id == district.id, LoadCurve.day == day)
        ).all()
    np.testing.assert_allclose(district_mw, np.sum([decode_curve(b) for b in station_blobs], axis=0), rtol=1e-5)


def test_station_curve_covers_its_customers(engine):
    with Session(engine) as session:
        station = session.exec(select(Station).order_by(Station.id)).first()
        day = session.exec(select(func.max(LoadCurve.day))).one()
        station_mw = decode_curve(
            session.exec(select(LoadCurve.values).where(LoadCurve.station_id == station.id, LoadCurve.day == day)).one()
        )
        customer_blobs = session.exec(
            select(LoadCurve.values)
            .join(Customer, Customer.id == LoadCurve.customer_id)
            .where(Customer.station_id == station.id, LoadCurve.day == day)
        ).all()
    customers_mw = np.sum([decode_curve(b) for b in customer_blobs], axis=0) / 1000
    assert (station_mw > customers_mw).all()  # plus the load outside the programme


def test_past_events_are_settled(engine):
    with Session(engine) as session:
        done = session.exec(select(func.count()).select_from(Event).where(Event.status == "done")).one()
        executions = session.exec(select(func.count()).select_from(Execution)).one()
    assert done >= 1
    assert executions > 0


def test_tools_answer_on_province(engine, tmp_path):
    ctx = ToolContext(engine, output_dir=tmp_path)
    warning = call_tool("get_deficit_warning", {"date": "tomorrow"}, ctx)
    assert warning["ok"] and warning["has_deficit"]

    with Session(engine) as session:
        user_id = session.exec(select(Customer.user_id).join(Execution, Execution.customer_id == Customer.id)).first()
    execution = call_tool("get_user_execution", {"user_id": user_id}, ctx)
    assert execution["ok"] and execution["participated"]

    curve = call_tool("get_load_curve", {"user_id": user_id, "date": "yesterday"}, ctx)
    assert curve["ok"] and curve["known_intervals"] == 96


def test_province_refuses_to_overwrite(province):
    with pytest.raises(FileExistsError):
        create_province(province, customers=CUSTOMERS, history_days=HISTORY_DAYS, progress=False)


def test_province_rejects_tiny_sizes(tmp_path):
    with pytest.raises(ValueError, match="at least 100 customers"):
        create_province(tmp_path / "tiny.db", customers=10, progress=False)


def test_invitation_batches_store_drawn_plans(event_hour):
    with Session(event_hour.engine) as session:
        event = session.exec(select(Event).order_by(Event.day.desc())).first()
        invited = session.exec(
            select(Customer).join(SmsOutbox, SmsOutbox.customer_id == Customer.id).where(SmsOutbox.event_id == event.id)
        ).all()
        plans = {p.customer_id: p for p in session.exec(select(ResponsePlan).where(ResponsePlan.day == event.day)).all()}
        seed = city_seed(session)
    assert len(invited) > 0
    assert sorted(plans) == sorted(c.id for c in invited)
    for customer in invited:
        expected = draw_plan(seed, customer, event, DRSettings())
        assert plans[customer.id].reply_kind == expected.reply_kind
        assert plans[customer.id].reply_delay_minutes == expected.reply_delay_minutes
        assert plans[customer.id].response_kw == expected.response_kw


def test_live_progress_below_rate_keeps_underperformers(event_hour):
    settings = DRSettings()
    with Session(event_hour.engine) as session:
        event = session.exec(select(Event).order_by(Event.day.desc())).first()
        now = read_clock(session)
        everyone = live_progress(session, event, now, settings)
        below = live_progress(session, event, now, settings, below_rate=settings.qualify_rate_min)
    expected = [(p.customer.user_id, p.rate, p.target_kw) for p in everyone if p.rate < settings.qualify_rate_min]
    assert 0 < len(below) < len(everyone)
    assert [(p.customer.user_id, p.rate, p.target_kw) for p in below] == expected


def test_count_replies_of_base_sums_districts(event_hour):
    whole = call_tool("count_replies", {"date": "today"}, event_hour)
    parts = [call_tool("count_replies", {"date": "today", "district": name}, event_hour) for name in whole["districts"]]
    assert whole["ok"]
    assert len(parts) >= 3
    for field in ("invited", "yes", "no", "opted_out", "not_replied"):
        assert whole[field] == sum(part[field] for part in parts), field
    # Each figure is rounded to 0.001 MW.
    assert whole["expected_mw"] == pytest.approx(sum(part["expected_mw"] for part in parts), abs=0.0005 * (len(parts) + 1))
