"""Formatting figures the way dispatchers read them: 30MW, 65.6%, 6月24日, 14:00-18:00."""

from __future__ import annotations

from datetime import date, datetime

from sim_grid import DRSettings


def number(value: float, digits: int = 1) -> str:
    """Round to `digits` decimals and drop trailing zeros: 8.0 -> "8", 6.720 -> "6.72"."""
    text = f"{round(value + 0.0, digits):.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def percent(ratio: float) -> str:
    return f"{ratio * 100:.1f}%"


def day_label(day: date) -> str:
    return f"{day.month}月{day.day}日"


def clock_label(moment: datetime) -> str:
    return f"{moment.month}月{moment.day}日{moment:%H:%M}"


def interval_time(interval: int, settings: DRSettings) -> str:
    minutes = interval * settings.interval_minutes
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def window_label(start: int, end: int, settings: DRSettings) -> str:
    return f"{interval_time(start, settings)}-{interval_time(end, settings)}"
