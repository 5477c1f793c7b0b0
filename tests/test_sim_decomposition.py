"""Decomposition: largest-remainder properties, the history method and district → station → customer targets.

The database tests run on SQLite and on PostgreSQL (see tests/city_stores.py).
"""

import math
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session, delete, select

from sim_grid import DRSettings
from sim_grid.decomposition import decompose_targets, history_weights
from sim_grid.models import Customer, District, Event, Execution
from sim_grid.rules import largest_remainder_split
from tests.city_stores import city_store  # noqa: F401  (fixture)
from tools import ToolContext, call_tool

EVENT_DAY = date(2026, 6, 24)  # the demo city's event day
WINDOW = (56, 72)


@settings(max_examples=300, deadline=None)
@given(
    total=st.floats(0.1, 5000, allow_nan=False),
    weights=st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=40).filter(lambda w: sum(w) > 0),
    step=st.sampled_from([0.1, 0.01, 1.0]),
)
def test_split_sums_exactly_to_rounded_total(total, weights, step):
    parts = largest_remainder_split(total, weights, step)
    units = [round(p / step) for p in parts]

    assert len(parts) == len(weights)
    assert sum(units) == round(total / step)
    for part, unit in zip(parts, units):
        assert part == pytest.approx(unit * step)
        assert unit >= 0
    # Each part is its exact quota rounded down or up by one step.
    exact = [round(total / step) * w / sum(weights) for w in weights]
    for unit, quota in zip(units, exact):
        assert math.floor(quota + 1e-9) <= unit <= math.floor(quota + 1e-9) + 1


@pytest.fixture(scope="module")
def demo(city_store) -> str:
    return city_store.create("decompose")


@pytest.fixture
def ctx(city_store, demo, tmp_path):
    context = ToolContext(city_store.copy(demo, "city"), output_dir=tmp_path)
    yield context
    context.engine.dispose()


def _positive_reductions_by_district(session: Session) -> dict[str, float]:
    """Sum each district's positive settled reductions before the event day, row by row."""
    totals: dict[str, float] = {}
    rows = session.exec(
        select(District.name, Execution.reduction_kw, Customer.contracted, Customer.opted_out, Event.day)
        .join(Customer, Customer.id == Execution.customer_id)
        .join(District, District.id == Customer.district_id)
        .join(Event, Event.id == Execution.event_id)
    ).all()
    for name, reduction, contracted, opted_out, day in rows:
        if contracted and not opted_out and day < EVENT_DAY:
            totals[name] = totals.get(name, 0.0) + max(reduction, 0.0)
    return totals


def test_history_method_follows_past_delivered_reduction(ctx):
    result = call_tool("decompose_deficit", {"gap_mw": 40, "method": "history"}, ctx)
    assert result["ok"], result
    shares = {a["name"]: a["target_mw"] for a in result["allocations"]}

    with Session(ctx.engine) as session:
        delivered = _positive_reductions_by_district(session)
    names = list(shares)
    expected = largest_remainder_split(40, [delivered[name] for name in names])
    assert [shares[name] for name in names] == expected
    assert round(sum(shares.values()), 6) == 40.0
    assert "按历史响应" in result["summary"]


def test_history_weights_match_row_by_row_sums(ctx):
    with Session(ctx.engine) as session:
        districts = session.exec(select(District).order_by(District.id)).all()
        weights = history_weights(session, "district", [d.id for d in districts], EVENT_DAY)
        delivered = _positive_reductions_by_district(session)
    for district, weight in zip(districts, weights):
        assert weight == pytest.approx(delivered[district.name])


def test_history_method_without_past_events_is_chinese_error(ctx):
    with Session(ctx.engine) as session:
        session.exec(delete(Execution))
        session.commit()
    result = call_tool("decompose_deficit", {"gap_mw": 40, "method": "history"}, ctx)
    assert result["ok"] is False
    assert "没有已结算的需求响应记录" in result["error"]


@pytest.mark.parametrize("method", ["mean", "capacity", "equal", "history"])
def test_targets_sum_exactly_at_every_level(ctx, method):
    with Session(ctx.engine) as session:
        tree = decompose_targets(session, EVENT_DAY, 40.0, method, WINDOW, DRSettings())

    assert sum(round(d.target * 10) for d in tree) == 400
    for district in tree:
        assert sum(round(s.target * 10) for s in district.parts) == round(district.target * 10)
        for station in district.parts:
            customer_units = [round(c.target * 10) for c in station.parts]  # 0.1 kW steps
            if station.parts:
                assert sum(customer_units) == round(station.target * 10000)
            assert all(u >= 0 for u in customer_units)


def test_mean_targets_give_demo_district_shares(ctx):
    # The demo's district window loads are in the ratio 20:30:25:25, so 40 MW splits 8/12/10/10.
    with Session(ctx.engine) as session:
        tree = decompose_targets(session, EVENT_DAY, 40.0, "mean", WINDOW, DRSettings())
    assert [d.target for d in tree] == [8.0, 12.0, 10.0, 10.0]


def test_capacity_targets_follow_declared_kw(ctx):
    with Session(ctx.engine) as session:
        tree = decompose_targets(session, EVENT_DAY, 40.0, "capacity", WINDOW, DRSettings())
        declared = {c.id: c.declared_kw for c in session.exec(select(Customer)).all()}
    station = max((s for d in tree for s in d.parts), key=lambda s: len(s.parts))
    total_kw = sum(declared[c.id] for c in station.parts)
    for customer in station.parts:
        exact = station.target * 1000 * declared[customer.id] / total_kw
        assert abs(customer.target - exact) <= 0.1 + 1e-6
