"""Settlement rules on hand-worked cases: shortfall floor and penalty, valley filling, many at once."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim_grid import DRSettings
from sim_grid.rules import settle_execution, settle_executions

PAY_PARTIAL = DRSettings(subsidy_only_if_qualified=False, subsidy_floor_rate=0.5, shortfall_penalty_yuan_per_kwh=0.5)


def test_partial_response_above_floor_is_paid_when_configured():
    # Baseline 100 kW, actual 82 kW: 18 kW on 30 kW declared = 60% (not qualified, above the
    # 50% floor). Paid 18 kW × 4 h × 1.0 元/kWh = 72 元, no penalty.
    result = settle_execution(np.full(16, 100.0), np.full(16, 82.0), 30.0, 4.0, 1.0, PAY_PARTIAL)
    assert result.rate == pytest.approx(0.6)
    assert not result.qualified
    assert result.subsidy_yuan == pytest.approx(72.0)
    assert result.penalty_yuan == 0.0


def test_partial_response_unpaid_by_default():
    # The same 60% with the default settings: only qualified customers are paid.
    result = settle_execution(np.full(16, 100.0), np.full(16, 82.0), 30.0, 4.0, 1.0, DRSettings())
    assert result.subsidy_yuan == 0.0
    assert result.penalty_yuan == 0.0  # the default penalty price is 0


def test_below_floor_pays_nothing_and_charges_shortfall():
    # Baseline 100 kW, actual 88 kW: 12 kW on 30 kW = 40% < 50% floor. No subsidy; the
    # undelivered 30 - 12 = 18 kW × 4 h × 0.5 元/kWh = 36 元 penalty.
    result = settle_execution(np.full(16, 100.0), np.full(16, 88.0), 30.0, 4.0, 1.0, PAY_PARTIAL)
    assert result.rate == pytest.approx(0.4)
    assert result.subsidy_yuan == 0.0
    assert result.penalty_yuan == pytest.approx(36.0)


def test_load_increase_in_peak_event_charges_full_declared():
    # Actual above the baseline: delivered -5 kW counts as 0, so all 30 kW are undelivered:
    # 30 kW × 2 h × 0.5 元/kWh = 30 元.
    result = settle_execution(np.full(8, 100.0), np.full(8, 105.0), 30.0, 2.0, 1.0, PAY_PARTIAL)
    assert result.reduction_kw == pytest.approx(-5.0)
    assert result.counted_kw == 0.0
    assert result.penalty_yuan == pytest.approx(30.0)


def test_floor_is_configurable():
    # 40% with a 30% floor: paid 12 kW × 4 h × 1.0 = 48 元, no penalty.
    lenient = DRSettings(subsidy_only_if_qualified=False, subsidy_floor_rate=0.3, shortfall_penalty_yuan_per_kwh=0.5)
    result = settle_execution(np.full(16, 100.0), np.full(16, 88.0), 30.0, 4.0, 1.0, lenient)
    assert result.subsidy_yuan == pytest.approx(48.0)
    assert result.penalty_yuan == 0.0


def test_valley_increase_over_baseline_counts():
    # Valley filling: baseline 100 kW, actual 130 kW, declared 30 kW. Delivered 30 kW, rate
    # 100%; the lowest actual (130) stays above the lowest baseline (100): qualified.
    # Subsidy 30 kW × 3 h × 0.5 元/kWh = 45 元.
    result = settle_execution(np.full(12, 100.0), np.full(12, 130.0), 30.0, 3.0, 0.5, DRSettings(), direction="valley")
    assert result.reduction_kw == pytest.approx(30.0)
    assert result.rate == pytest.approx(1.0)
    assert result.qualified
    assert result.subsidy_yuan == pytest.approx(45.0)


def test_valley_dip_below_baseline_minimum_disqualifies():
    # Eleven intervals at 128 kW and one at 95 kW: mean (11 × 128 + 95) / 12 = 125.25 kW, an
    # increase of 25.25 kW (rate 84%), but 95 kW is below the baseline's lowest 100 kW.
    actual = np.full(12, 128.0)
    actual[4] = 95.0
    result = settle_execution(np.full(12, 100.0), actual, 30.0, 3.0, 0.5, DRSettings(), direction="valley")
    assert result.rate >= 0.8
    assert not result.qualified
    assert result.subsidy_yuan == 0.0


def test_valley_load_reduction_counts_as_shortfall():
    # In a valley event a lower load is the wrong way: delivered -10 kW, rate -33%.
    result = settle_execution(np.full(12, 100.0), np.full(12, 90.0), 30.0, 3.0, 0.5, DRSettings(), direction="valley")
    assert result.reduction_kw == pytest.approx(-10.0)
    assert not result.qualified
    assert result.counted_kw == 0.0


def test_settlement_cap_applies_to_valley():
    # Increase 50 kW on 30 kW declared: counted 36 kW; 36 × 3 h × 0.5 = 54 元.
    result = settle_execution(np.full(12, 100.0), np.full(12, 150.0), 30.0, 3.0, 0.5, DRSettings(), direction="valley")
    assert result.counted_kw == pytest.approx(36.0)
    assert result.subsidy_yuan == pytest.approx(54.0)


def test_unknown_direction_is_rejected():
    with pytest.raises(ValueError, match="direction"):
        settle_execution(np.full(4, 1.0), np.full(4, 1.0), 1.0, 1.0, 1.0, DRSettings(), direction="sideways")


def test_zero_declared_has_zero_rate():
    result = settle_execution(np.full(4, 100.0), np.full(4, 80.0), 0.0, 1.0, 1.0, DRSettings())
    assert result.rate == 0.0
    assert not result.qualified


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    customers=st.integers(1, 20),
    direction=st.sampled_from(["peak", "valley"]),
)
def test_batch_settlement_matches_one_by_one(seed, customers, direction):
    rng = np.random.default_rng(seed)
    baseline = rng.uniform(50, 150, (customers, 16))
    actual = baseline - rng.uniform(-30, 60, (customers, 16))
    declared = rng.choice([0.0, 10.0, 30.0, 45.0], customers)
    batch = settle_executions(baseline, actual, declared, 4.0, 1.5, PAY_PARTIAL, direction)
    for i in range(customers):
        one = settle_execution(baseline[i], actual[i], declared[i], 4.0, 1.5, PAY_PARTIAL, direction)
        assert batch.rate[i] == pytest.approx(one.rate)
        assert bool(batch.qualified[i]) == one.qualified
        assert batch.subsidy_yuan[i] == pytest.approx(one.subsidy_yuan)
        assert batch.penalty_yuan[i] == pytest.approx(one.penalty_yuan)
        assert 0.0 <= batch.counted_kw[i] <= 1.2 * declared[i] + 1e-9
