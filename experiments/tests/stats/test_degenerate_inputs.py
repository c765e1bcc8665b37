"""Empty arms, zero denominators, zero control rates and constant values: documented nan/None, never an exception."""

import itertools
import math

import numpy as np
import pytest

from experiments.stats import (
    MeanSums,
    RatioSums,
    beta_chance_to_beat,
    mean_comparison,
    proportion_comparison,
    ratio_comparison,
    welch_test,
)

# Degenerate input must not even warn: a RuntimeWarning here is a division by zero that numpy forgave.
pytestmark = pytest.mark.filterwarnings("error")


def _assert_displayable(comparison):
    """A p-value is in [0, 1] or nan; an interval is ordered or (nan, nan); a relative interval needs a lift."""
    assert math.isnan(comparison.p_value) or 0 <= comparison.p_value <= 1
    for interval in (comparison.absolute_ci, comparison.relative_ci):
        if interval is None:
            continue
        low, high = interval
        assert (math.isnan(low) and math.isnan(high)) or low <= high
    if comparison.relative is None:
        assert comparison.relative_ci is None


def test_proportion_comparison_with_an_empty_arm_is_undefined():
    result = proportion_comparison(0, 0, 5, 100)
    assert math.isnan(result.control) and math.isnan(result.absolute) and math.isnan(result.p_value)
    assert result.relative is None and result.relative_ci is None
    _assert_displayable(result)


def test_proportion_comparison_with_a_zero_control_rate_has_no_relative_lift():
    result = proportion_comparison(0, 100, 5, 100)
    assert result.control == 0.0 and result.absolute == pytest.approx(0.05)
    assert result.relative is None and result.relative_ci is None
    assert 0 < result.p_value < 1
    _assert_displayable(result)


def test_proportion_comparison_without_any_conversion_has_no_test():
    result = proportion_comparison(0, 100, 0, 100)
    assert result.absolute == 0.0 and math.isnan(result.p_value)
    assert all(math.isnan(end) for end in result.absolute_ci)


def test_proportion_comparison_with_a_zero_treatment_rate_has_a_lift_of_minus_one_without_an_interval():
    """T = 0 with Var(T) = 0: the delta-method variance Var(T)/C^2 + T^2 Var(C)/C^4 is 0, so no interval."""
    result = proportion_comparison(5, 100, 0, 100)
    assert result.relative == pytest.approx(-1.0)
    assert all(math.isnan(end) for end in result.relative_ci)
    assert 0 < result.p_value < 1
    _assert_displayable(result)


def test_proportion_comparison_stays_displayable_for_every_small_count():
    for cs, cn, ts, tn in itertools.product(range(3), range(3), range(3), range(3)):
        if cs <= cn and ts <= tn:
            _assert_displayable(proportion_comparison(cs, cn, ts, tn))


def test_mean_sums_below_two_visitors_have_no_variance():
    assert math.isnan(MeanSums(0, 0.0, 0.0).mean)
    assert math.isnan(MeanSums(1, 5.0, 25.0).variance)
    assert math.isnan(MeanSums(1, 5.0, 25.0).standard_error)


def test_mean_comparison_with_fewer_than_two_visitors_is_undefined():
    for control in (MeanSums(0, 0.0, 0.0), MeanSums(1, 5.0, 25.0)):
        result = mean_comparison(control, MeanSums.from_values([1.0, 2.0, 3.0]))
        assert math.isnan(result.p_value)
        _assert_displayable(result)


def test_mean_comparison_of_constant_arms_reports_the_difference_without_a_test():
    result = mean_comparison(MeanSums.from_values([3.0] * 5), MeanSums.from_values([4.0] * 5))
    assert result.absolute == 1.0 and result.relative == pytest.approx(1 / 3)
    assert math.isnan(result.p_value)
    _assert_displayable(result)


def test_mean_comparison_with_one_constant_arm_still_tests():
    result = mean_comparison(MeanSums.from_values([0.0] * 50), MeanSums.from_values([0.0] * 45 + [10.0] * 5))
    assert result.relative is None  # control revenue 0
    assert 0 < result.p_value < 1
    assert result.df == pytest.approx(49.0)  # all the variance is in the treatment arm
    _assert_displayable(result)


def test_mean_sums_variance_never_goes_negative_from_rounding():
    sums = MeanSums(n=3, total=3e8 + 3, total_sq=3 * (1e8 + 1) ** 2 * (1 - 1e-16))
    assert sums.variance >= 0


def test_welch_test_of_identical_constant_arrays_is_nan_not_an_error():
    t, df, p = welch_test(np.zeros(5), np.zeros(5))
    assert math.isnan(t) and math.isnan(df) and math.isnan(p)


def test_ratio_with_no_impressions_is_nan():
    empty = RatioSums(n=10, sum_y=0, sum_x=0, sum_yy=0, sum_xx=0, sum_xy=0)
    assert math.isnan(empty.value) and math.isnan(empty.variance())
    result = ratio_comparison(empty, RatioSums.from_values([1, 0, 2], [3, 3, 4]))
    assert math.isnan(result.p_value) and result.relative is None
    _assert_displayable(result)


def test_ratio_with_no_visitors_is_nan():
    nobody = RatioSums(n=0, sum_y=0, sum_x=0, sum_yy=0, sum_xx=0, sum_xy=0)
    assert math.isnan(nobody.value) and math.isnan(nobody.variance()) and math.isnan(nobody.linearised_sd)
    _assert_displayable(ratio_comparison(nobody, nobody))


def test_ratio_with_no_clicks_in_control_has_no_relative_lift():
    control = RatioSums.from_values([0, 0, 0, 0], [2, 3, 4, 5])
    treatment = RatioSums.from_values([1, 0, 2, 0], [2, 3, 4, 5])
    result = ratio_comparison(control, treatment)
    assert control.variance() == 0.0
    assert result.relative is None and 0 < result.p_value < 1
    _assert_displayable(result)


def test_random_small_experiments_always_give_displayable_results():
    rng = np.random.default_rng(99)
    for _ in range(300):
        arms = []
        for _arm in range(2):
            n = int(rng.integers(0, 6))
            x = rng.integers(0, 4, size=n).astype(float)
            y = rng.binomial(x.astype(int), 0.3).astype(float)
            arms.append((y, x))
        _assert_displayable(ratio_comparison(RatioSums.from_values(*arms[0]), RatioSums.from_values(*arms[1])))
        _assert_displayable(mean_comparison(MeanSums.from_values(arms[0][0]), MeanSums.from_values(arms[1][0])))


def test_beta_chance_to_beat_with_an_empty_control_uses_its_uniform_prior():
    """C ~ Beta(1, 1) is uniform, so P(T > C) = E[F_C(T)] = E[T] = 4 / 12 for T ~ Beta(4, 8)."""
    assert beta_chance_to_beat(0, 0, 3, 10).chance_to_beat_control == pytest.approx(1 / 3, abs=1e-9)


def test_invalid_alpha_is_rejected():
    with pytest.raises(ValueError):
        proportion_comparison(1, 10, 2, 10, alpha=0.0)
