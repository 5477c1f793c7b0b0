"""Reading load curves: stored history, baselines and clock-limited actual loads.

Ordinary days' curves are metered history, known in full once stored. On an event day the
stored row is the load without any response; a participant's response is subtracted on
reading. Intervals that have not ended by the clock read as NaN.

Bulk readers return arrays with one row per requested owner (customer, station or district),
so callers work on numpy arrays rather than on one database row at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

import numpy as np
from sqlmodel import Session, col, select

from sim_grid.clock import read_clock
from sim_grid.db import CURVE_DTYPE
from sim_grid.models import Customer, Event, LoadCurve
from sim_grid.responses import event_responses, id_chunks
from sim_grid.rules import adjustment_period, baseline_rule, day_of_adjustment_ratio, highest_days_mean, select_baseline_days
from sim_grid.settings import DRSettings

_LEVEL_COLUMNS = {
    "customer": LoadCurve.customer_id,
    "station": LoadCurve.station_id,
    "district": LoadCurve.district_id,
}


def intervals_elapsed(day: date, now: datetime, settings: DRSettings) -> int:
    """Return how many intervals of `day` have ended by `now`."""
    if day < now.date():
        return settings.intervals_per_day
    if day > now.date():
        return 0
    minutes = now.hour * 60 + now.minute
    return minutes // settings.interval_minutes


def interval_start(day: date, interval: int, settings: DRSettings) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(minutes=interval * settings.interval_minutes)


def curve_matrix(session: Session, level: str, ids: Sequence[int], days: Sequence[date], settings: DRSettings) -> np.ndarray:
    """Return stored curves with shape (len(ids), len(days), intervals), NaN where no row exists."""
    matrix = np.full((len(ids), len(days), settings.intervals_per_day), np.nan)
    if not ids or not days:
        return matrix
    column = _LEVEL_COLUMNS[level]
    row_of = {owner: i for i, owner in enumerate(ids)}
    day_of = {day: j for j, day in enumerate(days)}

    rows, cols, blobs = [], [], []
    for chunk in id_chunks(list(ids)):
        query = select(column, LoadCurve.day, LoadCurve.values).where(
            col(column).in_(chunk), col(LoadCurve.day).in_(list(days))
        )
        for owner, day, blob in session.exec(query):
            rows.append(row_of[owner])
            cols.append(day_of[day])
            blobs.append(blob)
    if blobs:
        values = np.frombuffer(b"".join(blobs), dtype=CURVE_DTYPE).reshape(len(blobs), -1)
        matrix[rows, cols] = values
    return matrix


def stored_curves(session: Session, level: str, ids: Iterable[int], days: Iterable[date]) -> dict[tuple[int, date], np.ndarray]:
    """Return the stored curves of the given ids and days, keyed by (id, day)."""
    column = _LEVEL_COLUMNS[level]
    ids, days = list(ids), list(days)
    result = {}
    for chunk in id_chunks(ids):
        if not days:
            break
        query = select(column, LoadCurve.day, LoadCurve.values).where(col(column).in_(chunk), col(LoadCurve.day).in_(days))
        for owner, day, blob in session.exec(query):
            result[(owner, day)] = np.frombuffer(blob, dtype=CURVE_DTYPE).astype(np.float64)
    return result


def event_days_before(session: Session, day: date) -> set[date]:
    return set(session.exec(select(Event.day).where(Event.day < day)).all())


def baseline_days_for(session: Session, day: date, settings: DRSettings, method: str = "recent") -> list[date]:
    """Return the candidate days of `day`'s baseline: normal workdays before it, skipping earlier events.

    NOTE: the day before an event is read in full even while the clock is still on it
    (a split made at 09:00 uses that afternoon), because ordinary days are stored whole.
    """
    rule = baseline_rule(method, settings)
    return select_baseline_days(day, event_days_before(session, day), rule.pool_days)


def baseline_matrix(
    session: Session,
    level: str,
    ids: Sequence[int],
    day: date,
    settings: DRSettings,
    *,
    method: str | None = None,
    window: tuple[int, int] | None = None,
    now: datetime | None = None,
) -> np.ndarray:
    """Return each id's baseline curve for `day` as rows of an (len(ids), intervals) array.

    The method and window default to those of the day's event, or else to
    settings.default_baseline_method and the whole day. Owners without stored history get
    NaN rows. The CAISO day-of adjustment applies only once its period has ended by `now`
    (default: the simulator clock); before that the unadjusted mean is returned.
    """
    event = session.exec(select(Event).where(Event.day == day)).first()
    if method is None:
        method = event.baseline_method if event else settings.default_baseline_method
    if window is None:
        window = (event.start_interval, event.end_interval) if event else (0, settings.intervals_per_day)

    rule = baseline_rule(method, settings)
    days = select_baseline_days(day, event_days_before(session, day), rule.pool_days)
    matrix = highest_days_mean(curve_matrix(session, level, ids, days, settings), window, rule.kept_days)

    if rule.day_of_adjustment and len(ids):
        period = adjustment_period(window[0], settings)
        now = now or read_clock(session)
        if period[1] > period[0] and intervals_elapsed(day, now, settings) >= period[1]:
            event_day = curve_matrix(session, level, ids, [day], settings)[:, 0, :]
            ratio = day_of_adjustment_ratio(matrix, event_day, period, settings.caiso_adjustment_cap_ratio)
            matrix = matrix * ratio[:, None]
    return matrix


def baselines(
    session: Session,
    level: str,
    ids: Iterable[int],
    day: date,
    settings: DRSettings,
    *,
    method: str | None = None,
    window: tuple[int, int] | None = None,
) -> dict[int, np.ndarray]:
    """Return each id's baseline curve for `day`; ids without stored history are left out."""
    ids = list(ids)
    matrix = baseline_matrix(session, level, ids, day, settings, method=method, window=window)
    return {owner: matrix[i] for i, owner in enumerate(ids) if not np.isnan(matrix[i]).all()}


def _actual_with_presence(
    session: Session, level: str, ids: Sequence[int], day: date, now: datetime, settings: DRSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Return the actual curves and, per row, whether a curve is stored for that owner and day."""
    matrix = curve_matrix(session, level, ids, [day], settings)[:, 0, :]
    stored = ~np.isnan(matrix).all(axis=1)
    row_of = {owner: i for i, owner in enumerate(ids)}
    if level == "customer":
        for customer_id, response in event_responses(session, day, now, settings, among=ids).items():
            matrix[row_of[customer_id]] -= response
    elif len(ids):
        # Station and district curves lose the responses of their own customers only.
        owner_column = Customer.station_id if level == "station" else Customer.district_id
        owner_of = {}
        for chunk in id_chunks(list(ids)):
            owner_of.update(dict(session.exec(select(Customer.id, owner_column).where(col(owner_column).in_(chunk))).all()))
        for customer_id, response in event_responses(session, day, now, settings, among=owner_of).items():
            matrix[row_of[owner_of[customer_id]]] -= response / 1000.0  # kW to MW

    known = intervals_elapsed(day, now, settings)
    matrix[:, known:] = np.nan
    return matrix, stored


def actual_matrix(
    session: Session, level: str, ids: Sequence[int], day: date, now: datetime, settings: DRSettings
) -> np.ndarray:
    """Return each id's actual curve of `day` as rows of an array, NaN for intervals not yet ended.

    Owners without a stored curve that day get NaN rows.
    """
    return _actual_with_presence(session, level, ids, day, now, settings)[0]


def actual_curves(
    session: Session, level: str, ids: Iterable[int], day: date, now: datetime, settings: DRSettings
) -> dict[int, np.ndarray]:
    """Return each id's actual curve of `day` with NaN for intervals not yet ended.

    Ids without a stored curve that day are left out.
    """
    ids = list(ids)
    matrix, stored = _actual_with_presence(session, level, ids, day, now, settings)
    return {owner: matrix[i] for i, owner in enumerate(ids) if stored[i]}
