"""Statistics of A/B experiments: comparisons, checks, Bayesian summaries, sequential monitoring, planning.

Pure numpy/scipy, no Django: the caller turns database aggregates into the sums below. The randomisation
unit is the visitor, so every variance here is a variance over visitors, never over events (a click-through
rate is a ratio of two per-visitor sums; see Deng, Knoblich and Lu, 2018). Each function names its source.

Degenerate input never raises. The conventions, shared by every function:

- an arm with no visitors (or, for a ratio, no denominator) has a ``nan`` value;
- a statistic that needs a standard error is ``nan`` when that error is 0 or undefined (no variation,
  fewer than two visitors): ``p_value`` is then ``nan`` and every interval is ``(nan, nan)``, which the
  results page shows as "not enough data" rather than as certainty;
- the relative lift and its interval are ``None`` when the control value is 0 or undefined;
- otherwise p-values lie in [0, 1] and intervals are ordered ``(low, high)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import integrate, stats

__all__ = [
    "DEFAULT_TUNING_N",
    "KEEP_RUNNING",
    "NO_MEANINGFUL_DIFFERENCE",
    "TREATMENT_BETTER",
    "TREATMENT_WORSE",
    "BayesResult",
    "Comparison",
    "CupedResult",
    "MeanSums",
    "RatioSums",
    "SrmResult",
    "always_valid_interval",
    "beta_chance_to_beat",
    "confidence_sequence",
    "cuped_adjust",
    "days_needed",
    "holm_adjust",
    "mean_comparison",
    "normal_chance_to_beat",
    "proportion_comparison",
    "ratio_comparison",
    "sample_size_per_arm",
    "sample_size_proportion",
    "sequential_decision",
    "srm_check",
    "welch_test",
]

NAN = float("nan")
NAN_INTERVAL = (NAN, NAN)

# Total visitors at which the always-valid interval is tightest relative to the fixed one; a store experiment
# usually plans a few thousand visitors. Set ``tuning_n`` near the planned sample size where it is known.
DEFAULT_TUNING_N = 5000

KEEP_RUNNING = "keep_running"
TREATMENT_BETTER = "treatment_better"
TREATMENT_WORSE = "treatment_worse"
NO_MEANINGFUL_DIFFERENCE = "no_meaningful_difference"


# --------------------------------------------------------------------------- per-arm summaries


@dataclass(frozen=True)
class MeanSums:
    """Per-arm sums of a per-visitor metric (revenue per visitor, conversion as 0/1), as SQL aggregates give them."""

    n: int
    total: float
    total_sq: float

    @classmethod
    def from_values(cls, values) -> MeanSums:
        """Summarise per-visitor values, so tests and callers holding arrays share the SQL path."""
        values = np.asarray(values, dtype=float)
        return cls(n=int(values.size), total=float(values.sum()), total_sq=float(np.square(values).sum()))

    @property
    def mean(self) -> float:
        """Mean per visitor; nan for an empty arm."""
        return self.total / self.n if self.n > 0 else NAN

    @property
    def variance(self) -> float:
        """Sample variance (ddof=1); nan below two visitors, clipped at 0 against rounding in the sums."""
        if self.n < 2:
            return NAN
        return max((self.total_sq - self.total * self.total / self.n) / (self.n - 1), 0.0)

    @property
    def standard_error(self) -> float:
        """Standard error of the mean; nan below two visitors."""
        return math.sqrt(self.variance / self.n) if self.n >= 2 else NAN


@dataclass(frozen=True)
class RatioSums:
    """Per-arm sums over exposed visitors for a ratio metric sum(y) / sum(x), such as clicks / impressions."""

    n: int
    sum_y: float
    sum_x: float
    sum_yy: float
    sum_xx: float
    sum_xy: float

    @classmethod
    def from_values(cls, y, x) -> RatioSums:
        """Summarise per-visitor numerators ``y`` and denominators ``x`` the way the SQL aggregates do."""
        y = np.asarray(y, dtype=float)
        x = np.asarray(x, dtype=float)
        if y.shape != x.shape:
            raise ValueError(f"y and x differ in shape: {y.shape} vs {x.shape}")
        return cls(
            n=int(y.size),
            sum_y=float(y.sum()),
            sum_x=float(x.sum()),
            sum_yy=float((y * y).sum()),
            sum_xx=float((x * x).sum()),
            sum_xy=float((x * y).sum()),
        )

    @property
    def value(self) -> float:
        """Return sum(y) / sum(x); nan when the denominator is 0 (no impressions yet)."""
        return self.sum_y / self.sum_x if self.sum_x != 0 else NAN

    def variance(self) -> float:
        """Return the delta-method variance of the ratio over visitors; nan below two visitors or with sum(x) 0.

        Var(R) = Var(Y - R X) / (n mean(X)^2): the same as Var(Y)/mx^2 - 2 my Cov(Y,X)/mx^3 + my^2 Var(X)/mx^4
        over n, written so that it cannot go negative (Deng, Knoblich and Lu, 2018).
        """
        if self.n < 2 or self.sum_x == 0:
            return NAN
        n = self.n
        ratio = self.sum_y / self.sum_x
        mean_x = self.sum_x / n
        var_y = (self.sum_yy - self.sum_y * self.sum_y / n) / (n - 1)
        var_x = (self.sum_xx - self.sum_x * self.sum_x / n) / (n - 1)
        cov_xy = (self.sum_xy - self.sum_x * self.sum_y / n) / (n - 1)
        linearised_variance = max(var_y - 2 * ratio * cov_xy + ratio * ratio * var_x, 0.0)
        return linearised_variance / (n * mean_x * mean_x)

    @property
    def standard_error(self) -> float:
        """Delta-method standard error of the ratio; nan when undefined."""
        variance = self.variance()
        return math.sqrt(variance) if not math.isnan(variance) else NAN

    @property
    def linearised_sd(self) -> float:
        """Per-visitor standard deviation of the ratio, sqrt(n Var(R)): the sigma a sample-size planner needs."""
        variance = self.variance()
        return math.sqrt(self.n * variance) if not math.isnan(variance) else NAN


# --------------------------------------------------------------------------- fixed-horizon comparisons


@dataclass(frozen=True)
class Comparison:
    """Treatment against control on one metric, with absolute and relative effects and their intervals."""

    control: float
    treatment: float
    absolute: float
    absolute_ci: tuple[float, float]
    relative: float | None
    relative_ci: tuple[float, float] | None
    p_value: float
    absolute_se: float = NAN
    relative_se: float | None = None
    statistic: float = NAN  # z, or t for Welch
    df: float = math.inf  # degrees of freedom of ``statistic``; inf for a normal test
    alpha: float = 0.05


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")


def _is_usable(value: float) -> bool:
    return value is not None and math.isfinite(value)


def _compare(
    control: float,
    treatment: float,
    control_var: float,
    treatment_var: float,
    *,
    alpha: float,
    df: float = math.inf,
) -> Comparison:
    """Build a Comparison from two independent estimates and the variances of those estimates.

    One place applies the module's conventions (nan when a standard error is 0 or undefined, None when the
    control is 0), so the three public comparisons cannot drift apart.
    """
    _check_alpha(alpha)
    absolute = treatment - control if _is_usable(control) and _is_usable(treatment) else NAN
    variances_known = _is_usable(control_var) and _is_usable(treatment_var)
    absolute_se = math.sqrt(control_var + treatment_var) if variances_known else NAN
    usable_df = df == math.inf or (_is_usable(df) and df > 0)
    testable = _is_usable(absolute) and _is_usable(absolute_se) and absolute_se > 0 and usable_df

    if testable:
        reference = stats.norm if math.isinf(df) else stats.t(df)
        critical = float(reference.ppf(1 - alpha / 2))
        statistic = absolute / absolute_se
        p_value = min(max(float(2 * reference.sf(abs(statistic))), 0.0), 1.0)
        absolute_ci = (absolute - critical * absolute_se, absolute + critical * absolute_se)
    else:
        critical = NAN
        statistic = NAN
        p_value = NAN
        absolute_ci = NAN_INTERVAL

    relative: float | None = None
    relative_ci: tuple[float, float] | None = None
    relative_se: float | None = None
    if _is_usable(control) and control != 0 and _is_usable(treatment):
        relative = treatment / control - 1
        if testable:
            # Delta method for T/C - 1 with independent arms: Var(T)/C^2 + T^2 Var(C)/C^4, the usual
            # (T/C)^2 (Var(T)/T^2 + Var(C)/C^2) without dividing by T.
            relative_se = math.sqrt(treatment_var / control**2 + treatment**2 * control_var / control**4)
        if relative_se is not None and relative_se > 0:
            relative_ci = (relative - critical * relative_se, relative + critical * relative_se)
        else:
            relative_ci = NAN_INTERVAL

    return Comparison(
        control=control,
        treatment=treatment,
        absolute=absolute,
        absolute_ci=absolute_ci,
        relative=relative,
        relative_ci=relative_ci,
        p_value=p_value,
        absolute_se=absolute_se,
        relative_se=relative_se,
        statistic=statistic,
        df=df,
        alpha=alpha,
    )


def proportion_comparison(
    control_successes: int,
    control_n: int,
    treatment_successes: int,
    treatment_n: int,
    *,
    alpha: float = 0.05,
) -> Comparison:
    """Compare two conversion rates with the unpooled Wald z test; the relative lift comes from the delta method.

    Unpooled, so the interval and the test use the same standard error and never disagree.
    """
    for successes, n in ((control_successes, control_n), (treatment_successes, treatment_n)):
        if n < 0 or successes < 0 or successes > n:
            raise ValueError(f"successes must lie in [0, n], got {successes} of {n}")
    control = control_successes / control_n if control_n > 0 else NAN
    treatment = treatment_successes / treatment_n if treatment_n > 0 else NAN
    control_var = control * (1 - control) / control_n if control_n > 0 else NAN
    treatment_var = treatment * (1 - treatment) / treatment_n if treatment_n > 0 else NAN
    return _compare(control, treatment, control_var, treatment_var, alpha=alpha)


def _welch_df(control_var: float, control_n: int, treatment_var: float, treatment_n: int) -> float:
    """Return the Welch-Satterthwaite degrees of freedom; nan when undefined (both variances 0)."""
    a = control_var / control_n
    b = treatment_var / treatment_n
    denominator = a * a / (control_n - 1) + b * b / (treatment_n - 1)
    if not denominator > 0:
        return NAN
    return (a + b) ** 2 / denominator


def mean_comparison(control: MeanSums, treatment: MeanSums, *, alpha: float = 0.05) -> Comparison:
    """Compare per-visitor means with Welch's t (Welch-Satterthwaite df); the relative lift uses the delta method.

    Welch because the arms rarely share a variance once a treatment changes behaviour.
    """
    control_var = control.standard_error**2
    treatment_var = treatment.standard_error**2
    if control.n >= 2 and treatment.n >= 2:
        df = _welch_df(control.variance, control.n, treatment.variance, treatment.n)
    else:
        df = NAN
    return _compare(control.mean, treatment.mean, control_var, treatment_var, alpha=alpha, df=df)


def welch_test(treatment, control) -> tuple[float, float, float]:
    """Return Welch's ``(t, df, p)`` for per-visitor arrays; nan throughout when a standard error is 0."""
    result = mean_comparison(MeanSums.from_values(control), MeanSums.from_values(treatment))
    return result.statistic, result.df, result.p_value


def ratio_comparison(control: RatioSums, treatment: RatioSums, *, alpha: float = 0.05) -> Comparison:
    """Compare a ratio metric (CTR = clicks / impressions) between arms with delta-method standard errors.

    Impressions of one visitor are correlated, so treating events as independent would understate the
    error; the delta method keeps the visitor as the unit.
    """
    return _compare(control.value, treatment.value, control.variance(), treatment.variance(), alpha=alpha)


# --------------------------------------------------------------------------- Bayesian summaries


@dataclass(frozen=True)
class BayesResult:
    """Posterior chance that treatment beats control, and the expected loss of shipping each arm."""

    chance_to_beat_control: float
    expected_loss_treatment: float  # E[max(control - treatment, 0)]: what shipping treatment costs if wrong
    expected_loss_control: float  # E[max(treatment - control, 0)]: what keeping control costs if wrong


def _expectation(distribution, function, *, other_mean: float) -> float:
    """Return E[function(X)] for X ~ ``distribution`` by adaptive quadrature over X's central 1 - 2e-12.

    Only X's own range is integrated: with thousands of visitors a posterior is a needle on [0, 1] that a
    rule sampling the whole interval steps over. The other arm's mean is a breakpoint, because that is
    where ``function`` turns from about 0 to about 1 when the arms are far apart.
    """
    tail = 1e-12
    low = float(distribution.ppf(tail))
    high = float(distribution.isf(tail))
    if not high > low:
        return float(function(float(distribution.mean())))
    points = [p for p in (float(distribution.mean()), other_mean) if low < p < high]
    value, _ = integrate.quad(
        lambda x: distribution.pdf(x) * function(x),
        low,
        high,
        points=sorted(set(points)) or None,
        limit=200,
        epsabs=1e-13,
        epsrel=1e-10,
    )
    return float(value)


def beta_chance_to_beat(
    control_successes: int,
    control_n: int,
    treatment_successes: int,
    treatment_n: int,
) -> BayesResult:
    """Return P(treatment rate > control rate) and the expected losses under Beta(1, 1) priors, by quadrature.

    Exact up to quadrature error, so the figure on the page does not jitter between reloads as a Monte Carlo
    estimate would. Losses are in rate units (0.001 = 0.1 percentage point).
    """
    for successes, n in ((control_successes, control_n), (treatment_successes, treatment_n)):
        if n < 0 or successes < 0 or successes > n:
            raise ValueError(f"successes must lie in [0, n], got {successes} of {n}")
    control = stats.beta(1 + control_successes, 1 + control_n - control_successes)
    treatment = stats.beta(1 + treatment_successes, 1 + treatment_n - treatment_successes)
    # E[C; C > x] = mean(C) * P(C+ > x) where C+ ~ Beta(a + 1, b): the partial mean of a beta in closed form.
    control_shifted = stats.beta(2 + control_successes, 1 + control_n - control_successes)
    treatment_shifted = stats.beta(2 + treatment_successes, 1 + treatment_n - treatment_successes)

    control_mean = float(control.mean())
    treatment_mean = float(treatment.mean())
    chance = _expectation(treatment, lambda x: control.cdf(x), other_mean=control_mean)
    loss_treatment = _expectation(
        treatment, lambda x: control_mean * control_shifted.sf(x) - x * control.sf(x), other_mean=control_mean
    )
    loss_control = _expectation(
        control, lambda x: treatment_mean * treatment_shifted.sf(x) - x * treatment.sf(x), other_mean=treatment_mean
    )
    return BayesResult(
        chance_to_beat_control=min(max(chance, 0.0), 1.0),
        expected_loss_treatment=max(loss_treatment, 0.0),
        expected_loss_control=max(loss_control, 0.0),
    )


def normal_chance_to_beat(
    control_mean: float,
    control_se: float,
    treatment_mean: float,
    treatment_se: float,
) -> BayesResult:
    """Return the chance to beat control and expected losses for means, from a normal posterior of the difference.

    With D ~ N(d, s^2), s^2 = se_T^2 + se_C^2 (flat prior): P(D > 0) = Phi(d/s), E[max(-D, 0)] =
    s phi(d/s) - d Phi(-d/s), E[max(D, 0)] = s phi(d/s) + d Phi(d/s). Zero spread gives the limits
    (chance 1, 0 or 0.5). Undefined inputs give nan throughout.
    """
    values = (control_mean, control_se, treatment_mean, treatment_se)
    if not all(_is_usable(v) for v in values) or control_se < 0 or treatment_se < 0:
        return BayesResult(NAN, NAN, NAN)
    difference = treatment_mean - control_mean
    spread = math.hypot(control_se, treatment_se)
    if spread == 0:
        chance = 1.0 if difference > 0 else 0.0 if difference < 0 else 0.5
        return BayesResult(chance, max(-difference, 0.0), max(difference, 0.0))
    z = difference / spread
    density = float(stats.norm.pdf(z))
    chance = float(stats.norm.cdf(z))
    loss_treatment = spread * density - difference * float(stats.norm.cdf(-z))
    loss_control = spread * density + difference * chance
    return BayesResult(chance, max(loss_treatment, 0.0), max(loss_control, 0.0))


# --------------------------------------------------------------------------- checks and multiple arms


@dataclass(frozen=True)
class SrmResult:
    """Sample-ratio-mismatch check: a flagged experiment's assignment or logging is broken, not its treatment."""

    chi2: float
    p_value: float
    flagged: bool
    expected: tuple[float, ...]


def srm_check(observed: Sequence[int], weights: Sequence[float], *, threshold: float = 0.001) -> SrmResult:
    """Test exposed counts against the configured weights with a chi-square goodness of fit; flag at p < threshold.

    The strict threshold (Fabijan et al., 2019) keeps a check run on every experiment every day from crying
    wolf. An arm with weight 0 but visitors is a mismatch by definition (chi2 inf, p 0); no visitors at all
    is no evidence (chi2 0, p 1).
    """
    observed_arr = np.asarray(observed, dtype=float)
    weights_arr = np.asarray(weights, dtype=float)
    if observed_arr.shape != weights_arr.shape or observed_arr.ndim != 1:
        raise ValueError("observed and weights must be 1-D and of the same length")
    if (observed_arr < 0).any() or (weights_arr < 0).any() or not weights_arr.sum() > 0:
        raise ValueError("counts and weights must be non-negative, with a positive total weight")
    total = observed_arr.sum()
    expected = total * weights_arr / weights_arr.sum()
    expected_tuple = tuple(float(e) for e in expected)
    if ((expected == 0) & (observed_arr > 0)).any():
        return SrmResult(chi2=math.inf, p_value=0.0, flagged=True, expected=expected_tuple)
    active = expected > 0
    if active.sum() < 2:  # no visitors, or a single arm: nothing to compare
        return SrmResult(chi2=0.0, p_value=1.0, flagged=False, expected=expected_tuple)
    chi2 = float(np.sum((observed_arr[active] - expected[active]) ** 2 / expected[active]))
    p_value = float(stats.chi2.sf(chi2, df=int(active.sum()) - 1))
    return SrmResult(chi2=chi2, p_value=p_value, flagged=p_value < threshold, expected=expected_tuple)


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Return Holm step-down adjusted p-values in the input order: monotone in the raw p-values and capped at 1.

    Controls the family-wise error rate over several treatment arms without Bonferroni's loss of power.
    nan entries (arms without a test) stay nan and do not count towards the number of tests.
    """
    raw = np.asarray(p_values, dtype=float)
    adjusted = np.full(raw.shape, NAN)
    present = np.flatnonzero(~np.isnan(raw))
    m = present.size
    if m:
        order = present[np.argsort(raw[present], kind="stable")]
        scaled = raw[order] * (m - np.arange(m))
        adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return [float(p) for p in adjusted]


# --------------------------------------------------------------------------- sequential monitoring


def _mixture_rho_squared(tuning_n: float, alpha: float) -> float:
    """Return the mixing variance rho^2 that makes the boundary tightest near ``tuning_n``.

    Setting the derivative of the half-width's ratio to the fixed one to zero gives
    n rho^2 = -2 log(alpha) + log(n rho^2 + 1); one fixed-point step from n rho^2 = -2 log(alpha) is this
    closed form, the approximation Waudby-Smith et al. (2023) give for the normal mixture.
    """
    log_term = -2 * math.log(alpha)
    return (log_term + math.log(1 + log_term)) / tuning_n


def confidence_sequence(
    estimate: float,
    standard_error: float,
    n: int,
    *,
    alpha: float = 0.05,
    tuning_n: float = DEFAULT_TUNING_N,
) -> tuple[float, float]:
    """Return the always-valid interval for ``estimate`` after ``n`` units: an asymptotic confidence sequence.

    Unlike a fixed-horizon interval it can be checked after every visitor without inflating the false-positive
    rate, because it covers the truth at all n at once with probability 1 - alpha (Waudby-Smith, Arbour, Sinha,
    Kennedy and Ramdas, 2023; the normal-mixture boundary GrowthBook uses). With sigma = se * sqrt(n) the
    half-width is sigma * sqrt(2 (n rho^2 + 1) / (n^2 rho^2) * log(sqrt(n rho^2 + 1) / alpha)), and rho is
    chosen so the interval is tightest at ``tuning_n`` units (same units as ``n``); it is wider than the fixed
    interval everywhere, the price of being allowed to look at any time. Undefined input (nan, n < 1, negative
    error) gives ``(nan, nan)``; a zero error gives a point.
    """
    _check_alpha(alpha)
    if not tuning_n > 0:
        raise ValueError(f"tuning_n must be positive, got {tuning_n}")
    if not (_is_usable(estimate) and _is_usable(standard_error)) or standard_error < 0 or not n >= 1:
        return NAN_INTERVAL
    rho_squared = _mixture_rho_squared(tuning_n, alpha)
    mix = n * rho_squared
    # se * sqrt(n) is the per-unit sigma; folding sqrt(n) in here avoids forming it.
    half_width = standard_error * math.sqrt(2 * (mix + 1) / mix * math.log(math.sqrt(mix + 1) / alpha))
    return (estimate - half_width, estimate + half_width)


def always_valid_interval(
    comparison: Comparison,
    n: int,
    *,
    alpha: float | None = None,
    tuning_n: float = DEFAULT_TUNING_N,
) -> tuple[float, float]:
    """Return the confidence sequence for a comparison's absolute difference, for the results page's monitor.

    ``n`` is the total number of exposed visitors over both arms; ``alpha`` defaults to the comparison's.
    """
    return confidence_sequence(
        comparison.absolute,
        comparison.absolute_se,
        n,
        alpha=comparison.alpha if alpha is None else alpha,
        tuning_n=tuning_n,
    )


def sequential_decision(interval: tuple[float, float], *, mde: float) -> str:
    """Turn an always-valid interval for treatment - control into the monitor's call.

    The rule, checked in this order: the interval lies above 0 -> "treatment_better"; below 0 ->
    "treatment_worse"; inside (-mde, +mde) -> "no_meaningful_difference" (any effect left is smaller than the
    minimum worth detecting, so running longer cannot change the decision); otherwise "keep_running". A
    significant but small effect still counts as better or worse: the sign is what the data established.
    ``mde`` is absolute, in the metric's units; an interval with a nan end keeps the experiment running.
    """
    low, high = interval
    if math.isnan(low) or math.isnan(high):
        return KEEP_RUNNING
    if low > 0:
        return TREATMENT_BETTER
    if high < 0:
        return TREATMENT_WORSE
    if mde > 0 and -mde < low and high < mde:
        return NO_MEANINGFUL_DIFFERENCE
    return KEEP_RUNNING


# --------------------------------------------------------------------------- variance reduction


@dataclass(frozen=True)
class CupedResult:
    """CUPED-adjusted per-visitor values, the coefficient used, and the share of variance removed."""

    adjusted: np.ndarray
    theta: float
    variance_reduction: float


def cuped_adjust(y, x) -> CupedResult:
    """Return Y' = Y - theta (X - mean X), theta = Cov(Y, X) / Var(X), from a covariate measured before exposure.

    Pass every arm's visitors together: a pooled theta is the same for all arms, so the adjustment leaves
    the difference between arms unbiased (Deng, Xu, Kohavi and Walker, 2013). The variance shrinks by about
    rho(X, Y)^2. A constant covariate gives theta 0 (nothing to learn from); a constant outcome gives a
    variance_reduction of 0.
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    if y.shape != x.shape or y.ndim != 1:
        raise ValueError(f"y and x must be 1-D arrays of the same length, got {y.shape} and {x.shape}")
    if y.size == 0:
        return CupedResult(adjusted=y.copy(), theta=0.0, variance_reduction=0.0)
    x_centred = x - x.mean()
    var_x = float((x_centred * x_centred).sum())
    theta = float((x_centred * (y - y.mean())).sum() / var_x) if var_x > 0 else 0.0
    adjusted = y - theta * x_centred
    var_y = float(y.var())
    variance_reduction = 1.0 - float(adjusted.var()) / var_y if var_y > 0 else 0.0
    return CupedResult(adjusted=adjusted, theta=theta, variance_reduction=min(max(variance_reduction, 0.0), 1.0))


# --------------------------------------------------------------------------- planning


def _check_probability(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise ValueError(f"{name} must lie in (0, 1), got {value}")


def sample_size_per_arm(
    *,
    baseline_mean: float,
    baseline_sd: float,
    mde_relative: float,
    alpha: float = 0.05,
    power: float = 0.8,
    treatment_sd: float | None = None,
) -> int:
    """Return the visitors per arm to detect a relative change of ``mde_relative`` with a two-sided test.

    n = (z_{1-alpha/2} + z_{power})^2 (sigma_C^2 + sigma_T^2) / delta^2 with delta = baseline * mde_relative,
    rounded up; sigma_T defaults to sigma_C, which gives the textbook 2 sigma^2. Give ``treatment_sd`` when
    the effect also moves the spread (it does for rates and counts), or the planned power is not reached.
    At least 2, the fewest visitors with a sample variance. Raises ValueError when no sample size exists
    (zero effect, non-finite or negative inputs).
    """
    _check_probability("alpha", alpha)
    _check_probability("power", power)
    treatment_sd = baseline_sd if treatment_sd is None else treatment_sd
    inputs = {
        "baseline_mean": baseline_mean,
        "baseline_sd": baseline_sd,
        "treatment_sd": treatment_sd,
        "mde_relative": mde_relative,
    }
    for name, value in inputs.items():
        if not _is_usable(value):
            raise ValueError(f"{name} must be finite, got {value}")
    if baseline_sd < 0 or treatment_sd < 0:
        raise ValueError("standard deviations must be non-negative")
    delta = baseline_mean * mde_relative
    if delta == 0:
        raise ValueError("the effect to detect is 0 (baseline or mde_relative is 0): no sample size detects it")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    n = z * z * (baseline_sd**2 + treatment_sd**2) / (delta * delta)
    # Trim rounding noise so an exact integer is not pushed up by one.
    return max(math.ceil(n - 1e-9), 2)


def sample_size_proportion(
    *,
    baseline_rate: float,
    mde_relative: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> int:
    """Return the visitors per arm to detect a relative change of a conversion rate.

    sigma^2 = p (1 - p) per arm, taken at the baseline rate for control and at the rate to detect for
    treatment: the variance of the difference under the alternative, so the planned power is the real one.
    """
    if not 0 < baseline_rate < 1:
        raise ValueError(f"baseline_rate must lie in (0, 1), got {baseline_rate}")
    treatment_rate = baseline_rate * (1 + mde_relative)
    if not 0 <= treatment_rate <= 1:
        raise ValueError(f"baseline_rate * (1 + mde_relative) = {treatment_rate} is not a rate")
    return sample_size_per_arm(
        baseline_mean=baseline_rate,
        baseline_sd=math.sqrt(baseline_rate * (1 - baseline_rate)),
        treatment_sd=math.sqrt(treatment_rate * (1 - treatment_rate)),
        mde_relative=mde_relative,
        alpha=alpha,
        power=power,
    )


def days_needed(*, visitors_needed_total: float, visitors_per_day: float) -> float | None:
    """Return the days of traffic the experiment needs; None when there is no traffic to wait for."""
    if not _is_usable(visitors_per_day) or visitors_per_day <= 0 or not _is_usable(visitors_needed_total):
        return None
    return max(visitors_needed_total, 0) / visitors_per_day


# --------------------------------------------------------------------------- interleaving

A_PREFERRED = "A preferred"
B_PREFERRED = "B preferred"
NO_PREFERENCE_YET = "no preference yet"

# The interleaving names join the module's exports here, next to their definitions.
__all__ += [
    "A_PREFERRED",
    "B_PREFERRED",
    "NO_PREFERENCE_YET",
    "PreferenceResult",
    "impression_outcomes",
    "interleaving_preference",
]

# Bootstrap replicates are drawn in blocks of at most this many multinomial cells, to bound memory.
_BOOTSTRAP_BLOCK_CELLS = 1 << 22


@dataclass(frozen=True)
class PreferenceResult:
    """Which of two interleaved rankers visitors prefer: impression outcomes, their share, and a sign test."""

    visitors: int  # visitors with at least one counted (clicked) impression
    wins_a: int  # impressions won by A, summed over visitors
    wins_b: int
    ties: int  # impressions where both teams got the same non-zero number of clicks
    delta: float  # (wins_a - wins_b) / (wins_a + wins_b + ties); > 0 means A preferred; nan when nothing counted
    delta_ci: tuple[float, float]  # bootstrap percentile interval over visitors
    prefer_a: int  # visitors whose own wins favour A
    prefer_b: int  # visitors whose own wins favour B
    p_value: float  # two-sided exact sign test of prefer_a against prefer_b; nan when both are 0
    decision: str  # A_PREFERRED, B_PREFERRED or NO_PREFERENCE_YET


def impression_outcomes(clicks_a, clicks_b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per-impression 0/1 arrays ``(a_win, b_win, tie)`` from the clicks on each team's credited items.

    The team with more clicks wins the impression; equal non-zero clicks are a tie; an impression without
    a click is no evidence and gives zeros in all three (Radlinski, Kurup and Joachims, 2008).
    """
    clicks_a = np.asarray(clicks_a, dtype=float)
    clicks_b = np.asarray(clicks_b, dtype=float)
    if clicks_a.shape != clicks_b.shape:
        raise ValueError(f"clicks_a and clicks_b differ in shape: {clicks_a.shape} vs {clicks_b.shape}")
    if (clicks_a < 0).any() or (clicks_b < 0).any():
        raise ValueError("click counts must be non-negative")
    a_win = (clicks_a > clicks_b).astype(np.int64)
    b_win = (clicks_b > clicks_a).astype(np.int64)
    tie = ((clicks_a == clicks_b) & (clicks_a > 0)).astype(np.int64)
    return a_win, b_win, tie


def _bootstrap_share_interval(
    numerators: np.ndarray,
    denominators: np.ndarray,
    *,
    alpha: float,
    n_boot: int,
    seed: int,
) -> tuple[float, float]:
    """Return the percentile interval of sum(numerators) / sum(denominators) over visitors resampled with replacement.

    Resampling n visitors with replacement is a multinomial draw of how often each visitor is taken, and
    visitors with the same (numerator, denominator) are interchangeable, so the draw runs over the distinct
    pairs: the same bootstrap distribution at a cost that does not grow with the number of visitors.
    Fewer than two visitors, or replicates without spread (every visitor has the same share), give
    ``(nan, nan)`` under the module's conventions.
    """
    n = numerators.size
    if n < 2:
        return NAN_INTERVAL
    pairs, counts = np.unique(np.column_stack([numerators, denominators]), axis=0, return_counts=True)
    probabilities = counts / n
    rng = np.random.default_rng(seed)
    block = max(1, _BOOTSTRAP_BLOCK_CELLS // len(pairs))
    replicates = np.empty(n_boot)
    for start in range(0, n_boot, block):
        stop = min(start + block, n_boot)
        taken = rng.multinomial(n, probabilities, size=stop - start)
        # Every visitor here has a positive denominator, so every replicate's denominator is positive.
        replicates[start:stop] = (taken @ pairs[:, 0]) / (taken @ pairs[:, 1])
    if replicates.min() == replicates.max():
        return NAN_INTERVAL
    low, high = np.quantile(replicates, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def interleaving_preference(
    wins_a,
    wins_b,
    ties,
    *,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
) -> PreferenceResult:
    """Return which ranker visitors prefer from per-visitor counts of impressions won by A, won by B and tied.

    A visitor's impressions are not independent, so the visitor is the unit (Chapelle, Joachims, Radlinski
    and Yue, 2012): the test is an exact two-sided binomial (sign) test of the visitors preferring A against
    those preferring B at 1/2, visitors with equal wins dropping out; the interval for ``delta`` is a
    percentile bootstrap over visitors. Visitors without a counted impression are ignored; no counted
    visitor at all gives a nan delta, a nan p-value and "no preference yet". The decision is A or B
    preferred when p < alpha, by the side with more preferring visitors.
    """
    _check_alpha(alpha)
    if n_boot < 1:
        raise ValueError(f"n_boot must be positive, got {n_boot}")
    counts = [np.asarray(values, dtype=float) for values in (wins_a, wins_b, ties)]
    if counts[0].ndim != 1 or any(values.shape != counts[0].shape for values in counts):
        raise ValueError("wins_a, wins_b and ties must be 1-D arrays of the same length, one entry per visitor")
    if any(not np.isfinite(values).all() or (values < 0).any() for values in counts):
        raise ValueError("win and tie counts must be finite and non-negative")
    impressions = counts[0] + counts[1] + counts[2]
    counted = impressions > 0
    a, b, t = (values[counted] for values in counts)
    total_a, total_b, total_ties = int(a.sum()), int(b.sum()), int(t.sum())
    decided = total_a + total_b + total_ties
    delta = (total_a - total_b) / decided if decided > 0 else NAN
    delta_ci = _bootstrap_share_interval(a - b, impressions[counted], alpha=alpha, n_boot=n_boot, seed=seed)

    prefer_a = int((a > b).sum())
    prefer_b = int((b > a).sum())
    if prefer_a + prefer_b > 0:
        p_value = min(max(float(stats.binomtest(prefer_a, prefer_a + prefer_b, 0.5).pvalue), 0.0), 1.0)
    else:
        p_value = NAN
    if p_value < alpha:  # False for nan
        decision = A_PREFERRED if prefer_a > prefer_b else B_PREFERRED
    else:
        decision = NO_PREFERENCE_YET
    return PreferenceResult(
        visitors=int(counted.sum()),
        wins_a=total_a,
        wins_b=total_b,
        ties=total_ties,
        delta=delta,
        delta_ci=delta_ci,
        prefer_a=prefer_a,
        prefer_b=prefer_b,
        p_value=p_value,
        decision=decision,
    )
