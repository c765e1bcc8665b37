"""Interleaving preference statistics on visitors small enough to count by hand, and degenerate input."""

import math

import numpy as np
import pytest

from experiments.stats import (
    A_PREFERRED,
    B_PREFERRED,
    NO_PREFERENCE_YET,
    impression_outcomes,
    interleaving_preference,
)

# Seven visitors as (wins_a, wins_b, ties):
#   v1 (2, 0, 0) prefers A    v2 (1, 1, 1) neither    v3 (0, 3, 0) B    v4 (0, 1, 0) B
#   v5 (0, 0, 0) never clicked: not counted           v6 (0, 0, 2) neither    v7 (1, 2, 0) B
SEVEN_WINS_A = [2, 1, 0, 0, 0, 0, 1]
SEVEN_WINS_B = [0, 1, 3, 1, 0, 0, 2]
SEVEN_TIES = [0, 1, 0, 0, 0, 2, 0]


# --------------------------------------------------------------------------- per impression


def test_the_team_with_more_clicks_wins_the_impression_and_no_click_counts_for_nothing():
    a_win, b_win, tie = impression_outcomes([0, 2, 1, 0, 3, 0], [0, 1, 1, 2, 3, 5])

    assert a_win.tolist() == [0, 1, 0, 0, 0, 0]
    assert b_win.tolist() == [0, 0, 0, 1, 0, 1]
    assert tie.tolist() == [0, 0, 1, 0, 1, 0]


def test_impression_outcomes_of_no_impressions_are_empty():
    outcomes = impression_outcomes([], [])
    assert [o.size for o in outcomes] == [0, 0, 0]


@pytest.mark.parametrize("clicks_a, clicks_b", [([1, 2], [1]), ([-1], [0])])
def test_impression_outcomes_reject_mismatched_or_negative_clicks(clicks_a, clicks_b):
    with pytest.raises(ValueError):
        impression_outcomes(clicks_a, clicks_b)


# --------------------------------------------------------------------------- per visitor


def test_seven_visitors_worked_by_hand():
    """Counted: six visitors (v5 never clicked). Wins A 2+1+1 = 4, B 1+3+1+2 = 7, ties 1+2 = 3, 14 in all.

    delta = (4 - 7) / 14 = -3/14. One visitor prefers A, three prefer B (v2 and v6 have equal wins).
    Sign test: scipy.stats.binomtest(1, 4, 0.5) two-sided = 2 P(X <= 1) = 2 (1 + 4) / 16 = 0.625.
    """
    result = interleaving_preference(SEVEN_WINS_A, SEVEN_WINS_B, SEVEN_TIES)

    assert result.visitors == 6
    assert (result.wins_a, result.wins_b, result.ties) == (4, 7, 3)
    assert result.delta == pytest.approx(-3 / 14)
    assert (result.prefer_a, result.prefer_b) == (1, 3)
    assert result.p_value == pytest.approx(0.625)
    assert result.decision == NO_PREFERENCE_YET
    low, high = result.delta_ci
    assert -1 <= low < result.delta < high <= 1


def test_ten_visitors_against_one_is_a_preference_either_way():
    """binomtest(1, 11, 0.5) two-sided = 2 P(X <= 1) = 2 (1 + 11) / 2048 = 3/256 = 0.01171875 < 0.05."""
    ones, zeros = [1] * 10 + [0], [0] * 10 + [1]

    for_b = interleaving_preference(zeros, ones, [0] * 11)
    for_a = interleaving_preference(ones, zeros, [0] * 11)

    assert for_b.p_value == pytest.approx(3 / 256) and for_a.p_value == pytest.approx(3 / 256)
    assert for_b.decision == B_PREFERRED and for_a.decision == A_PREFERRED
    assert for_b.delta == pytest.approx(-9 / 11) and for_a.delta == pytest.approx(9 / 11)
    # alpha below the p-value: the same data is not enough.
    assert interleaving_preference(zeros, ones, [0] * 11, alpha=0.01).decision == NO_PREFERENCE_YET


def test_nine_to_two_is_not_enough():
    """binomtest(2, 11, 0.5) = 2 (1 + 11 + 55) / 2048 = 134/2048 = 0.0654296875 > 0.05."""
    result = interleaving_preference([1] * 9 + [0, 0], [0] * 9 + [1, 1], [0] * 11)

    assert result.p_value == pytest.approx(134 / 2048)
    assert result.decision == NO_PREFERENCE_YET


def test_a_visitor_is_one_vote_however_many_impressions_they_won():
    """One visitor with 50 wins for A against four visitors with one win each for B: B leads 4 to 1 visitors."""
    result = interleaving_preference([50, 0, 0, 0, 0], [0, 1, 1, 1, 1], [0] * 5)

    assert result.delta == pytest.approx(46 / 54)  # impressions favour A
    assert (result.prefer_a, result.prefer_b) == (1, 4)  # visitors favour B
    assert result.p_value == pytest.approx(2 * (1 + 5) / 32)  # binomtest(1, 5) = 0.375


def test_the_bootstrap_interval_of_two_opposite_visitors_spans_minus_one_to_one():
    """Resamples: both v1 (delta 1, prob 1/4), one of each (0, 1/2), both v2 (-1, 1/4): the 2.5 % and 97.5 % points are -1 and 1."""
    result = interleaving_preference([1, 0], [0, 1], [0, 0])

    assert result.delta == 0.0
    assert result.delta_ci == (-1.0, 1.0)


def test_the_bootstrap_matches_resampling_visitors_directly():
    """Drawing counts of distinct visitor kinds is the same distribution as resampling visitor indices."""
    rng = np.random.default_rng(3)
    wins_a, wins_b, ties = rng.poisson(0.6, 400), rng.poisson(0.8, 400), rng.poisson(0.2, 400)
    result = interleaving_preference(wins_a, wins_b, ties, n_boot=20_000, seed=1)

    counted = (wins_a + wins_b + ties) > 0
    numerators = (wins_a - wins_b)[counted]
    denominators = (wins_a + wins_b + ties)[counted]
    taken = rng.integers(0, counted.sum(), size=(20_000, counted.sum()))
    direct = numerators[taken].sum(axis=1) / denominators[taken].sum(axis=1)
    low, high = np.quantile(direct, [0.025, 0.975])

    assert result.delta_ci[0] == pytest.approx(low, abs=0.01)
    assert result.delta_ci[1] == pytest.approx(high, abs=0.01)
    assert result.delta_ci[0] < result.delta < result.delta_ci[1]


def test_the_interval_repeats_for_a_seed_and_narrows_with_alpha():
    first = interleaving_preference(SEVEN_WINS_A, SEVEN_WINS_B, SEVEN_TIES, seed=5)
    again = interleaving_preference(SEVEN_WINS_A, SEVEN_WINS_B, SEVEN_TIES, seed=5)
    narrow = interleaving_preference(SEVEN_WINS_A, SEVEN_WINS_B, SEVEN_TIES, seed=5, alpha=0.5)

    assert first.delta_ci == again.delta_ci
    assert first.delta_ci[0] <= narrow.delta_ci[0] <= narrow.delta_ci[1] <= first.delta_ci[1]


def test_a_hundred_thousand_visitors_are_analysed_quickly():
    rng = np.random.default_rng(0)
    n = 100_000
    result = interleaving_preference(rng.poisson(2.0, n), rng.poisson(2.1, n), rng.poisson(0.5, n))

    assert result.visitors <= n
    assert result.delta < 0 and result.delta_ci[0] < result.delta_ci[1] < 0.01


# --------------------------------------------------------------------------- degenerate input


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    "wins_a, wins_b, ties",
    [([], [], []), ([0, 0, 0], [0, 0, 0], [0, 0, 0])],
    ids=["no visitors", "no clicks"],
)
def test_nothing_counted_is_no_evidence(wins_a, wins_b, ties):
    result = interleaving_preference(wins_a, wins_b, ties)

    assert result.visitors == 0 and (result.wins_a, result.wins_b, result.ties) == (0, 0, 0)
    assert math.isnan(result.delta) and all(math.isnan(end) for end in result.delta_ci)
    assert (result.prefer_a, result.prefer_b) == (0, 0)
    assert math.isnan(result.p_value)
    assert result.decision == NO_PREFERENCE_YET


@pytest.mark.filterwarnings("error")
def test_only_ties_give_a_zero_delta_and_no_test():
    result = interleaving_preference([0, 0], [0, 0], [1, 3])

    assert result.visitors == 2 and result.delta == 0.0
    assert all(math.isnan(end) for end in result.delta_ci)  # every visitor is 0: no spread
    assert math.isnan(result.p_value) and result.decision == NO_PREFERENCE_YET


@pytest.mark.filterwarnings("error")
def test_one_visitor_has_a_delta_but_no_interval():
    result = interleaving_preference([2], [1], [0])

    assert result.visitors == 1 and result.delta == pytest.approx(1 / 3)
    assert all(math.isnan(end) for end in result.delta_ci)
    assert result.p_value == 1.0 and result.decision == NO_PREFERENCE_YET


@pytest.mark.filterwarnings("error")
def test_visitors_all_alike_have_no_interval_but_still_a_sign_test():
    """Twelve visitors who each won one impression for A: no spread to bootstrap; the sign test is 2 / 4096."""
    result = interleaving_preference([1] * 12, [0] * 12, [0] * 12)

    assert result.delta == 1.0
    assert all(math.isnan(end) for end in result.delta_ci)
    assert result.p_value == pytest.approx(2 / 4096)
    assert result.decision == A_PREFERRED


@pytest.mark.parametrize(
    "wins_a, wins_b, ties, options",
    [
        ([1, 2], [1], [0, 0], {}),
        ([[1]], [[1]], [[0]], {}),
        ([-1], [0], [0], {}),
        ([float("nan")], [0], [0], {}),
        ([1], [0], [0], {"alpha": 0}),
        ([1], [0], [0], {"alpha": 1.5}),
        ([1], [0], [0], {"n_boot": 0}),
    ],
)
def test_invalid_input_raises(wins_a, wins_b, ties, options):
    with pytest.raises(ValueError):
        interleaving_preference(wins_a, wins_b, ties, **options)
