"""Seeded random cities: deterministic, within the stated sizes, and usable by the tools."""

from pathlib import Path

import pytest
from sqlmodel import Session, select

from sim_grid import create_city, read_clock
from sim_grid.city.random_city import random_spec
from sim_grid.models import Customer, District, Station
from tools import ToolContext, call_tool


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    path = tmp_path_factory.mktemp("random") / "seed11.db"
    return create_city(path, seed=11)


def test_random_spec_is_deterministic():
    first, second = random_spec(5), random_spec(5)
    assert [d.name for d in first.districts] == [d.name for d in second.districts]
    assert [c.user_id for d in first.districts for c in d.customers] == [c.user_id for d in second.districts for c in d.customers]
    assert first.event_day == second.event_day


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_random_spec_sizes(seed):
    spec = random_spec(seed)
    assert 3 <= len(spec.districts) <= 6
    for district in spec.districts:
        assert 2 <= len(district.stations) <= 4
        assert 50 <= len(district.customers) <= 300
    user_ids = [c.user_id for d in spec.districts for c in d.customers]
    assert len(set(user_ids)) == len(user_ids)
    assert all(len(u) == 6 and u.isdigit() for u in user_ids)


def test_random_city_builds_with_stations_and_customers(city):
    with Session(city) as session:
        districts = session.exec(select(District)).all()
        stations = session.exec(select(Station)).all()
        customers = session.exec(select(Customer)).all()
    assert 3 <= len(districts) <= 6
    assert len(stations) >= 2 * len(districts)
    assert len(customers) >= 50 * len(districts)


def test_random_city_deficit_warning_and_split(city, tmp_path):
    ctx = ToolContext(city, output_dir=tmp_path)
    warning = call_tool("get_deficit_warning", {"date": "tomorrow"}, ctx)
    assert warning["ok"] and warning["has_deficit"]
    assert warning["peak_gap_mw"] > 0

    split = call_tool("decompose_deficit", {"gap_mw": warning["peak_gap_mw"]}, ctx)
    assert split["ok"]
    assert round(sum(a["target_mw"] for a in split["allocations"]), 6) == warning["peak_gap_mw"]


def test_random_city_clock_is_day_before_event(city):
    spec = random_spec(11)
    assert (spec.event_day - read_clock(city).date()).days == 1
