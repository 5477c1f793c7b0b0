"""Domain rules as plain functions over numbers and dates, free of the database."""

from sim_grid.rules.baseline import baseline_curve, is_normal_workday, select_baseline_days
from sim_grid.rules.decompose import largest_remainder_split
from sim_grid.rules.deficit import DeficitWindow, deficit_per_interval, find_deficit_window
from sim_grid.rules.replies import parse_reply
from sim_grid.rules.settlement import ExecutionResult, settle_execution

__all__ = [
    "DeficitWindow",
    "ExecutionResult",
    "baseline_curve",
    "deficit_per_interval",
    "find_deficit_window",
    "is_normal_workday",
    "largest_remainder_split",
    "parse_reply",
    "select_baseline_days",
    "settle_execution",
]
