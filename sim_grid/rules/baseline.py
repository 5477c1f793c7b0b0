"""Customer baseline load (基线负荷).

Rule: for each interval, the baseline is the mean load on the most recent normal workdays
before the event day (5 by default). A normal workday is a Monday-to-Friday that the
Chinese State Council calendar treats as a workday. Public holidays and make-up working
weekends (调休) are skipped, and so are the days of earlier events. Jiangsu's 2015
demand-response rules use the same 5-workday window. The calendar comes from the
`chinese-calendar` package, which covers the years it has published schedules for.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

import chinese_calendar
import numpy as np

# Stop walking back after this many calendar days: no real calendar needs more.
MAX_LOOKBACK_DAYS = 90


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
