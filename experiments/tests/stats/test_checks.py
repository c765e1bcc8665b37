"""Sample-ratio-mismatch check and Holm's adjustment for several treatment arms."""

import math

import numpy as np
import pytest

from experiments.stats import holm_adjust, srm_check


# --------------------------------------------------------------------------- SRM


def test_srm_flags_a_600_visitor_imbalance():
    result = srm_check([10000, 10600], [0.5, 0.5])
    assert result.chi2 == pytest.approx(17.4757, abs=5e-5)
    assert result.p_value == pytest.approx(2.91e-05, abs=5e-8)
    assert result.flagged
    assert result.expected == (10300.0, 10300.0)


def test_srm_does_not_flag_a_100_visitor_imbalance():
    result = srm_check([10000, 10100], [0.5, 0.5])
    assert result.chi2 == pytest.approx(0.4975, abs=5e-5)
    assert result.p_value == pytest.approx(0.481, abs=5e-4)
    assert not result.flagged


def test_srm_three_arms_match_the_reference_and_pass_the_strict_threshold():
    result = srm_check([50500, 29800, 19700], [50, 30, 20])
    assert result.chi2 == pytest.approx(10.8333, abs=5e-5)
    assert result.p_value == pytest.approx(0.00444, abs=5e-6)
    assert not result.flagged  # p = 0.0044 is above 0.001
    assert srm_check([50500, 29800, 19700], [50, 30, 20], threshold=0.01).flagged


def test_srm_weights_need_not_sum_to_one():
    assert srm_check([10000, 10600], [1, 1]) == srm_check([10000, 10600], [0.5, 0.5])


def test_srm_with_no_visitors_is_not_flagged():
    result = srm_check([0, 0], [0.5, 0.5])
    assert (result.chi2, result.p_value, result.flagged) == (0.0, 1.0, False)


def test_srm_flags_visitors_in_an_arm_with_zero_weight():
    result = srm_check([100, 100, 3], [0.5, 0.5, 0.0])
    assert result.flagged and result.p_value == 0.0 and math.isinf(result.chi2)


def test_srm_ignores_an_empty_arm_with_zero_weight():
    assert srm_check([10000, 10600, 0], [1, 1, 0]).chi2 == pytest.approx(17.4757, abs=5e-5)


def test_srm_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        srm_check([1, 2, 3], [0.5, 0.5])


# --------------------------------------------------------------------------- Holm


def test_holm_adjusts_a_textbook_example():
    """Sorted p 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 -> 0.02, 0.03, 0.06, 0.04; the running maximum
    makes the last 0.06. Returned in the input order.
    """
    assert holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_adjusted_p_values_at_one():
    """0.6 * 2 = 1.2 and 0.7 * 1 = 0.7, raised to the running maximum 1.2: both capped at 1."""
    assert holm_adjust([0.6, 0.7]) == [1.0, 1.0]


def test_holm_with_one_test_changes_nothing():
    assert holm_adjust([0.0123]) == [0.0123]
    assert holm_adjust([]) == []


def test_holm_keeps_the_order_of_the_raw_p_values_and_never_lowers_them():
    rng = np.random.default_rng(3)
    for _ in range(200):
        raw = rng.uniform(0, 0.2, size=rng.integers(2, 8))
        adjusted = np.array(holm_adjust(raw))
        assert (adjusted >= raw).all() and (adjusted <= 1).all()
        order = np.argsort(raw)
        assert (np.diff(adjusted[order]) >= 0).all()


def test_holm_leaves_missing_p_values_out_of_the_count():
    adjusted = holm_adjust([0.01, float("nan"), 0.04])
    assert adjusted[0] == pytest.approx(0.02) and adjusted[2] == pytest.approx(0.04)
    assert math.isnan(adjusted[1])
