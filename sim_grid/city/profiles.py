"""Customer load curves by sector: operating patterns, day types, cooling load and noise.

load = level × (process shape of the day type + cooling) × day factor × interval noise, where
- the process shape follows the customer's operating pattern. Industrial customers are
  one-shift, two-shift or continuous plants, commercial ones offices or retail, and residential
  ones homes with a morning and a larger evening peak. Opening and closing hours are jittered;
- a day is an off day when the State Council calendar has no work (weekends and holidays; a
  make-up working weekend counts as a workday). Plants and offices drop on off days, retail
  and homes rise;
- cooling adds, per °C above COOLING_THRESHOLD_C, a sector-specific share of the level while
  the premises are occupied, which makes hot afternoons the peak in summer;
- the day factor is lognormal, the interval noise an AR(1) process, so curves are not jagged.

The process shape of a workday is scaled so its 14:00-18:00 mean is 1, making `level` the
typical workday afternoon load (kW) without cooling.
"""

from __future__ import annotations

from datetime import date

import chinese_calendar
import numpy as np

PATTERNS = {
    "industrial": (("one_shift", 0.35), ("two_shift", 0.40), ("continuous", 0.25)),
    "commercial": (("office", 0.5), ("retail", 0.5)),
    "residential": (("home", 1.0),),
}
# (opening hour, closing hour, base share of the load while closed)
HOURS = {
    "one_shift": (8.0, 17.0, 0.25),
    "two_shift": (7.5, 23.5, 0.30),
    "continuous": (0.0, 24.0, 0.85),
    "office": (8.0, 18.5, 0.20),
    "retail": (10.0, 22.0, 0.25),
}
# Process load on an off day relative to a workday.
OFF_DAY_LEVEL = {"one_shift": 0.30, "two_shift": 0.45, "continuous": 0.95, "office": 0.25, "retail": 1.15, "home": 1.10}
# Cooling load per °C above the threshold, as a share of the level.
COOLING_THRESHOLD_C = 26.0
COOLING_SHARE_PER_C = {"one_shift": 0.006, "two_shift": 0.006, "continuous": 0.004, "office": 0.02, "retail": 0.02, "home": 0.025}
OPENING_JITTER_HOURS = 0.5
DAY_FACTOR_SD = 0.03
NOISE_SD = 0.03
NOISE_AUTOCORRELATION = 0.7


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _bump(hours: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((hours - centre) / width) ** 2)


def draw_patterns(rng: np.random.Generator, sectors: list[str]) -> list[str]:
    """Draw an operating pattern for each customer of the given sectors."""
    patterns = []
    for sector in sectors:
        names, weights = zip(*PATTERNS[sector])
        patterns.append(str(rng.choice(names, p=weights)))
    return patterns


def _open_hours_shape(hours: np.ndarray, opening: np.ndarray, closing: np.ndarray, closed_share: float) -> np.ndarray:
    """Return (customers, intervals): closed_share outside opening hours, 1 inside, smooth ramps."""
    inside = _sigmoid(3.0 * (hours[None, :] - opening[:, None])) * _sigmoid(3.0 * (closing[:, None] - hours[None, :]))
    return closed_share + (1.0 - closed_share) * inside


def _home_shape(hours: np.ndarray, off_day: bool) -> np.ndarray:
    daytime = 0.35 if off_day else 0.15  # people at home in the daytime on off days
    return 0.3 + 0.25 * _bump(hours, 7.5, 1.2) + daytime * _bump(hours, 13.0, 2.5) + 0.65 * _bump(hours, 20.5, 2.0)


def process_shapes(rng: np.random.Generator, patterns: list[str], intervals: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return workday shapes, off-day shapes and occupancy, each (customers, intervals).

    Workday shapes have a 14:00-18:00 mean of 1, and off-day shapes are scaled by OFF_DAY_LEVEL.
    Occupancy (0-1) is the share of the cooling load that runs in each interval.
    """
    n = len(patterns)
    hours = (np.arange(intervals) + 0.5) * 24 / intervals
    workday = np.empty((n, intervals))
    off_day = np.empty((n, intervals))
    occupancy = np.empty((n, intervals))
    jitter = rng.uniform(-OPENING_JITTER_HOURS, OPENING_JITTER_HOURS, (n, 2))

    for name in set(patterns):
        rows = np.array([i for i, p in enumerate(patterns) if p == name])
        if name == "home":
            workday[rows] = _home_shape(hours, off_day=False)
            off_day[rows] = _home_shape(hours, off_day=True)
            evening = 0.3 + 0.7 * _sigmoid(2.0 * (hours - 17.5))
            occupancy[rows] = evening
            continue
        opening, closing, closed_share = HOURS[name]
        if name == "continuous":
            shape = np.full((len(rows), intervals), 1.0)
            shape -= 0.08 * _bump(hours, 4.0, 2.0)  # night maintenance dip
            workday[rows] = shape
            off_day[rows] = shape
            occupancy[rows] = 1.0
            continue
        open_shape = _open_hours_shape(hours, opening + jitter[rows, 0], closing + jitter[rows, 1], closed_share)
        workday[rows] = open_shape
        off_day[rows] = open_shape
        occupancy[rows] = (open_shape - closed_share) / (1.0 - closed_share)

    per_hour = intervals // 24
    afternoon = workday[:, 14 * per_hour : 18 * per_hour].mean(axis=1, keepdims=True)
    workday /= afternoon
    off_day /= afternoon
    off_day *= np.array([OFF_DAY_LEVEL[p] for p in patterns])[:, None]
    return workday, off_day, occupancy


def ar1_noise(rng: np.random.Generator, shape: tuple[int, ...], sd: float, autocorrelation: float) -> np.ndarray:
    """Return stationary AR(1) noise along the last axis with the given SD."""
    innovations = rng.normal(0.0, sd * np.sqrt(1 - autocorrelation**2), shape)
    noise = np.empty(shape)
    noise[..., 0] = rng.normal(0.0, sd, shape[:-1])
    for t in range(1, shape[-1]):
        noise[..., t] = autocorrelation * noise[..., t - 1] + innovations[..., t]
    return noise


def customer_history(
    rng: np.random.Generator,
    sectors: list[str],
    level_kw: np.ndarray,
    days: list[date],
    temperature_c: np.ndarray,
) -> np.ndarray:
    """Return load curves (kW) with shape (customers, days, intervals).

    level_kw is each customer's typical workday 14:00-18:00 load without cooling;
    temperature_c has shape (days, intervals).
    """
    intervals = temperature_c.shape[1]
    patterns = draw_patterns(rng, sectors)
    workday, off_day, occupancy = process_shapes(rng, patterns, intervals)
    cooling_share = np.array([COOLING_SHARE_PER_C[p] for p in patterns])

    is_off = np.array([not chinese_calendar.is_workday(d) for d in days])
    process = np.where(is_off[None, :, None], off_day[:, None, :], workday[:, None, :])
    degrees = np.maximum(temperature_c - COOLING_THRESHOLD_C, 0.0)  # (days, intervals)
    cooling = cooling_share[:, None, None] * degrees[None, :, :] * occupancy[:, None, :]

    n = len(sectors)
    day_factor = rng.lognormal(0.0, DAY_FACTOR_SD, (n, len(days)))
    noise = 1.0 + ar1_noise(rng, (n, len(days), intervals), NOISE_SD, NOISE_AUTOCORRELATION)
    curves = level_kw[:, None, None] * (process + cooling) * day_factor[:, :, None] * noise
    return np.maximum(curves, 0.0)
