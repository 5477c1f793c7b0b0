"""A seeded air-temperature series that drives the cooling load of generated cities.

The climatology is an estimate for a city on the lower Yangtze such as Nanjing or Shanghai,
not a fit to station records. Daily maxima average near 8 °C in late January and 33 °C in
late July. An autoregressive anomaly adds warm and cool spells of several days, and the
diurnal cycle peaks at 15:00.
"""

from __future__ import annotations

from datetime import date

import numpy as np

ANNUAL_MEAN_MAX_C = 20.5
SEASONAL_AMPLITUDE_C = 12.5
WARMEST_DAY_OF_YEAR = 205  # about 24 July
ANOMALY_SD_C = 2.5
ANOMALY_AUTOCORRELATION = 0.75  # day to day: spells of several days
DIURNAL_RANGE_C = 8.0
WARMEST_HOUR = 15.0


def daily_max_temperature(rng: np.random.Generator, days: list[date]) -> np.ndarray:
    """Return the maximum air temperature (°C) of each day, shape (days,)."""
    day_of_year = np.array([d.timetuple().tm_yday for d in days])
    climate = ANNUAL_MEAN_MAX_C + SEASONAL_AMPLITUDE_C * np.cos(2 * np.pi * (day_of_year - WARMEST_DAY_OF_YEAR) / 365.25)

    # Stationary AR(1) anomaly: the innovations are scaled so the anomaly's SD is ANOMALY_SD_C.
    innovations = rng.normal(0.0, ANOMALY_SD_C * np.sqrt(1 - ANOMALY_AUTOCORRELATION**2), len(days))
    anomaly = np.empty(len(days))
    previous = rng.normal(0.0, ANOMALY_SD_C)
    for i, innovation in enumerate(innovations):
        previous = ANOMALY_AUTOCORRELATION * previous + innovation
        anomaly[i] = previous
    return climate + anomaly


def interval_temperature(daily_max_c: np.ndarray, intervals: int = 96) -> np.ndarray:
    """Return the temperature (°C) of every interval, shape (days, intervals)."""
    hours = (np.arange(intervals) + 0.5) * 24 / intervals
    below_max = DIURNAL_RANGE_C * 0.5 * (1 - np.cos(2 * np.pi * (hours - WARMEST_HOUR) / 24))
    return daily_max_c[:, None] - below_max[None, :]
