"""Baseline methods on hand-worked cases, and properties of the baseline day selection."""

from datetime import date, timedelta

import chinese_calendar
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim_grid import DRSettings
from sim_grid.rules import (
    adjustment_period,
    baseline_rule,
    day_of_adjustment_ratio,
    highest_days_mean,
    select_baseline_days,
)

WINDOW = (56, 72)  # 14:00-18:00


def _days_with_window_levels(window_levels, outside=100.0):
    """Curves (1 owner, days, 96): `outside` kW all day except the window, set to each day's level."""
    curves = np.full((1, len(window_levels), 96), outside)
    for k, level in enumerate(window_levels):
        curves[0, k, WINDOW[0] : WINDOW[1]] = level
    return curves


def test_pool_of_ten_skips_dragon_boat_and_earlier_event():
    # Back from 2026-06-24: 23 Tue, 22 Mon; 21-19 Dragon Boat holiday; 18 Thu; 17 an earlier
    # event; 16 Tue, 15 Mon; 14-13 weekend; 12 Fri, 11, 10, 9, 8 Mon: ten days.
    days = select_baseline_days(date(2026, 6, 24), {date(2026, 6, 17)}, 10)
    expected = [23, 22, 18, 16, 15, 12, 11, 10, 9, 8]
    assert days == [date(2026, 6, d) for d in expected]


def test_pool_skips_national_day_make_up_saturday():
    # 2026-10-10 is a Saturday worked in lieu of National Day (10-01..10-07 are holidays, and
    # 09-20 a make-up Sunday): neither counts as a normal workday.
    days = select_baseline_days(date(2026, 10, 13), set(), 5)
    assert days == [date(2026, 10, 12), date(2026, 10, 9), date(2026, 10, 8), date(2026, 9, 30), date(2026, 9, 29)]


def test_method_day_counts_come_from_settings():
    settings = DRSettings()
    assert (baseline_rule("recent", settings).pool_days, baseline_rule("recent", settings).kept_days) == (5, 5)
    assert (baseline_rule("high_5_of_10", settings).pool_days, baseline_rule("high_5_of_10", settings).kept_days) == (10, 5)
    assert baseline_rule("caiso_10_in_10", settings).day_of_adjustment
    assert (baseline_rule("pjm_high_4_of_5", settings).pool_days, baseline_rule("pjm_high_4_of_5", settings).kept_days) == (5, 4)
    assert baseline_rule("recent", DRSettings(baseline_days=3)).pool_days == 3


def test_unknown_baseline_method_is_rejected():
    with pytest.raises(ValueError, match="unknown baseline method"):
        baseline_rule("median", DRSettings())


def test_high_5_of_10_averages_five_highest_window_days():
    # Window levels, newest day first: 100 90 130 80 120 110 70 140 60 95.
    # The five highest are 140, 130, 120, 110, 100: mean 600 / 5 = 120 kW in the window.
    # Outside the window every day is 100 kW, so the baseline is 100 kW there.
    curves = _days_with_window_levels([100, 90, 130, 80, 120, 110, 70, 140, 60, 95])
    baseline = highest_days_mean(curves, WINDOW, kept_days=5)[0]
    assert baseline[60] == pytest.approx(120.0)
    assert baseline[10] == pytest.approx(100.0)


def test_high_days_are_ranked_by_window_not_whole_day():
    # Day 0: 50 kW in the window but 300 kW outside it (highest daily mean);
    # days 1-2: 100 kW in the window, 10 kW outside. Keeping 2 of 3 by window load picks
    # days 1 and 2: window 100 kW, outside 10 kW.
    curves = np.full((1, 3, 96), 10.0)
    curves[0, 0, :] = 300.0
    curves[0, 0, WINDOW[0] : WINDOW[1]] = 50.0
    curves[0, 1:, WINDOW[0] : WINDOW[1]] = 100.0
    baseline = highest_days_mean(curves, WINDOW, kept_days=2)[0]
    assert baseline[60] == pytest.approx(100.0)
    assert baseline[0] == pytest.approx(10.0)


def test_high_days_tie_keeps_more_recent_days():
    # All window levels tie at 100 kW, and outside the window day k draws k kW (day 0 newest).
    # Keeping 5 of 10 takes days 0-4, so the outside baseline is (0+1+2+3+4) / 5 = 2 kW.
    curves = np.full((1, 10, 96), 100.0)
    for k in range(10):
        curves[0, k, : WINDOW[0]] = k
    baseline = highest_days_mean(curves, WINDOW, kept_days=5)[0]
    assert baseline[0] == pytest.approx(2.0)


def test_pjm_high_4_of_5_drops_lowest_day():
    # Window levels 100 80 120 90 110: drop 80, mean (100 + 120 + 90 + 110) / 4 = 105 kW.
    curves = _days_with_window_levels([100, 80, 120, 90, 110])
    rule = baseline_rule("pjm_high_4_of_5", DRSettings())
    baseline = highest_days_mean(curves, WINDOW, rule.kept_days)[0]
    assert baseline[60] == pytest.approx(105.0)


def test_missing_days_are_left_out_of_the_mean():
    # Five recent days, two without data (NaN): mean of 90, 100, 110 = 100 kW.
    curves = _days_with_window_levels([90, 100, 110, 0, 0])
    curves[0, 3:, :] = np.nan
    baseline = highest_days_mean(curves, WINDOW, kept_days=5)[0]
    assert baseline[60] == pytest.approx(100.0)


def test_owner_without_history_gets_nan_row():
    curves = np.full((2, 5, 96), np.nan)
    curves[0] = 50.0
    baseline = highest_days_mean(curves, WINDOW, kept_days=4)
    assert baseline[0, 60] == pytest.approx(50.0)
    assert np.isnan(baseline[1]).all()


def test_caiso_adjustment_period_ends_hour_before_start():
    # Start 14:00 (interval 56); the 3 hours ending 1 hour earlier are 10:00-13:00 = [40, 52).
    assert adjustment_period(56, DRSettings()) == (40, 52)
    assert adjustment_period(3, DRSettings()) == (0, 0)  # no room before a 00:45 start


@pytest.mark.parametrize(
    ("actual_kw", "ratio"),
    [
        (110.0, 1.1),  # 110 / 100
        (150.0, 1.2),  # 1.5 capped at 1 + 20%
        (50.0, 0.8),  # 0.5 capped at 1 - 20%
        (100.0, 1.0),
    ],
)
def test_caiso_day_of_adjustment_is_capped_at_20_percent(actual_kw, ratio):
    # Ten-day mean 100 kW; the event day's load over 10:00-13:00 is actual_kw.
    baseline = np.full((1, 96), 100.0)
    actual = np.full((1, 96), 999.0)
    actual[0, 40:52] = actual_kw
    assert day_of_adjustment_ratio(baseline, actual, (40, 52), 0.2)[0] == pytest.approx(ratio)


def test_caiso_adjustment_without_baseline_is_one():
    baseline = np.zeros((1, 96))
    assert day_of_adjustment_ratio(baseline, np.full((1, 96), 5.0), (40, 52), 0.2)[0] == 1.0


def _is_normal_workday(day: date) -> bool:
    return day.weekday() < 5 and chinese_calendar.is_workday(day) and not chinese_calendar.is_holiday(day)


@settings(max_examples=150, deadline=None)
@given(
    event_day=st.dates(min_value=date(2024, 2, 1), max_value=date(2026, 12, 31)),
    excluded_offsets=st.sets(st.integers(1, 40), max_size=6),
    count=st.integers(1, 10),
)
def test_selected_days_are_exactly_the_latest_normal_workdays(event_day, excluded_offsets, count):
    excluded = {event_day - timedelta(days=offset) for offset in excluded_offsets}
    days = select_baseline_days(event_day, excluded, count)

    assert len(days) == count
    assert days == sorted(days, reverse=True)
    assert len(set(days)) == len(days)
    for day in days:
        assert day < event_day
        assert day not in excluded
        assert _is_normal_workday(day), day  # no weekend, holiday or make-up workday

    # Nothing newer was skipped: every normal, non-excluded day in between was selected.
    walk = event_day - timedelta(days=1)
    while walk > days[-1]:
        if _is_normal_workday(walk) and walk not in excluded:
            assert walk in days, walk
        walk -= timedelta(days=1)
