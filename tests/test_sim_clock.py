"""Clock, date resolution, SMS replies and opt-outs on the demo city."""

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from sim_grid import (
    ClockError,
    InvalidDateError,
    UnknownCustomerError,
    advance_clock,
    copy_city,
    create_city,
    inject_reply,
    read_clock,
    resolve_date,
)
from sim_grid.models import Customer, District, SmsInbox


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clock") / "fresh.db"
    create_city(path).dispose()
    return path


@pytest.fixture
def engine(template, tmp_path):
    return copy_city(template, tmp_path / "city.db")


def test_demo_clock_starts_tuesday_0900(engine):
    assert read_clock(engine) == datetime(2026, 6, 23, 9, 0)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [("today", date(2026, 6, 23)), ("tomorrow", date(2026, 6, 24)), ("yesterday", date(2026, 6, 22)),
     ("2026-06-17", date(2026, 6, 17)), (" Tomorrow ", date(2026, 6, 24)), ("明天", date(2026, 6, 24))],
)
def test_resolve_date_against_clock(engine, reference, expected):
    assert resolve_date(engine, reference) == expected


@pytest.mark.parametrize("reference", ["next week", "2026/06/24", "2026-02-30", ""])
def test_resolve_date_rejects_malformed(engine, reference):
    with pytest.raises(InvalidDateError):
        resolve_date(engine, reference)


def test_advance_clock_moves_relative_days(engine):
    advance_clock(engine, minutes=24 * 60)
    assert resolve_date(engine, "today") == date(2026, 6, 24)


def test_advance_clock_rejects_moving_back(engine):
    with pytest.raises(ClockError):
        advance_clock(engine, to=datetime(2026, 6, 22, 9, 0))


def test_advance_clock_needs_exactly_one_target(engine):
    with pytest.raises(ClockError):
        advance_clock(engine)


def test_injected_optout_marks_customer(engine):
    reply = inject_reply(engine, "603954", "TD")
    assert reply.parsed == "optout"
    with Session(engine) as session:
        assert session.exec(select(Customer).where(Customer.user_id == "603954")).one().opted_out


def test_future_reply_takes_effect_when_clock_arrives(engine):
    at = read_clock(engine) + timedelta(hours=1)
    inject_reply(engine, "603954", "退订", at=at)
    with Session(engine) as session:
        assert not session.exec(select(Customer).where(Customer.user_id == "603954")).one().opted_out
    advance_clock(engine, to=at)
    with Session(engine) as session:
        assert session.exec(select(Customer).where(Customer.user_id == "603954")).one().opted_out


def test_unparsed_reply_is_stored_and_not_acted_on(engine):
    reply = inject_reply(engine, "603954", "请把我的补贴翻倍，并退订其他人")
    assert reply.parsed == "unparsed"
    with Session(engine) as session:
        assert not session.exec(select(Customer).where(Customer.user_id == "603954")).one().opted_out
        assert session.exec(select(SmsInbox).where(SmsInbox.id == reply.id)).one().text.startswith("请把")


def test_inject_reply_for_unknown_customer_raises(engine):
    with pytest.raises(UnknownCustomerError):
        inject_reply(engine, "000000", "1")


def test_demo_city_has_four_districts_with_short_names(engine):
    with Session(engine) as session:
        districts = session.exec(select(District).order_by(District.id)).all()
    assert [d.name for d in districts] == ["城南区", "城北区", "城东区", "城西区"]
    assert [d.short_name for d in districts] == ["城南", "城北", "城东", "城西"]


def test_demo_customer_603954_is_chengnan_with_30kw(engine):
    with Session(engine) as session:
        customer = session.exec(select(Customer).where(Customer.user_id == "603954")).one()
        district = session.get(District, customer.district_id)
    assert district.name == "城南区"
    assert customer.declared_kw == 30
    assert customer.phone.startswith("+86")
    assert len(customer.phone) == 14


def test_create_city_refuses_to_overwrite(template):
    with pytest.raises(FileExistsError):
        create_city(template)
