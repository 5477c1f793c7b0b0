"""Domain rules as plain functions over numbers and dates, free of the database."""

from sim_grid.rules.baseline import (
    BaselineRule,
    adjustment_period,
    baseline_curve,
    baseline_rule,
    day_of_adjustment_ratio,
    highest_days_mean,
    is_normal_workday,
    select_baseline_days,
)
from sim_grid.rules.decompose import largest_remainder_split
from sim_grid.rules.deficit import DeficitWindow, deficit_per_interval, find_deficit_window
from sim_grid.rules.replies import parse_reply
from sim_grid.rules.settlement import (
    ExecutionResult,
    SettlementArrays,
    direction_sign,
    settle_execution,
    settle_executions,
)

__all__ = [
    "BaselineRule",
    "DeficitWindow",
    "ExecutionResult",
    "SettlementArrays",
    "adjustment_period",
    "baseline_curve",
    "baseline_rule",
    "day_of_adjustment_ratio",
    "deficit_per_interval",
    "direction_sign",
    "find_deficit_window",
    "highest_days_mean",
    "is_normal_workday",
    "largest_remainder_split",
    "parse_reply",
    "select_baseline_days",
    "settle_execution",
    "settle_executions",
]
