"""Supply deficit (负荷缺口).

Rule: per interval, gap = forecast load + reserve margin − available supply (MW). The
deficit window is the run of consecutive intervals with a positive gap; where several
runs exist, the one holding the largest gap. The deficit's size is that peak gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DeficitWindow:
    start_interval: int  # first interval with a positive gap
    end_interval: int  # one past the last interval with a positive gap
    peak_mw: float
    peak_interval: int


def deficit_per_interval(forecast_mw: np.ndarray, supply_mw: np.ndarray, reserve_margin_mw: float) -> np.ndarray:
    return forecast_mw + reserve_margin_mw - supply_mw


def find_deficit_window(gap_mw: np.ndarray) -> DeficitWindow | None:
    """Return the positive run around the largest gap, or None when no gap is positive."""
    peak_interval = int(np.argmax(gap_mw))
    if gap_mw[peak_interval] <= 0:
        return None

    start = peak_interval
    while start > 0 and gap_mw[start - 1] > 0:
        start -= 1
    end = peak_interval + 1
    while end < len(gap_mw) and gap_mw[end] > 0:
        end += 1

    return DeficitWindow(start, end, float(gap_mw[peak_interval]), peak_interval)
