"""Execution settlement of participants in one event.

Rules (published provincial practice, e.g. Jiangsu and Zhejiang DR settlement):
- delivered response = mean baseline load − mean actual load over the event window (kW) for a
  peak-shaving event (削峰); for a valley-filling event (填谷) the sign is reversed, so an
  increase over the baseline counts;
- achievement rate (达成率) = delivered response / declared response kW;
- the customer qualifies (达标) when the rate is at least qualify_rate_min and the highest actual
  load in the window stays below the highest baseline load in the window (valley: the lowest
  actual load stays above the lowest baseline load);
- settlement counts at most settlement_cap_ratio × declared kW, and never a negative response;
- subsidy (元) = counted kW × window hours × price 元/kWh. It is paid when the rate reaches
  subsidy_floor_rate and, with subsidy_only_if_qualified set, only to qualified customers;
- shortfall: below subsidy_floor_rate the undelivered kW (declared − delivered) × hours is
  charged at shortfall_penalty_yuan_per_kwh (0 by default: no penalty, only no subsidy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim_grid.settings import DRSettings


@dataclass(frozen=True)
class ExecutionResult:
    baseline_kw: float
    actual_avg_kw: float
    reduction_kw: float  # delivered response (an increase for a valley event)
    rate: float
    qualified: bool
    counted_kw: float
    subsidy_yuan: float
    penalty_yuan: float = 0.0


@dataclass(frozen=True)
class SettlementArrays:
    """The fields of ExecutionResult for many customers, one array element per customer."""

    baseline_kw: np.ndarray
    actual_avg_kw: np.ndarray
    reduction_kw: np.ndarray
    rate: np.ndarray
    qualified: np.ndarray
    counted_kw: np.ndarray
    subsidy_yuan: np.ndarray
    penalty_yuan: np.ndarray


def direction_sign(direction: str) -> int:
    """Return +1 for a peak event and −1 for a valley event. Raises ValueError otherwise."""
    if direction == "peak":
        return 1
    if direction == "valley":
        return -1
    raise ValueError(f"unknown event direction {direction!r}; expected peak or valley")


def settle_executions(
    baseline_window_kw: np.ndarray,
    actual_window_kw: np.ndarray,
    declared_kw: np.ndarray,
    hours: float,
    price_yuan_per_kwh: float,
    settings: DRSettings,
    direction: str = "peak",
) -> SettlementArrays:
    """Apply the settlement rules to many customers at once.

    baseline_window_kw and actual_window_kw have shape (customers, window intervals);
    declared_kw has shape (customers,).
    """
    sign = direction_sign(direction)
    declared_kw = np.asarray(declared_kw, dtype=float)
    baseline_kw = baseline_window_kw.mean(axis=1)
    actual_avg_kw = actual_window_kw.mean(axis=1)
    delivered_kw = sign * (baseline_kw - actual_avg_kw)
    safe_declared = np.where(declared_kw > 0, declared_kw, 1.0)
    rate = np.where(declared_kw > 0, delivered_kw / safe_declared, 0.0)

    if sign > 0:
        kept_within = actual_window_kw.max(axis=1) < baseline_window_kw.max(axis=1)
    else:
        kept_within = actual_window_kw.min(axis=1) > baseline_window_kw.min(axis=1)
    qualified = (rate >= settings.qualify_rate_min) & kept_within

    counted_kw = np.minimum(np.maximum(delivered_kw, 0.0), settings.settlement_cap_ratio * declared_kw)
    above_floor = rate >= settings.subsidy_floor_rate
    paid = above_floor & (qualified | (not settings.subsidy_only_if_qualified))
    subsidy_yuan = np.where(paid, counted_kw * hours * price_yuan_per_kwh, 0.0)

    undelivered_kw = np.maximum(declared_kw - np.maximum(delivered_kw, 0.0), 0.0)
    penalty_yuan = np.where(above_floor, 0.0, undelivered_kw * hours * settings.shortfall_penalty_yuan_per_kwh)

    return SettlementArrays(
        baseline_kw=baseline_kw,
        actual_avg_kw=actual_avg_kw,
        reduction_kw=delivered_kw,
        rate=rate,
        qualified=qualified,
        counted_kw=counted_kw,
        subsidy_yuan=subsidy_yuan,
        penalty_yuan=penalty_yuan,
    )


def settle_execution(
    baseline_window_kw: np.ndarray,
    actual_window_kw: np.ndarray,
    declared_kw: float,
    hours: float,
    price_yuan_per_kwh: float,
    settings: DRSettings,
    direction: str = "peak",
) -> ExecutionResult:
    """Apply the settlement rules to one customer's window of baseline and actual load."""
    arrays = settle_executions(
        np.asarray(baseline_window_kw, dtype=float)[None, :],
        np.asarray(actual_window_kw, dtype=float)[None, :],
        np.array([declared_kw]),
        hours,
        price_yuan_per_kwh,
        settings,
        direction,
    )
    return ExecutionResult(
        baseline_kw=float(arrays.baseline_kw[0]),
        actual_avg_kw=float(arrays.actual_avg_kw[0]),
        reduction_kw=float(arrays.reduction_kw[0]),
        rate=float(arrays.rate[0]),
        qualified=bool(arrays.qualified[0]),
        counted_kw=float(arrays.counted_kw[0]),
        subsidy_yuan=float(arrays.subsidy_yuan[0]),
        penalty_yuan=float(arrays.penalty_yuan[0]),
    )
