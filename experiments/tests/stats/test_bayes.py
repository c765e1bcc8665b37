"""Bayesian chance to beat control and expected loss, exact and normal-approximate."""

import math

import numpy as np
import pytest

from experiments.stats import BayesResult, beta_chance_to_beat, normal_chance_to_beat


def test_beta_chance_to_beat_matches_the_reference():
    result = beta_chance_to_beat(1000, 10000, 1100, 10000)
    assert result.chance_to_beat_control == pytest.approx(0.98946, abs=5e-6)


def test_beta_chance_to_beat_worked_by_hand():
    """Control 1/3 -> Beta(2, 3), treatment 2/3 -> Beta(3, 2).

    f_T(x) = 12 x^2 (1 - x); F_C(x) = 6 x^2 - 8 x^3 + 3 x^4.
    P(T > C) = 12 * integral of (6 x^4 - 14 x^5 + 11 x^6 - 3 x^7) = 12 (6/5 - 14/6 + 11/7 - 3/8) = 53/70.
    """
    result = beta_chance_to_beat(1, 3, 2, 3)
    assert result.chance_to_beat_control == pytest.approx(53 / 70, abs=1e-9)


def test_beta_expected_losses_differ_by_the_difference_of_posterior_means():
    """E[max(T - C, 0)] - E[max(C - T, 0)] = E[T - C]: here 0.6 - 0.4 for Beta(3, 2) against Beta(2, 3)."""
    result = beta_chance_to_beat(1, 3, 2, 3)
    assert result.expected_loss_control - result.expected_loss_treatment == pytest.approx(0.2, abs=1e-9)
    big = beta_chance_to_beat(1000, 10000, 1100, 10000)
    difference_of_means = 1101 / 10002 - 1001 / 10002
    assert big.expected_loss_control - big.expected_loss_treatment == pytest.approx(difference_of_means, abs=1e-9)


def test_beta_expected_losses_agree_with_monte_carlo():
    rng = np.random.default_rng(5)
    control = rng.beta(1 + 1000, 1 + 9000, size=400_000)
    treatment = rng.beta(1 + 1100, 1 + 8900, size=400_000)
    result = beta_chance_to_beat(1000, 10000, 1100, 10000)
    assert result.chance_to_beat_control == pytest.approx(np.mean(treatment > control), abs=2e-3)
    assert result.expected_loss_treatment == pytest.approx(np.maximum(control - treatment, 0).mean(), rel=0.05)
    assert result.expected_loss_control == pytest.approx(np.maximum(treatment - control, 0).mean(), rel=0.01)


def test_beta_chance_to_beat_is_one_half_for_identical_arms():
    result = beta_chance_to_beat(50, 1000, 50, 1000)
    assert result.chance_to_beat_control == pytest.approx(0.5, abs=1e-9)
    assert result.expected_loss_treatment == pytest.approx(result.expected_loss_control, rel=1e-7)


def test_beta_chance_to_beat_with_no_visitors_is_the_prior():
    """Two uniform priors: P(T > C) = 1/2 and E[max(T - C, 0)] = 1/6."""
    result = beta_chance_to_beat(0, 0, 0, 0)
    assert result.chance_to_beat_control == pytest.approx(0.5, abs=1e-9)
    assert result.expected_loss_treatment == pytest.approx(1 / 6, abs=1e-9)


def test_beta_chance_to_beat_stays_a_probability_for_lopsided_arms():
    result = beta_chance_to_beat(0, 100_000, 100_000, 100_000)
    assert result.chance_to_beat_control == pytest.approx(1.0)
    assert 0 <= result.chance_to_beat_control <= 1
    assert result.expected_loss_treatment == pytest.approx(0.0, abs=1e-9)


def test_normal_chance_to_beat_worked_by_hand():
    """Difference 1 with spread sqrt(0.6^2 + 0.8^2) = 1: chance Phi(1) = 0.841345;
    loss of shipping treatment phi(1) - Phi(-1) = 0.241971 - 0.158655 = 0.083315;
    loss of keeping control phi(1) + Phi(1) = 1.083315.
    """
    result = normal_chance_to_beat(10.0, 0.6, 11.0, 0.8)
    assert result.chance_to_beat_control == pytest.approx(0.841345, abs=5e-7)
    assert result.expected_loss_treatment == pytest.approx(0.083315, abs=5e-7)
    assert result.expected_loss_control == pytest.approx(1.083315, abs=5e-7)


def test_normal_chance_to_beat_approximates_the_beta_for_large_samples():
    beta = beta_chance_to_beat(1000, 10000, 1100, 10000)
    normal = normal_chance_to_beat(0.1, math.sqrt(0.1 * 0.9 / 10000), 0.11, math.sqrt(0.11 * 0.89 / 10000))
    assert normal.chance_to_beat_control == pytest.approx(beta.chance_to_beat_control, abs=1e-3)
    assert normal.expected_loss_control == pytest.approx(beta.expected_loss_control, rel=0.01)


def test_normal_chance_to_beat_without_spread_is_certain():
    assert normal_chance_to_beat(1.0, 0.0, 2.0, 0.0) == BayesResult(1.0, 0.0, 1.0)
    assert normal_chance_to_beat(2.0, 0.0, 1.0, 0.0) == BayesResult(0.0, 1.0, 0.0)
    assert normal_chance_to_beat(1.0, 0.0, 1.0, 0.0) == BayesResult(0.5, 0.0, 0.0)


def test_normal_chance_to_beat_with_undefined_input_is_nan():
    for arguments in ((float("nan"), 1.0, 1.0, 1.0), (0.0, -1.0, 1.0, 1.0), (0.0, 1.0, 1.0, float("inf"))):
        result = normal_chance_to_beat(*arguments)
        assert math.isnan(result.chance_to_beat_control)
        assert math.isnan(result.expected_loss_treatment) and math.isnan(result.expected_loss_control)


def test_beta_chance_to_beat_is_exact_for_rare_events_on_huge_arms():
    """5 and 7 conversions out of 10^7: Beta(6, ~10^7) and Beta(8, ~10^7) are, to 1e-6, Gamma(6) and Gamma(8)
    on the same scale, so P(T > C) = P(Beta(8, 6) > 1/2) = P(Binomial(13, 1/2) <= 7) = 5812 / 8192 = 0.709473.
    """
    result = beta_chance_to_beat(5, 10**7, 7, 10**7)
    assert result.chance_to_beat_control == pytest.approx(5812 / 8192, abs=1e-5)
