"""Fixed-horizon comparisons against FACTS.md reference values and examples worked by hand."""

import math

import numpy as np
import pytest
from scipy import stats

from experiments.stats import (
    MeanSums,
    RatioSums,
    mean_comparison,
    proportion_comparison,
    ratio_comparison,
    welch_test,
)

WELCH_TREATMENT = [0, 15, 0, 22, 0, 0, 40, 0, 9.5, 0]
WELCH_CONTROL = [0, 0, 12.5, 0, 30, 0, 0, 8, 0, 0]


# --------------------------------------------------------------------------- two proportions


@pytest.fixture
def ten_percent_lift():
    """Control 1,000 / 10,000 against treatment 1,100 / 10,000, the FACTS.md example."""
    return proportion_comparison(1000, 10000, 1100, 10000)


def test_proportion_difference_and_standard_error_match_the_reference(ten_percent_lift):
    assert ten_percent_lift.control == pytest.approx(0.1)
    assert ten_percent_lift.treatment == pytest.approx(0.11)
    assert ten_percent_lift.absolute == pytest.approx(0.0100, abs=5e-5)
    assert ten_percent_lift.absolute_se == pytest.approx(0.004335, abs=5e-7)


def test_proportion_z_and_p_value_match_the_reference(ten_percent_lift):
    assert ten_percent_lift.statistic == pytest.approx(2.3069, abs=5e-5)
    assert ten_percent_lift.p_value == pytest.approx(0.02106, abs=5e-6)
    assert ten_percent_lift.df == math.inf


def test_proportion_interval_matches_the_reference(ten_percent_lift):
    low, high = ten_percent_lift.absolute_ci
    assert low == pytest.approx(0.00150, abs=5e-6)
    assert high == pytest.approx(0.01850, abs=5e-6)


def test_proportion_relative_lift_uses_the_delta_method(ten_percent_lift):
    assert ten_percent_lift.relative == pytest.approx(0.1000, abs=5e-5)
    assert ten_percent_lift.relative_se == pytest.approx(0.045475, abs=5e-7)
    low, high = ten_percent_lift.relative_ci
    assert low == pytest.approx(0.01087, abs=5e-6)
    assert high == pytest.approx(0.18913, abs=5e-6)


def test_proportion_interval_narrows_when_alpha_grows():
    wide = proportion_comparison(1000, 10000, 1100, 10000, alpha=0.01)
    narrow = proportion_comparison(1000, 10000, 1100, 10000, alpha=0.10)
    assert wide.absolute_ci[0] < narrow.absolute_ci[0] < narrow.absolute_ci[1] < wide.absolute_ci[1]
    assert wide.p_value == narrow.p_value


def test_proportion_comparison_is_antisymmetric_in_the_arms():
    forward = proportion_comparison(1000, 10000, 1100, 10000)
    backward = proportion_comparison(1100, 10000, 1000, 10000)
    assert backward.absolute == pytest.approx(-forward.absolute)
    assert backward.p_value == pytest.approx(forward.p_value)


def test_proportion_comparison_rejects_more_successes_than_visitors():
    with pytest.raises(ValueError, match="successes must lie in"):
        proportion_comparison(11, 10, 1, 10)


# --------------------------------------------------------------------------- means (Welch)


def test_welch_test_matches_the_reference():
    t, df, p = welch_test(np.array(WELCH_TREATMENT), np.array(WELCH_CONTROL))
    assert t == pytest.approx(0.6808, abs=5e-5)
    assert df == pytest.approx(16.401, abs=5e-4)
    assert p == pytest.approx(0.5055, abs=5e-5)


def test_mean_comparison_from_sql_sums_agrees_with_welch_on_arrays():
    control = MeanSums(n=10, total=sum(WELCH_CONTROL), total_sq=sum(v * v for v in WELCH_CONTROL))
    treatment = MeanSums(n=10, total=sum(WELCH_TREATMENT), total_sq=sum(v * v for v in WELCH_TREATMENT))
    result = mean_comparison(control, treatment)
    assert result.statistic == pytest.approx(0.6808, abs=5e-5)
    assert result.df == pytest.approx(16.401, abs=5e-4)
    assert result.p_value == pytest.approx(0.5055, abs=5e-5)
    assert result.absolute == pytest.approx(8.65 - 5.05)


def test_mean_sums_give_the_sample_mean_and_variance():
    """Values 1, 2, 3, 6: mean 3, squared deviations 4 + 1 + 0 + 9 = 14, variance 14 / 3."""
    sums = MeanSums.from_values([1, 2, 3, 6])
    assert sums == MeanSums(n=4, total=12.0, total_sq=50.0)
    assert sums.mean == pytest.approx(3.0)
    assert sums.variance == pytest.approx(14 / 3)
    assert sums.standard_error == pytest.approx(math.sqrt(14 / 3 / 4))


def test_mean_comparison_worked_by_hand():
    """Control 1, 2, 3, 6 (mean 3, var 14/3); treatment 2, 4, 6 (mean 4, var 4).

    SE^2 = 14/12 + 4/3 = 2.5; t = 1 / sqrt(2.5) = 0.632456;
    df = 2.5^2 / ((14/12)^2 / 3 + (4/3)^2 / 2) = 6.25 / (0.453704 + 0.888889) = 4.655172.
    Relative lift 4/3 - 1 with SE^2 = (4/3)^2 (4/3 / 16 + 14/12 / 9) = (16/9)(23/108) = 92/243, SE 0.615305.
    """
    result = mean_comparison(MeanSums.from_values([1, 2, 3, 6]), MeanSums.from_values([2, 4, 6]))
    assert result.absolute == pytest.approx(1.0)
    assert result.absolute_se == pytest.approx(math.sqrt(2.5))
    assert result.statistic == pytest.approx(0.632456, abs=5e-7)
    assert result.df == pytest.approx(4.655172, abs=5e-7)
    assert result.relative == pytest.approx(1 / 3)
    assert result.relative_se == pytest.approx(math.sqrt(92 / 243))
    assert result.relative_se == pytest.approx(0.615305, abs=5e-7)


def test_mean_comparison_interval_uses_the_t_quantile_with_welch_df():
    result = mean_comparison(MeanSums.from_values([1, 2, 3, 6]), MeanSums.from_values([2, 4, 6]))
    critical = stats.t.ppf(0.975, result.df)
    assert result.absolute_ci == pytest.approx((1 - critical * math.sqrt(2.5), 1 + critical * math.sqrt(2.5)))
    assert critical > 1.96  # a z interval would be too narrow with five degrees of freedom


# --------------------------------------------------------------------------- ratio metrics (delta method)


HAND_RATIO = RatioSums(n=4, sum_y=4, sum_x=12, sum_yy=6, sum_xx=40, sum_xy=14)


def test_ratio_sums_from_values_match_the_sql_aggregates():
    assert RatioSums.from_values([1, 1, 0, 2], [2, 4, 2, 4]) == HAND_RATIO


def test_ratio_delta_method_variance_worked_by_hand():
    """Four visitors with (impressions x, clicks y) = (2, 1), (4, 1), (2, 0), (4, 2).

    R = 4 / 12 = 1/3; mean x = 3, mean y = 1; Var(y) = (0 + 0 + 1 + 1) / 3 = 2/3;
    Var(x) = (1 + 1 + 1 + 1) / 3 = 4/3; Cov = (0 + 0 + 1 + 1) / 3 = 2/3.
    Var(R) = (1/4) [ (2/3)/9 - 2 * 1 * (2/3)/27 + 1 * (4/3)/81 ] = (1/4) (18 - 12 + 4) / 243 = 10/972 = 5/486.
    """
    assert HAND_RATIO.value == pytest.approx(1 / 3)
    assert HAND_RATIO.variance() == pytest.approx(5 / 486)
    assert HAND_RATIO.standard_error == pytest.approx(math.sqrt(5 / 486))
    assert HAND_RATIO.linearised_sd == pytest.approx(math.sqrt(4 * 5 / 486))


def test_ratio_variance_equals_the_four_term_delta_formula_on_random_data():
    rng = np.random.default_rng(11)
    x = rng.poisson(5, size=300) + 1.0
    y = rng.binomial(x.astype(int), 0.2).astype(float)
    n, mx, my = x.size, x.mean(), y.mean()
    var_y, var_x = y.var(ddof=1), x.var(ddof=1)
    cov = np.cov(y, x, ddof=1)[0, 1]
    expected = (var_y / mx**2 - 2 * my * cov / mx**3 + my**2 * var_x / mx**4) / n
    assert RatioSums.from_values(y, x).variance() == pytest.approx(expected, rel=1e-9)


def test_ratio_delta_method_variance_agrees_with_simulation():
    """Over 4,000 seeded replications of 500 visitors, the spread of the CTR matches the delta method to 10 %."""
    rng = np.random.default_rng(2013)
    replications, visitors = 4000, 500
    impressions = 1 + rng.poisson(3.0, size=(replications, visitors))
    # Visitors differ in propensity, so events are correlated within a visitor and the naive binomial
    # variance (per impression) would be too small.
    propensity = rng.beta(1.0, 9.0, size=(replications, visitors))
    clicks = rng.binomial(impressions, propensity)
    ctr = clicks.sum(axis=1) / impressions.sum(axis=1)
    delta_variances = [RatioSums.from_values(clicks[r], impressions[r]).variance() for r in range(200)]
    assert np.mean(delta_variances) == pytest.approx(ctr.var(ddof=1), rel=0.10)
    naive_binomial = 0.1 * 0.9 / impressions[0].sum()
    assert ctr.var(ddof=1) > 1.2 * naive_binomial


def test_ratio_comparison_difference_and_interval():
    control = RatioSums.from_values([1, 1, 0, 2], [2, 4, 2, 4])
    treatment = RatioSums.from_values([2, 1, 1, 2], [2, 4, 2, 4])
    result = ratio_comparison(control, treatment)
    assert result.absolute == pytest.approx(0.5 - 1 / 3)
    assert result.absolute_se == pytest.approx(math.sqrt(control.variance() + treatment.variance()))
    low, high = result.absolute_ci
    assert low == pytest.approx(result.absolute - 1.959964 * result.absolute_se, abs=1e-6)
    assert high == pytest.approx(result.absolute + 1.959964 * result.absolute_se, abs=1e-6)
    assert result.relative == pytest.approx(0.5)
    expected_relative_se = 1.5 * math.sqrt(treatment.variance() / 0.25 + control.variance() / (1 / 9))
    assert result.relative_se == pytest.approx(expected_relative_se)


def test_ratio_comparison_p_value_is_two_sided_normal():
    control = RatioSums.from_values([1, 1, 0, 2], [2, 4, 2, 4])
    treatment = RatioSums.from_values([2, 1, 1, 2], [2, 4, 2, 4])
    result = ratio_comparison(control, treatment)
    assert result.p_value == pytest.approx(math.erfc(abs(result.statistic) / math.sqrt(2)))
