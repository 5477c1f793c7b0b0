"""Execution settlement of one participant in one event.

Rules (published provincial practice, e.g. Jiangsu and Zhejiang DR settlement):
- reduction = mean baseline load − mean actual load over the event window (kW);
- achievement rate (达成率) = reduction / declared response kW;
- the customer qualifies (达标) when the rate is at least qualify_rate_min and the highest
  actual load in the window stays below the highest baseline load in the window;
- settlement counts at most settlement_cap_ratio × declared kW, and never a negative
  reduction;
- subsidy (元) = counted reduction kW × window hours × price 元/kWh, paid only to
  qualified customers when subsidy_only_if_qualified is set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim_grid.settings import DRSettings


@dataclass(frozen=True)
class ExecutionResult:
    baseline_kw: float
    actual_avg_kw: float
    reduction_kw: float
    rate: float
    qualified: bool
    counted_kw: float
    subsidy_yuan: float


def settle_execution(
    baseline_window_kw: np.ndarray,
    actual_window_kw: np.ndarray,
    declared_kw: float,
    hours: float,
    price_yuan_per_kwh: float,
    settings: DRSettings,
) -> ExecutionResult:
    """Apply the settlement rules to one customer's window of baseline and actual load."""
    baseline_kw = float(np.mean(baseline_window_kw))
    actual_avg_kw = float(np.mean(actual_window_kw))
    reduction_kw = baseline_kw - actual_avg_kw
    rate = reduction_kw / declared_kw if declared_kw > 0 else 0.0

    peak_kept_below = float(np.max(actual_window_kw)) < float(np.max(baseline_window_kw))
    qualified = rate >= settings.qualify_rate_min and peak_kept_below

    counted_kw = min(max(reduction_kw, 0.0), settings.settlement_cap_ratio * declared_kw)
    paid = qualified or not settings.subsidy_only_if_qualified
    subsidy_yuan = counted_kw * hours * price_yuan_per_kwh if paid else 0.0

    return ExecutionResult(
        baseline_kw=baseline_kw,
        actual_avg_kw=actual_avg_kw,
        reduction_kw=reduction_kw,
        rate=rate,
        qualified=qualified,
        counted_kw=counted_kw,
        subsidy_yuan=subsidy_yuan,
    )
