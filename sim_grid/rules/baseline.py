"""Customer baseline load (基线负荷).

A baseline estimates, per interval, the load a customer would have drawn on the event day
without responding. It is built from normal workdays before the event day: Monday-to-Friday
days that the Chinese State Council calendar treats as workdays. Public holidays and make-up
working weekends (调休) are skipped, and so are the days of earlier events. The calendar comes
from the `chinese-calendar` package, which covers the years it has published schedules for.

Methods (settings.BaselineMethod; their day counts are DRSettings fields):
- recent: the mean of the 5 most recent normal workdays. Jiangsu's 2015 demand-response rules
  use this window.
- high_5_of_10: of the 10 most recent normal workdays, the 5 with the highest mean load over the
  event window are averaged (the method Beijing's programme uses).
- caiso_10_in_10: the mean of the 10 most recent normal workdays times a day-of adjustment. The
  adjustment is the event day's actual load divided by that mean over a period shortly before
  the event (by default the 3 hours ending 1 hour before the start), clipped to 1 ± 20%.
  NOTE: that default period is not checked against CAISO's current tariff (settings can change it).
- pjm_high_4_of_5: of the 5 most recent normal workdays, the 4 with the highest mean window load
  are averaged. PJM's rule uses weekdays without US holidays; here Chinese holidays are skipped.

The "highest" days are the highest-load days for valley-filling events too.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar
import numpy as np

from sim_grid.settings import DRSettings

# Stop walking back after this many calendar days: no real calendar needs more.
MAX_LOOKBACK_DAYS = 90


@dataclass(frozen=True)
class BaselineRule:
    """Day counts of a baseline method, and whether it applies a day-of adjustment."""

    pool_days: int  # most recent normal workdays considered
    kept_days: int  # days with the highest mean window load that are averaged
    day_of_adjustment: bool


def baseline_rule(method: str, settings: DRSettings) -> BaselineRule:
    """Return the day counts of a baseline method. Raises ValueError for an unknown method."""
    if method == "recent":
        return BaselineRule(settings.baseline_days, settings.baseline_days, False)
    if method == "high_5_of_10":
        return BaselineRule(settings.high_baseline_pool_days, settings.high_baseline_kept_days, False)
    if method == "caiso_10_in_10":
        return BaselineRule(settings.caiso_baseline_days, settings.caiso_baseline_days, True)
    if method == "pjm_high_4_of_5":
        return BaselineRule(settings.pjm_pool_days, settings.pjm_kept_days, False)
    raise ValueError(f"unknown baseline method {method!r}; expected recent, high_5_of_10, caiso_10_in_10 or pjm_high_4_of_5")


def is_normal_workday(day: date) -> bool:
    """Return True for a weekday that is an official workday (not a holiday)."""
    return day.weekday() < 5 and chinese_calendar.is_workday(day)


def select_baseline_days(event_day: date, excluded_days: Collection[date], count: int) -> list[date]:
    """Return the `count` most recent normal workdays before `event_day`, newest first.

    Days in `excluded_days` (earlier event days) are skipped. Returns fewer days when the
    lookback of MAX_LOOKBACK_DAYS runs out.
    """
    days: list[date] = []
    day = event_day
    for _ in range(MAX_LOOKBACK_DAYS):
        day -= timedelta(days=1)
        if day in excluded_days or not is_normal_workday(day):
            continue
        days.append(day)
        if len(days) == count:
            break
    return days


def baseline_curve(day_curves: list[np.ndarray]) -> np.ndarray:
    """Average the curves of the baseline days interval by interval."""
    if not day_curves:
        raise ValueError("no baseline day curves to average")
    return np.mean(np.stack(day_curves), axis=0)


def highest_days_mean(day_curves: np.ndarray, window: tuple[int, int], kept_days: int) -> np.ndarray:
    """Average, per owner, the `kept_days` days with the highest mean load over `window`.

    day_curves has shape (owners, days, intervals) with NaN rows for days without data, and
    the days ordered newest first. Ties keep the more recent day. Returns shape (owners,
    intervals); an owner without any data gets a NaN row.
    """
    candidates = day_curves
    if kept_days < day_curves.shape[1]:
        start, end = window
        window_mean = day_curves[:, :, start:end].mean(axis=2)
        ranked = np.where(np.isnan(window_mean), -np.inf, window_mean)
        order = np.argsort(-ranked, axis=1, kind="stable")[:, :kept_days]
        candidates = np.take_along_axis(day_curves, order[:, :, None], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN owners: no history
        return np.nanmean(candidates, axis=1)


def adjustment_period(start_interval: int, settings: DRSettings) -> tuple[int, int]:
    """Return the [begin, end) intervals of the day-of adjustment before an event start."""
    per_hour = 60 // settings.interval_minutes
    end = max(start_interval - round(settings.caiso_adjustment_gap_hours * per_hour), 0)
    begin = max(end - round(settings.caiso_adjustment_hours * per_hour), 0)
    return begin, end


def day_of_adjustment_ratio(
    baseline: np.ndarray, actual: np.ndarray, period: tuple[int, int], cap_ratio: float
) -> np.ndarray:
    """Return each owner's actual / baseline mean load over `period`, clipped to 1 ± cap_ratio.

    baseline and actual have shape (owners, intervals). An owner whose ratio is undefined (no
    data, or a zero baseline) gets 1, i.e. no adjustment.
    """
    begin, end = period
    if end <= begin:
        return np.ones(baseline.shape[0])
    baseline_mean = baseline[:, begin:end].mean(axis=1)
    actual_mean = actual[:, begin:end].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = actual_mean / baseline_mean
    ratio = np.where(np.isfinite(ratio) & (baseline_mean > 0), ratio, 1.0)
    return np.clip(ratio, 1.0 - cap_ratio, 1.0 + cap_ratio)
