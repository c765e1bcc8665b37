"""The issue's acceptance statistics, by seeded simulation of per-visitor click data.

Each simulated visitor sees 1 + Poisson(4) impressions (exposure means at least one served list) and clicks
each with the arm's CTR, so clicks ~ Binomial(impressions, CTR). Simulations are vectorised over
experiments; only the final per-experiment call goes through the public API, the way the results page
calls it with SQL sums.
"""

import math

import numpy as np
import pytest

from experiments.stats import (
    RatioSums,
    always_valid_interval,
    ratio_comparison,
    sample_size_per_arm,
    sequential_decision,
)

BASELINE_CTR = 0.05
EXTRA_IMPRESSIONS = 4.0  # impressions per visitor = 1 + Poisson(4), mean 5
SUM_FIELDS = ("sum_y", "sum_x", "sum_yy", "sum_xx", "sum_xy")


def _visitors(rng, shape, ctr):
    """Return per-visitor (clicks, impressions) arrays of the given shape."""
    impressions = 1 + rng.poisson(EXTRA_IMPRESSIONS, size=shape)
    clicks = rng.binomial(impressions, ctr)
    return clicks.astype(float), impressions.astype(float)


def _sums(clicks, impressions):
    """Return the five SQL aggregates over the last axis (the visitors)."""
    return {
        "sum_y": clicks.sum(axis=-1),
        "sum_x": impressions.sum(axis=-1),
        "sum_yy": (clicks * clicks).sum(axis=-1),
        "sum_xx": (impressions * impressions).sum(axis=-1),
        "sum_xy": (clicks * impressions).sum(axis=-1),
    }


def _ratio_sums(sums, n, index):
    return RatioSums(n=n, **{field: float(sums[field][index]) for field in SUM_FIELDS})


# --------------------------------------------------------------------------- A/A, fixed horizon

AA_EXPERIMENTS = 500
AA_VISITORS_PER_ARM = 2000


@pytest.fixture(scope="module")
def aa_experiments():
    """500 A/A experiments of 2,000 visitors per arm, both arms at the baseline CTR: (control sums, treatment sums)."""
    rng = np.random.default_rng(20240601)
    shape = (AA_EXPERIMENTS, AA_VISITORS_PER_ARM)
    return _sums(*_visitors(rng, shape, BASELINE_CTR)), _sums(*_visitors(rng, shape, BASELINE_CTR))


def test_aa_false_positive_rate_at_a_fixed_horizon_is_near_five_percent(aa_experiments):
    control, treatment = aa_experiments
    p_values = np.array(
        [
            ratio_comparison(
                _ratio_sums(control, AA_VISITORS_PER_ARM, e), _ratio_sums(treatment, AA_VISITORS_PER_ARM, e)
            ).p_value
            for e in range(AA_EXPERIMENTS)
        ]
    )
    false_positive_rate = np.mean(p_values < 0.05)
    assert 0.03 <= false_positive_rate <= 0.07, false_positive_rate


# --------------------------------------------------------------------------- A/A, 14 daily looks

PEEKING_EXPERIMENTS = 500
DAYS = 14
VISITORS_PER_ARM_PER_DAY = 300


def _cumulative_daily_sums(rng, ctr, experiments):
    """Return the aggregates as they stand after each day: arrays of shape (experiments, DAYS)."""
    daily = _sums(*_visitors(rng, (experiments, DAYS, VISITORS_PER_ARM_PER_DAY), ctr))
    return {field: np.cumsum(values, axis=1) for field, values in daily.items()}


def _daily_looks(control, treatment, experiments):
    """Return, per experiment and day, the fixed-horizon p-value and the always-valid interval."""
    p_values = np.empty((experiments, DAYS))
    intervals = np.empty((experiments, DAYS, 2))
    for e in range(experiments):
        for day in range(DAYS):
            n = VISITORS_PER_ARM_PER_DAY * (day + 1)
            comparison = ratio_comparison(_ratio_sums(control, n, (e, day)), _ratio_sums(treatment, n, (e, day)))
            p_values[e, day] = comparison.p_value
            intervals[e, day] = always_valid_interval(comparison, 2 * n)
    return p_values, intervals


@pytest.fixture(scope="module")
def aa_daily_looks():
    rng = np.random.default_rng(20240614)
    control = _cumulative_daily_sums(rng, BASELINE_CTR, PEEKING_EXPERIMENTS)
    treatment = _cumulative_daily_sums(rng, BASELINE_CTR, PEEKING_EXPERIMENTS)
    return _daily_looks(control, treatment, PEEKING_EXPERIMENTS)


def test_peeking_daily_at_a_fixed_horizon_test_inflates_false_positives_above_ten_percent(aa_daily_looks):
    p_values, _ = aa_daily_looks
    stopped_on_a_false_positive = (p_values < 0.05).any(axis=1)
    assert stopped_on_a_false_positive.mean() > 0.10, stopped_on_a_false_positive.mean()


def test_peeking_daily_at_the_confidence_sequence_keeps_false_positives_at_most_five_percent(aa_daily_looks):
    _, intervals = aa_daily_looks
    excludes_zero = (intervals[..., 0] > 0) | (intervals[..., 1] < 0)
    stopped_on_a_false_positive = excludes_zero.any(axis=1)
    assert stopped_on_a_false_positive.mean() <= 0.05, stopped_on_a_false_positive.mean()


def test_sequential_monitor_calls_a_large_lift_within_two_weeks():
    """A +30 % CTR lift: the monitor says "treatment_better" by day 14 in most experiments, "worse" in none."""
    rng = np.random.default_rng(20240615)
    experiments = 100
    control = _cumulative_daily_sums(rng, BASELINE_CTR, experiments)
    treatment = _cumulative_daily_sums(rng, BASELINE_CTR * 1.3, experiments)
    _, intervals = _daily_looks(control, treatment, experiments)
    decisions = np.array(
        [[sequential_decision(tuple(intervals[e, day]), mde=0.005) for day in range(DAYS)] for e in range(experiments)]
    )
    assert (decisions == "treatment_better").any(axis=1).mean() >= 0.8
    assert not (decisions == "treatment_worse").any()


# --------------------------------------------------------------------------- power at the planned size

POWER_SIMULATIONS = 200
LIFT = 0.2


@pytest.fixture(scope="module")
def planned_visitors_per_arm(aa_experiments):
    """Plan a +20 % CTR lift from the A/A data: baseline CTR and the per-visitor (delta-method) sd.

    Clicks are binomial given impressions, so the linearised variance is p (1 - p) / mean(impressions): the
    treatment's is the control's times (1 + m)(1 - p (1 + m)) / (1 - p). The planner is given it; planning
    with the control's sd for both arms would aim at 80 % and reach about 76 %.
    """
    control, treatment = aa_experiments
    pooled = RatioSums(
        n=2 * AA_EXPERIMENTS * AA_VISITORS_PER_ARM,
        **{field: float(control[field].sum() + treatment[field].sum()) for field in SUM_FIELDS},
    )
    ctr = pooled.value
    assert ctr == pytest.approx(BASELINE_CTR, rel=0.01)
    assert pooled.linearised_sd == pytest.approx(math.sqrt(0.05 * 0.95 / 5), rel=0.02)
    variance_growth = (1 + LIFT) * (1 - ctr * (1 + LIFT)) / (1 - ctr)
    return sample_size_per_arm(
        baseline_mean=ctr,
        baseline_sd=pooled.linearised_sd,
        treatment_sd=pooled.linearised_sd * math.sqrt(variance_growth),
        mde_relative=LIFT,
    )


def test_planner_sample_size_detects_a_twenty_percent_lift_in_at_least_three_quarters_of_experiments(
    planned_visitors_per_arm,
):
    n = planned_visitors_per_arm
    assert 1000 < n < 2500  # 7.85 * (0.0095 + 0.0113) / 0.01^2 = 1,630 for the true parameters
    rng = np.random.default_rng(20240616)
    control = _sums(*_visitors(rng, (POWER_SIMULATIONS, n), BASELINE_CTR))
    treatment = _sums(*_visitors(rng, (POWER_SIMULATIONS, n), BASELINE_CTR * (1 + LIFT)))
    detected = 0
    for e in range(POWER_SIMULATIONS):
        comparison = ratio_comparison(_ratio_sums(control, n, e), _ratio_sums(treatment, n, e))
        detected += comparison.p_value < 0.05 and comparison.absolute > 0
    assert detected / POWER_SIMULATIONS >= 0.75, detected / POWER_SIMULATIONS
