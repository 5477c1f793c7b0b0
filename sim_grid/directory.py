"""Looking up districts and customers by name or id."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from sim_grid.errors import UnknownDistrictError
from sim_grid.models import Customer, District


def list_districts(engine: Engine) -> list[str]:
    """Return the full district names in creation order."""
    with Session(engine) as session:
        return list(session.exec(select(District.name).order_by(District.id)).all())


def resolve_district(engine: Engine, name: str) -> str:
    """Return the full name for a full (城南区) or short (城南) district name.

    Raises UnknownDistrictError listing the known names when nothing matches.
    """
    wanted = name.strip()
    with Session(engine) as session:
        districts = session.exec(select(District).order_by(District.id)).all()
    for district in districts:
        if wanted in (district.name, district.short_name):
            return district.name
    raise UnknownDistrictError(name, [d.name for d in districts])


def list_customer_ids(
    engine: Engine, district: str | None = None, contracted: bool | None = None, opted_out: bool | None = None
) -> list[str]:
    """Return customers' 6-digit user ids, sorted, optionally filtered by district and flags."""
    query = select(Customer.user_id)
    if district is not None:
        full_name = resolve_district(engine, district)
        query = query.join(District, District.id == Customer.district_id).where(District.name == full_name)
    if contracted is not None:
        query = query.where(Customer.contracted == contracted)
    if opted_out is not None:
        query = query.where(Customer.opted_out == opted_out)
    with Session(engine) as session:
        return sorted(session.exec(query).all())
