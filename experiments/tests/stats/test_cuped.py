"""CUPED variance reduction with a pre-exposure covariate."""

import numpy as np
import pytest

from experiments.stats import cuped_adjust


def test_cuped_removes_all_variance_when_the_covariate_is_the_outcome():
    y = np.array([1.0, 4.0, 2.0, 8.0, 5.0])
    result = cuped_adjust(y, y.copy())
    assert result.theta == pytest.approx(1.0)
    assert result.variance_reduction == pytest.approx(1.0)
    assert result.adjusted == pytest.approx(np.full(5, 4.0))


def test_cuped_worked_by_hand():
    """x = 0, 1, 2, 3 and y = 1, 1, 3, 3: Cov = (1.5 + 0.5 + 0.5 + 1.5) / 4 = 1, Var(x) = 1.25, theta = 0.8.

    Y' = y - 0.8 (x - 1.5) = 2.2, 1.4, 2.6, 1.8: variance 0.2 against Var(y) = 1, a reduction of 0.8
    (rho^2 = 1 / (1.25 * 1) = 0.8).
    """
    result = cuped_adjust(np.array([1.0, 1.0, 3.0, 3.0]), np.array([0.0, 1.0, 2.0, 3.0]))
    assert result.theta == pytest.approx(0.8)
    assert result.adjusted == pytest.approx([2.2, 1.4, 2.6, 1.8])
    assert result.variance_reduction == pytest.approx(0.8)


def test_cuped_keeps_the_mean():
    rng = np.random.default_rng(8)
    x = rng.normal(10, 2, size=1000)
    y = 3 + 0.5 * x + rng.normal(0, 1, size=1000)
    assert cuped_adjust(y, x).adjusted.mean() == pytest.approx(y.mean())


def test_cuped_with_an_independent_covariate_reduces_almost_nothing():
    rng = np.random.default_rng(21)
    result = cuped_adjust(rng.normal(size=20_000), rng.normal(size=20_000))
    assert result.variance_reduction == pytest.approx(0.0, abs=0.002)


def test_cuped_reduction_is_the_squared_correlation():
    rng = np.random.default_rng(34)
    x = rng.normal(size=50_000)
    y = 0.6 * x + 0.8 * rng.normal(size=50_000)  # rho = 0.6
    result = cuped_adjust(y, x)
    assert result.variance_reduction == pytest.approx(np.corrcoef(x, y)[0, 1] ** 2, rel=1e-9)
    assert result.variance_reduction == pytest.approx(0.36, abs=0.01)


def test_cuped_with_a_constant_covariate_leaves_the_outcome_alone():
    y = np.array([1.0, 2.0, 3.0])
    result = cuped_adjust(y, np.full(3, 7.0))
    assert result.theta == 0.0 and result.variance_reduction == 0.0
    assert result.adjusted == pytest.approx(y)


def test_cuped_with_a_constant_outcome_reports_no_reduction():
    result = cuped_adjust(np.full(4, 2.0), np.array([1.0, 2.0, 3.0, 4.0]))
    assert result.theta == 0.0 and result.variance_reduction == 0.0


@pytest.mark.filterwarnings("error")  # no "mean of empty slice" on the results page's log
def test_cuped_with_no_visitors_returns_an_empty_array():
    result = cuped_adjust(np.array([]), np.array([]))
    assert result.adjusted.size == 0 and result.theta == 0.0 and result.variance_reduction == 0.0


def test_cuped_rejects_arrays_of_different_lengths():
    with pytest.raises(ValueError, match="same length"):
        cuped_adjust(np.ones(3), np.ones(4))
