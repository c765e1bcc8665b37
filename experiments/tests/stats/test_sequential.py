"""Always-valid intervals (asymptotic confidence sequences) and the monitor's decision rule."""

import math

import pytest

from experiments.stats import (
    DEFAULT_TUNING_N,
    always_valid_interval,
    confidence_sequence,
    proportion_comparison,
    sequential_decision,
)


def _half_width(standard_error, n, **kwargs):
    low, high = confidence_sequence(0.0, standard_error, n, **kwargs)
    return (high - low) / 2


def test_confidence_sequence_at_the_tuning_size_worked_by_hand():
    """At n = tuning_n, n rho^2 = a = -2 ln 0.05 + ln(1 - 2 ln 0.05) = 5.991465 + 1.944691 = 7.936156.

    Half-width / se = sqrt(2 (a + 1) / a * ln(sqrt(a + 1) / 0.05)) = sqrt(2.252031 * 4.090780) = 3.035209,
    against 1.959964 for a fixed-horizon 95 % interval.
    """
    low, high = confidence_sequence(0.5, 0.1, 5000, tuning_n=5000)
    assert (high - low) / 2 == pytest.approx(0.3035209, abs=5e-8)
    assert (low + high) / 2 == pytest.approx(0.5)


def test_confidence_sequence_is_wider_than_the_fixed_interval_at_every_size():
    for n in (10, 100, 1000, 5000, 50_000, 10_000_000):
        assert _half_width(1.0, n) > 1.959964


def test_confidence_sequence_is_tightest_relative_to_the_fixed_interval_near_the_tuning_size():
    at_tuning = _half_width(1.0, DEFAULT_TUNING_N)
    assert at_tuning < _half_width(1.0, DEFAULT_TUNING_N // 2)
    assert at_tuning < _half_width(1.0, DEFAULT_TUNING_N * 2)
    assert _half_width(1.0, 20_000, tuning_n=20_000) == pytest.approx(at_tuning)


def test_confidence_sequence_widens_as_alpha_shrinks():
    assert _half_width(1.0, 5000, alpha=0.01) > _half_width(1.0, 5000, alpha=0.05) > _half_width(1.0, 5000, alpha=0.2)


def test_confidence_sequence_without_data_is_undefined():
    for interval in (
        confidence_sequence(0.1, 0.01, 0),
        confidence_sequence(float("nan"), 0.01, 100),
        confidence_sequence(0.1, float("nan"), 100),
    ):
        assert all(math.isnan(end) for end in interval)


def test_confidence_sequence_with_zero_error_is_a_point():
    assert confidence_sequence(0.25, 0.0, 100) == (0.25, 0.25)


def test_always_valid_interval_wraps_the_comparison_difference():
    comparison = proportion_comparison(1000, 10000, 1100, 10000)
    expected = confidence_sequence(comparison.absolute, comparison.absolute_se, 20000)
    assert always_valid_interval(comparison, 20000) == pytest.approx(expected)
    low, high = always_valid_interval(comparison, 20000)
    # Significant at a single fixed look (p = 0.021), but not yet under continuous monitoring.
    assert low < 0 < high
    assert low < comparison.absolute_ci[0] and comparison.absolute_ci[1] < high


def test_sequential_decision_calls_treatment_better_when_the_interval_is_above_zero():
    assert sequential_decision((0.001, 0.02), mde=0.01) == "treatment_better"


def test_sequential_decision_calls_treatment_worse_when_the_interval_is_below_zero():
    assert sequential_decision((-0.02, -0.001), mde=0.01) == "treatment_worse"


def test_sequential_decision_calls_no_meaningful_difference_inside_the_mde_band():
    assert sequential_decision((-0.004, 0.006), mde=0.01) == "no_meaningful_difference"


def test_sequential_decision_keeps_running_while_the_interval_reaches_past_the_mde():
    assert sequential_decision((-0.004, 0.012), mde=0.01) == "keep_running"
    assert sequential_decision((-0.01, 0.005), mde=0.01) == "keep_running"  # the band is open


def test_sequential_decision_prefers_the_sign_over_the_band_for_small_significant_effects():
    assert sequential_decision((0.001, 0.002), mde=0.01) == "treatment_better"


def test_sequential_decision_keeps_running_without_an_interval():
    assert sequential_decision((float("nan"), float("nan")), mde=0.01) == "keep_running"
    assert sequential_decision((-0.001, 0.001), mde=0.0) == "keep_running"
