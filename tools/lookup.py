"""Finding the dates, districts, customers and events a request names, or a Chinese error."""

from __future__ import annotations

import re
from datetime import date

from sqlmodel import Session, select

from sim_grid import InvalidDateError, resolve_date
from sim_grid.events import event_on
from sim_grid.models import Allocation, Customer, District, Event
from tools.errors import ToolError
from tools.text import day_label

USER_ID_PATTERN = re.compile(r"^\d{6}$")


def day_of(session: Session, reference: str) -> date:
    try:
        return resolve_date(session, reference)
    except InvalidDateError:
        raise ToolError(f"无法识别日期“{reference}”，请使用 today、tomorrow、yesterday 或 YYYY-MM-DD。") from None


def all_districts(session: Session) -> list[District]:
    return list(session.exec(select(District).order_by(District.id)).all())


def district_named(session: Session, name: str) -> District:
    """Match a full name (城南区) or a short name (城南)."""
    wanted = name.strip()
    districts = all_districts(session)
    for district in districts:
        if wanted in (district.name, district.short_name):
            return district
    choices = "、".join(d.name for d in districts)
    raise ToolError(f"未找到区域“{name}”，可选区域：{choices}。")


def optional_district(session: Session, name: str | None) -> District | None:
    return district_named(session, name) if name else None


def customer_with_id(session: Session, user_id: str) -> Customer:
    user_id = user_id.strip()
    if not USER_ID_PATTERN.match(user_id):
        raise ToolError(f"用户编号“{user_id}”无效，应为6位数字。")
    customer = session.exec(select(Customer).where(Customer.user_id == user_id)).first()
    if customer is None:
        raise ToolError(f"未找到用户“{user_id}”，请核对用户编号。")
    return customer


def event_of_day(session: Session, day: date) -> Event:
    event = event_on(session, day)
    if event is None:
        raise ToolError(f"{day_label(day)}没有需求响应事件，请先查询缺口并分解负荷。")
    return event


def district_allocation(session: Session, event: Event, district: District) -> Allocation | None:
    return session.exec(
        select(Allocation).where(
            Allocation.event_id == event.id, Allocation.district_id == district.id, Allocation.station_id == None  # noqa: E711
        )
    ).first()
