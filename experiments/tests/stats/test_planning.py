"""Sample-size planner and the days of traffic it implies."""

import math

import pytest

from experiments.stats import days_needed, sample_size_per_arm, sample_size_proportion

# (z_0.975 + z_0.8)^2 with scipy's quantiles: (1.959964 + 0.841621)^2.
Z_SQUARED = 7.848879734349088


def test_sample_size_proportion_for_a_ten_percent_lift_on_a_ten_percent_rate():
    """p1 = 0.1, p2 = 0.11, delta = 0.01: 7.848880 * (0.1 * 0.9 + 0.11 * 0.89) / 0.01^2 = 14,748.05 -> 14,749."""
    assert sample_size_proportion(baseline_rate=0.1, mde_relative=0.1) == 14_749


def test_sample_size_per_arm_with_a_shared_sd_is_the_textbook_two_sigma_squared():
    """Baseline 0.1, sd 0.3 (= sqrt(0.1 * 0.9)), delta 0.01: 7.848880 * 2 * 0.09 / 0.0001 = 14,127.98 -> 14,128."""
    assert sample_size_per_arm(baseline_mean=0.1, baseline_sd=0.3, mde_relative=0.1) == 14_128
    assert Z_SQUARED * 2 * 0.09 / 0.0001 == pytest.approx(14_127.98, abs=0.01)


def test_sample_size_per_arm_worked_by_hand_for_revenue():
    """Revenue per visitor 20 with sd 50, a 5 % lift (delta 1): 7.848880 * 2 * 2500 / 1 = 39,244.4 -> 39,245."""
    assert sample_size_per_arm(baseline_mean=20.0, baseline_sd=50.0, mde_relative=0.05) == 39_245


def test_sample_size_per_arm_uses_the_treatment_sd_when_given():
    """Control sd 50, treatment sd 60, delta 1: 7.848880 * (2500 + 3600) = 47,878.2 -> 47,879."""
    assert sample_size_per_arm(baseline_mean=20.0, baseline_sd=50.0, treatment_sd=60.0, mde_relative=0.05) == 47_879


def test_sample_size_grows_with_power_and_shrinks_with_alpha():
    base = dict(baseline_mean=20.0, baseline_sd=50.0, mde_relative=0.05)
    assert sample_size_per_arm(**base, power=0.9) > sample_size_per_arm(**base)
    assert sample_size_per_arm(**base, alpha=0.10) < sample_size_per_arm(**base)


def test_sample_size_ignores_the_sign_of_the_effect():
    assert sample_size_per_arm(baseline_mean=20.0, baseline_sd=50.0, mde_relative=-0.05) == 39_245


def test_sample_size_rejects_an_effect_of_zero():
    with pytest.raises(ValueError):
        sample_size_per_arm(baseline_mean=0.0, baseline_sd=1.0, mde_relative=0.1)
    with pytest.raises(ValueError):
        sample_size_proportion(baseline_rate=0.1, mde_relative=0.0)


def test_sample_size_rejects_rates_outside_zero_and_one():
    with pytest.raises(ValueError, match="baseline_rate must lie in"):
        sample_size_proportion(baseline_rate=0.0, mde_relative=0.1)
    with pytest.raises(ValueError, match="is not a rate"):
        sample_size_proportion(baseline_rate=0.9, mde_relative=0.2)


def test_sample_size_without_spread_is_the_minimum_of_two():
    assert sample_size_per_arm(baseline_mean=1.0, baseline_sd=0.0, mde_relative=0.1) == 2


def test_days_needed_divides_total_visitors_by_daily_traffic():
    assert days_needed(visitors_needed_total=2 * 14_749, visitors_per_day=2000) == pytest.approx(14.749)


def test_days_needed_without_traffic_is_none():
    assert days_needed(visitors_needed_total=1000, visitors_per_day=0) is None
    assert days_needed(visitors_needed_total=1000, visitors_per_day=math.nan) is None
