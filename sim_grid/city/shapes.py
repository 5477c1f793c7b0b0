"""Typical daily load shapes, one value per interval, scaled so the afternoon (14:00-18:00) mean is 1."""

from __future__ import annotations

import numpy as np


def _bump(hours: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((hours - centre) / width) ** 2)


def _normalise(curve: np.ndarray, intervals: int) -> np.ndarray:
    per_hour = intervals // 24
    return curve / curve[14 * per_hour : 18 * per_hour].mean()


def sector_shape(sector: str, intervals: int = 96) -> np.ndarray:
    """Return the load shape of a customer sector."""
    hours = (np.arange(intervals) + 0.5) * 24 / intervals
    if sector == "industrial":
        curve = 0.55 + 0.45 / (1 + np.exp(-(hours - 7.5) * 2)) - 0.4 / (1 + np.exp(-(hours - 20.5) * 2))
    elif sector == "commercial":
        curve = 0.3 + 0.75 * _bump(hours, 15.0, 3.8)
    elif sector == "residential":
        curve = 0.35 + 0.3 * _bump(hours, 7.5, 1.2) + 0.45 * _bump(hours, 15.5, 2.5) + 0.6 * _bump(hours, 20.0, 1.8)
    else:
        raise ValueError(f"unknown sector {sector!r}")
    return _normalise(curve, intervals)


def district_shape(intervals: int = 96) -> np.ndarray:
    """Return a city district's load shape: a broad afternoon peak over a night trough."""
    hours = (np.arange(intervals) + 0.5) * 24 / intervals
    curve = 0.55 + 0.35 * _bump(hours, 15.5, 3.5) + 0.12 * _bump(hours, 20.5, 1.5)
    return _normalise(curve, intervals)
