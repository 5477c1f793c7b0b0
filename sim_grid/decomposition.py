"""Weights of the decomposition methods, and the split of a target from districts down to customers.

sim_grid.rules.decompose states the rule, and this module reads the weights from the database.
Only contracted customers that have not opted out count for capacity, history and the
customer-level split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
from sqlalchemy import case
from sqlmodel import Session, col, func, select

from sim_grid.loads import baseline_matrix
from sim_grid.models import Customer, District, Event, Execution, Station
from sim_grid.responses import id_chunks
from sim_grid.rules import largest_remainder_split
from sim_grid.settings import DRSettings

DECOMPOSE_METHODS = ("mean", "capacity", "equal", "history")
_OWNER_COLUMNS = {"district": Customer.district_id, "station": Customer.station_id, "customer": Customer.id}


def _invitable():
    return (Customer.contracted == True, Customer.opted_out == False)  # noqa: E712


def capacity_weights(session: Session, level: str, ids: list[int]) -> list[float]:
    """Return the contracted declared kW of each district, station or customer."""
    column = _OWNER_COLUMNS[level]
    capacity = {}
    for chunk in id_chunks(ids):
        query = select(column, func.sum(Customer.declared_kw)).where(*_invitable(), col(column).in_(chunk)).group_by(column)
        capacity.update(dict(session.exec(query).all()))
    return [float(capacity.get(i) or 0.0) for i in ids]


def history_weights(session: Session, level: str, ids: list[int], day: date) -> list[float]:
    """Return the response (kW) each part's customers delivered in events settled before `day`.

    A negative delivered response (load rose in a peak event) counts as zero.
    """
    column = _OWNER_COLUMNS[level]
    delivered = case((Execution.reduction_kw > 0, Execution.reduction_kw), else_=0.0)
    history = {}
    for chunk in id_chunks(ids):
        query = (
            select(column, func.sum(delivered))
            .join(Execution, Execution.customer_id == Customer.id)
            .join(Event, Event.id == Execution.event_id)
            .where(*_invitable(), col(column).in_(chunk), Event.day < day)
            .group_by(column)
        )
        history.update(dict(session.exec(query).all()))
    return [float(history.get(i) or 0.0) for i in ids]


def mean_weights(
    session: Session, level: str, ids: list[int], day: date, window: tuple[int, int], settings: DRSettings
) -> list[float]:
    """Return each part's mean baseline load over `window`. A part without load history gets NaN."""
    start, end = window
    matrix = baseline_matrix(session, level, ids, day, settings, window=window)[:, start:end]
    return [float(v) for v in matrix.mean(axis=1)]


def part_weights(
    session: Session, level: str, ids: list[int], method: str, day: date, window: tuple[int, int], settings: DRSettings
) -> list[float]:
    """Return the weights of `method` for districts, stations or customers (level).

    With the mean method a part without load history gets NaN. Raises ValueError for an
    unknown method.
    """
    if method == "equal":
        return [1.0] * len(ids)
    if method == "capacity":
        return capacity_weights(session, level, ids)
    if method == "history":
        return history_weights(session, level, ids, day)
    if method == "mean":
        return mean_weights(session, level, ids, day, window, settings)
    raise ValueError(f"unknown decomposition method {method!r}; expected one of {', '.join(DECOMPOSE_METHODS)}")


@dataclass
class TargetPart:
    """One node of a decomposition: a district, a station or a customer with its target."""

    id: int
    name: str
    target: float  # MW for districts and stations, kW for customers
    parts: list[TargetPart] = field(default_factory=list)


def _split(weights: list[float], total: float, step: float) -> list[float]:
    """Split by weights. NaN weights count as zero, and all-zero weights split equally."""
    if not weights:
        return []
    weights = [0.0 if np.isnan(w) else w for w in weights]
    if sum(weights) <= 0:
        weights = [1.0] * len(weights)
    return largest_remainder_split(total, weights, step)


def decompose_targets(
    session: Session,
    day: date,
    total_mw: float,
    method: str,
    window: tuple[int, int],
    settings: DRSettings,
    customer_step_kw: float = 0.1,
) -> list[TargetPart]:
    """Split `total_mw` across districts, each share across its stations, and each station's
    share across its contracted customers, all by `method`.

    District and station targets are multiples of 0.1 MW, customer targets of
    customer_step_kw; at every level the parts sum exactly to their parent. Parts without
    data for the method (no load history for mean) get zero weight, and a group whose
    weights are all zero is split equally. Returns the district nodes.

    NOTE: nothing stores the customer targets yet; invitations and supervision still use
    each customer's declared kW as its target.
    """
    districts = list(session.exec(select(District).order_by(District.id)).all())
    stations = list(session.exec(select(Station).order_by(Station.id)).all())
    customers = list(session.exec(select(Customer).where(*_invitable()).order_by(Customer.user_id)).all())

    def weights_of(level: str, ids: list[int]) -> dict[int, float]:
        return dict(zip(ids, part_weights(session, level, ids, method, day, window, settings)))

    district_weight = weights_of("district", [d.id for d in districts])
    station_weight = weights_of("station", [s.id for s in stations])
    customer_weight = weights_of("customer", [c.id for c in customers])

    stations_by_district: dict[int, list[Station]] = {}
    for station in stations:
        stations_by_district.setdefault(station.district_id, []).append(station)
    customers_by_station: dict[int, list[Customer]] = {}
    for customer in customers:
        customers_by_station.setdefault(customer.station_id, []).append(customer)

    tree = []
    district_targets = _split([district_weight[d.id] for d in districts], total_mw, 0.1)
    for district, district_mw in zip(districts, district_targets):
        node = TargetPart(district.id, district.name, district_mw)
        members = stations_by_district.get(district.id, [])
        station_targets = _split([station_weight[s.id] for s in members], district_mw, 0.1)
        for station, station_mw in zip(members, station_targets):
            station_node = TargetPart(station.id, station.name, station_mw)
            group = customers_by_station.get(station.id, [])
            customer_targets = _split([customer_weight[c.id] for c in group], station_mw * 1000, customer_step_kw)
            station_node.parts = [TargetPart(c.id, c.user_id, kw) for c, kw in zip(group, customer_targets)]
            node.parts.append(station_node)
        tree.append(node)
    return tree
