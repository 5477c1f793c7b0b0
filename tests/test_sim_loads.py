"""Generated load curves: sector shapes, day types, weather-driven cooling and noise."""

from datetime import date, timedelta

import numpy as np
import pytest

from sim_grid.city.profiles import customer_history
from sim_grid.city.weather import daily_max_temperature, interval_temperature
from sim_grid.db import seeded_rng

AFTERNOON = slice(56, 72)  # 14:00-18:00
EVENING = slice(80, 84)  # 20:00-21:00
WEEK = [date(2026, 7, 6) + timedelta(days=i) for i in range(7)]  # Monday to Sunday


def _history(sector: str, days, daily_max_c, customers: int = 200, seed: int = 1) -> np.ndarray:
    temperature = interval_temperature(np.asarray(daily_max_c, dtype=float))
    return customer_history(seeded_rng("test-loads", seed), [sector] * customers, np.full(customers, 100.0), days, temperature)


def test_summer_days_are_hotter_than_winter_days():
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    daily_max = daily_max_temperature(seeded_rng("weather", 3), days)
    assert daily_max[180:230].mean() > daily_max[0:40].mean() + 15
    assert 20 < daily_max[180:230].mean() < 40
    assert daily_max.min() > -15


def test_diurnal_cycle_peaks_mid_afternoon():
    temperature = interval_temperature(np.array([30.0]))[0]
    assert int(np.argmax(temperature)) in range(58, 62)  # about 15:00
    assert temperature.max() == pytest.approx(30.0, abs=0.1)


def test_mild_workday_afternoon_matches_level():
    # Below the 26 °C threshold there is no cooling, so the 14:00-18:00 workday mean is the
    # 100 kW level up to noise.
    curves = _history("commercial", WEEK[:5], [20.0] * 5)
    assert curves[:, :, AFTERNOON].mean() == pytest.approx(100.0, rel=0.05)


def test_hot_afternoon_raises_commercial_load():
    mild = _history("commercial", [WEEK[0]], [24.0])
    hot = _history("commercial", [WEEK[0]], [36.0])
    assert hot[:, 0, AFTERNOON].mean() > 1.1 * mild[:, 0, AFTERNOON].mean()


def test_industrial_load_drops_on_weekend_and_holiday():
    # 2026-10-01 is a National Day holiday (a Thursday).
    days = [date(2026, 9, 30), date(2026, 10, 1), WEEK[6]]
    curves = _history("industrial", days, [24.0] * 3)
    workday, holiday, sunday = (curves[:, k, AFTERNOON].mean() for k in range(3))
    assert holiday < 0.85 * workday
    assert sunday < 0.85 * workday


def test_make_up_saturday_loads_like_a_workday():
    # 2026-05-09 is a Saturday worked in lieu of the Labour Day holiday; 05-16 a plain Saturday.
    days = [date(2026, 5, 8), date(2026, 5, 9), date(2026, 5, 16)]
    curves = _history("industrial", days, [24.0] * 3)
    friday, make_up, saturday = (curves[:, k, AFTERNOON].mean() for k in range(3))
    assert make_up == pytest.approx(friday, rel=0.05)
    assert saturday < 0.85 * friday


def test_residential_peak_is_in_the_evening():
    curves = _history("residential", WEEK[:5], [30.0] * 5)
    assert curves[:, :, EVENING].mean() > 1.3 * curves[:, :, AFTERNOON].mean()


def test_curves_carry_noise_but_stay_positive():
    curves = _history("industrial", WEEK[:2], [25.0, 25.0])
    assert not np.allclose(curves[:, 0], curves[:, 1])
    assert curves.min() >= 0.0
    ratio = curves[:, 0, AFTERNOON].mean(axis=1) / curves[:, 1, AFTERNOON].mean(axis=1)
    assert np.abs(ratio - 1).mean() < 0.1


def test_same_seed_gives_same_curves():
    first = _history("commercial", WEEK[:2], [30.0, 31.0], seed=5)
    second = _history("commercial", WEEK[:2], [30.0, 31.0], seed=5)
    np.testing.assert_array_equal(first, second)
