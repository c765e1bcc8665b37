"""An experiment's results: metrics per variant, lifts against control, and whether to trust and act on them.

The rows come from :func:`experiments.selectors.experiment_visitor_outcomes` (one per analysed
visitor); everything here is vectorised numpy over those arrays and :mod:`experiments.stats`.
The result is a JSON-ready dict, the same for the API, the admin page and ``experiment_report``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from experiments import stats
from experiments.models import Experiment
from experiments.selectors import VisitorOutcomes, experiment_end, experiment_visitor_outcomes, interleaving_outcomes

METRICS = ("ctr", "add_to_cart_rate", "conversion", "revenue_per_visitor")
PROPORTIONS = {"add_to_cart_rate": "carts", "conversion": "orders"}  # visitors with at least one
TRAFFIC_DAYS = 7  # the planner's traffic estimate: visitors assigned per day over the last week
MAX_CHART_DAYS = 90


def experiment_results(*, experiment: Experiment, now: datetime | None = None) -> dict:
    """Return the experiment's results as they stand (a stopped experiment: as they stood at the stop)."""
    if experiment.is_interleaving:
        return _interleaving_results(experiment, end=experiment_end(experiment, now=now))
    end = experiment_end(experiment, now=now)
    outcomes = experiment_visitor_outcomes(experiment=experiment, end=end)
    variants = list(experiment.variants.all())
    control = next((variant for variant in variants if variant.is_control), variants[0] if variants else None)
    masks = {variant.pk: outcomes.of_variant(variant.pk) for variant in variants}
    mde = float(experiment.minimum_detectable_effect)
    primary = experiment.primary_metric

    rows = [_variant_metrics(variant, outcomes, masks[variant.pk]) for variant in variants]
    if control is not None:
        control_mask = masks[control.pk]
        for row, variant in zip(rows, variants):
            if variant.pk == control.pk:
                continue
            treatment_mask = masks[variant.pk]
            comparisons = {metric: _comparison(metric, outcomes, control_mask, treatment_mask) for metric in METRICS}
            row["lifts"] = {
                metric: _lift(metric, comparison, outcomes, control_mask, treatment_mask) for metric, comparison in comparisons.items()
            }
            row["chance_to_beat_control"] = row["lifts"][primary]["chance_to_beat_control"]
            row["sequential"] = _sequential(comparisons[primary], int(control_mask.sum() + treatment_mask.sum()), mde=mde)
            row["cuped"] = _cuped(primary, outcomes, control_mask, treatment_mask)
        _holm(rows, primary)

    srm = stats.srm_check([row["assigned"] for row in rows], [variant.weight for variant in variants]) if len(rows) >= 2 else None
    return _jsonable({
        "experiment": _experiment_summary(experiment),
        "window": {"start": experiment.started_at, "end": end},
        "visitors": len(outcomes),
        "srm": {
            "chi2": srm.chi2 if srm else None,
            "p": srm.p_value if srm else None,
            "flagged": bool(srm.flagged) if srm else False,
            "expected": dict(zip([row["key"] for row in rows], srm.expected)) if srm else {},
        },
        "variants": rows,
        "decision": _overall_decision(rows),
        "planner": _planner(experiment, outcomes, control, variants, end=end),
        "daily": _daily(experiment, outcomes, control, variants, end=end),
    })


def _experiment_summary(experiment: Experiment) -> dict:
    return {
        "key": experiment.key,
        "name": experiment.name,
        "kind": experiment.kind,
        "placement": experiment.placement,
        "status": experiment.status,
        "started_at": experiment.started_at,
        "stopped_at": experiment.stopped_at,
        "traffic": float(experiment.traffic),
        "primary_metric": experiment.primary_metric,
        "minimum_detectable_effect": float(experiment.minimum_detectable_effect),
        "cart_window_hours": experiment.cart_window_hours,
        "purchase_window_days": experiment.purchase_window_days,
    }


def _interleaving_results(experiment: Experiment, *, end: datetime) -> dict:
    """Preference between the two rankings: per list, the team whose products got more clicks wins; per visitor, summed.

    Team A is the control's ranking, team B the other variant's.
    """
    outcomes = interleaving_outcomes(experiment=experiment, end=end)
    variants = list(experiment.variants.all())
    team_variants = {
        "A": next((variant for variant in variants if variant.is_control), None),
        "B": next((variant for variant in variants if not variant.is_control), None),
    }
    preference = stats.interleaving_preference(outcomes.wins_a, outcomes.wins_b, outcomes.ties)
    clicks = {"A": int(outcomes.clicks_a.sum()), "B": int(outcomes.clicks_b.sum())}
    teams = [
        {
            "team": team,
            "key": variant.key if variant else None,
            "name": (variant.name or variant.key) if variant else None,
            "config": variant.serving_config if variant else None,
            "clicks": clicks[team],
            **outcomes.teams[team],
        }
        for team, variant in team_variants.items()
    ]
    winner = {"A preferred": team_variants["A"], "B preferred": team_variants["B"]}.get(preference.decision)
    return _jsonable({
        "experiment": _experiment_summary(experiment),
        "window": {"start": experiment.started_at, "end": end},
        "visitors": len(outcomes),
        "exposed": int((outcomes.impressions > 0).sum()),
        "impressions": int(outcomes.impressions.sum()),
        "visitors_with_clicks": int(((outcomes.clicks_a + outcomes.clicks_b) > 0).sum()),
        "teams": teams,
        "preference": {
            "visitors": preference.visitors,
            "wins_a": preference.wins_a,
            "wins_b": preference.wins_b,
            "ties": preference.ties,
            "delta": preference.delta,
            "delta_ci": list(preference.delta_ci),
            "prefer_a": preference.prefer_a,
            "prefer_b": preference.prefer_b,
            "p_value": preference.p_value,
            "decision": preference.decision,
        },
        "decision": preference.decision,
        "decision_text": (
            f"{preference.decision.split()[0]} ({winner.name or winner.key}) preferred" if winner else "No preference yet"
        ),
        "srm": None,
        "variants": [],
    })


def _variant_metrics(variant, outcomes: VisitorOutcomes, mask: np.ndarray) -> dict:
    n = int(mask.sum())
    impressions, clicks = outcomes.impressions[mask], outcomes.clicks[mask]
    orders, revenue = outcomes.orders[mask], outcomes.revenue[mask]
    total_orders, total_revenue = float(orders.sum()), float(revenue.sum())
    return {
        "key": variant.key,
        "name": variant.name or variant.key,
        "is_control": variant.is_control,
        "weight": variant.weight,
        "config": variant.serving_config,
        "assigned": n,
        "exposed": int((impressions > 0).sum()),
        "impressions": int(impressions.sum()),
        "clicks": int(clicks.sum()),
        "ctr": _ratio(clicks.sum(), impressions.sum()),
        "clicking_visitors": int((clicks > 0).sum()),
        "add_to_cart_rate": _ratio((outcomes.carts[mask] > 0).sum(), n),
        "conversion": _ratio((orders > 0).sum(), n),
        "orders": int(total_orders),
        "revenue": round(total_revenue, 2),
        "revenue_per_visitor": _ratio(total_revenue, n),
        "average_order_value": _ratio(total_revenue, total_orders),
        "lifts": None,
        "chance_to_beat_control": None,
        "sequential": None,
        "cuped": None,
    }


def _ratio(numerator, denominator) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


def _comparison(metric: str, outcomes: VisitorOutcomes, control: np.ndarray, treatment: np.ndarray) -> stats.Comparison:
    if metric == "ctr":
        return stats.ratio_comparison(
            stats.RatioSums.from_values(outcomes.clicks[control], outcomes.impressions[control]),
            stats.RatioSums.from_values(outcomes.clicks[treatment], outcomes.impressions[treatment]),
        )
    if metric in PROPORTIONS:
        column = getattr(outcomes, PROPORTIONS[metric])
        return stats.proportion_comparison(
            int((column[control] > 0).sum()), int(control.sum()), int((column[treatment] > 0).sum()), int(treatment.sum())
        )
    return stats.mean_comparison(
        stats.MeanSums.from_values(outcomes.revenue[control]), stats.MeanSums.from_values(outcomes.revenue[treatment])
    )


def _lift(metric: str, comparison: stats.Comparison, outcomes: VisitorOutcomes, control: np.ndarray, treatment: np.ndarray) -> dict:
    if not control.any() or not treatment.any():
        bayes = None  # a posterior for an arm nobody is in is only the prior
    elif metric in PROPORTIONS:
        column = getattr(outcomes, PROPORTIONS[metric])
        bayes = stats.beta_chance_to_beat(
            int((column[control] > 0).sum()), int(control.sum()), int((column[treatment] > 0).sum()), int(treatment.sum())
        )
    else:
        bayes = _normal_bayes(comparison)
    return {
        "control": comparison.control,
        "treatment": comparison.treatment,
        "absolute": comparison.absolute,
        "absolute_ci": list(comparison.absolute_ci),
        "relative": comparison.relative,
        "relative_ci": list(comparison.relative_ci) if comparison.relative_ci else None,
        "p_value": comparison.p_value,
        "p_value_adjusted": comparison.p_value,
        "chance_to_beat_control": bayes.chance_to_beat_control if bayes else None,
        "expected_loss": bayes.expected_loss_treatment if bayes else None,
    }


def _normal_bayes(comparison: stats.Comparison) -> stats.BayesResult | None:
    se = comparison.absolute_se
    if not (math.isfinite(se) and se > 0 and math.isfinite(comparison.control) and math.isfinite(comparison.treatment)):
        return None
    # Only the difference's error is known: split it between the arms so their sum of squares matches.
    half = se / math.sqrt(2)
    return stats.normal_chance_to_beat(comparison.control, half, comparison.treatment, half)


def _sequential(comparison: stats.Comparison, n: int, *, mde: float) -> dict:
    """The always-valid interval of the primary metric's difference over ``n`` visitors, and the call it supports."""
    interval = stats.always_valid_interval(comparison, n)
    absolute_mde = abs(comparison.control) * mde if math.isfinite(comparison.control) else float("nan")
    return {
        "interval": list(interval),
        "fixed_interval": list(comparison.absolute_ci),
        "decision": stats.sequential_decision(interval, mde=absolute_mde if math.isfinite(absolute_mde) else 0.0),
        "mde_absolute": absolute_mde,
    }


def _per_visitor(metric: str, outcomes: VisitorOutcomes, mask: np.ndarray) -> tuple[np.ndarray, float]:
    """Return per-visitor values whose mean moves like the metric (linearised for CTR), and the metric's point value."""
    if metric == "ctr":
        clicks, impressions = outcomes.clicks[mask], outcomes.impressions[mask]
        mean_x = impressions.mean() if impressions.size else 0.0
        if not mean_x:
            return np.zeros(clicks.size), float("nan")
        ratio = clicks.sum() / impressions.sum()
        return (clicks - ratio * impressions) / mean_x, float(ratio)
    if metric in PROPORTIONS:
        values = (getattr(outcomes, PROPORTIONS[metric])[mask] > 0).astype(float)
    else:
        values = outcomes.revenue[mask]
    return values - (values.mean() if values.size else 0.0), float(values.mean()) if values.size else float("nan")


def _cuped(metric: str, outcomes: VisitorOutcomes, control: np.ndarray, treatment: np.ndarray) -> dict | None:
    """The primary metric's difference with the visitor's pre-period activity as covariate (CUPED)."""
    y_control, point_control = _per_visitor(metric, outcomes, control)
    y_treatment, point_treatment = _per_visitor(metric, outcomes, treatment)
    if y_control.size < 2 or y_treatment.size < 2 or not (math.isfinite(point_control) and math.isfinite(point_treatment)):
        return None
    x = np.concatenate((outcomes.pre_activity[control], outcomes.pre_activity[treatment]))
    adjusted = stats.cuped_adjust(np.concatenate((y_control, y_treatment)), x)
    adjusted_control, adjusted_treatment = adjusted.adjusted[: y_control.size], adjusted.adjusted[y_control.size :]
    estimate = (point_treatment + adjusted_treatment.mean()) - (point_control + adjusted_control.mean())
    se = math.sqrt(adjusted_treatment.var(ddof=1) / y_treatment.size + adjusted_control.var(ddof=1) / y_control.size)
    plain_se = math.sqrt(y_treatment.var(ddof=1) / y_treatment.size + y_control.var(ddof=1) / y_control.size)
    if not se > 0:
        return {"theta": adjusted.theta, "variance_reduction": adjusted.variance_reduction, "absolute": estimate,
                "absolute_ci": [float("nan"), float("nan")], "p_value": float("nan")}  # fmt: skip
    z = estimate / se
    from scipy.stats import norm  # noqa: PLC0415

    return {
        "theta": adjusted.theta,
        "variance_reduction": 1 - (se / plain_se) ** 2 if plain_se > 0 else 0.0,
        "absolute": estimate,
        "absolute_ci": [estimate - 1.959964 * se, estimate + 1.959964 * se],
        "p_value": float(2 * norm.sf(abs(z))),
    }


def _holm(rows: list[dict], primary: str) -> None:
    """Adjust the primary metric's p-values over the treatments (Holm); with one treatment they are unchanged."""
    treated = [row for row in rows if row["lifts"]]
    p_values = [row["lifts"][primary]["p_value"] for row in treated]
    usable = [index for index, p in enumerate(p_values) if math.isfinite(p)]
    adjusted = stats.holm_adjust([p_values[index] for index in usable]) if usable else []
    for index, value in zip(usable, adjusted):
        treated[index]["lifts"][primary]["p_value_adjusted"] = value


def _overall_decision(rows: list[dict]) -> str | None:
    decisions = [row["sequential"]["decision"] for row in rows if row.get("sequential")]
    if not decisions:
        return None
    if len(decisions) == 1:
        return decisions[0]
    for wanted in (stats.TREATMENT_BETTER, stats.KEEP_RUNNING, stats.TREATMENT_WORSE):
        if wanted in decisions:
            return wanted
    return stats.NO_MEANINGFUL_DIFFERENCE


def _planner(experiment: Experiment, outcomes: VisitorOutcomes, control, variants, *, end: datetime) -> dict:
    """Visitors needed for the primary metric's baseline and MDE at 80 % power, and the days that takes."""
    metric, mde = experiment.primary_metric, float(experiment.minimum_detectable_effect)
    recent = outcomes.assigned_at >= (end - timedelta(days=TRAFFIC_DAYS)).timestamp()
    started = experiment.started_at.timestamp() if experiment.started_at else end.timestamp()
    days_observed = max(min(TRAFFIC_DAYS, (end.timestamp() - started) / 86400), 1 / 24)
    per_day = float(recent.sum()) / days_observed
    plan = {"metric": metric, "mde_relative": mde, "baseline": None, "baseline_sd": None, "visitors_per_arm": None,
            "visitors_needed": None, "visitors_so_far": len(outcomes), "visitors_per_day": per_day,
            "days_needed": None, "days_remaining": None, "note": None}  # fmt: skip
    if control is None:
        return plan
    mask = outcomes.of_variant(control.pk)
    values, baseline = _per_visitor(metric, outcomes, mask)
    if values.size < 2 or not math.isfinite(baseline) or baseline <= 0:
        plan["note"] = "Waiting for data: the control has no baseline yet."
        return plan
    try:
        if metric in PROPORTIONS:
            per_arm = stats.sample_size_proportion(baseline_rate=min(baseline, 0.999999), mde_relative=mde)
            sd = math.sqrt(baseline * (1 - baseline))
        else:
            sd = float(values.std(ddof=1))
            per_arm = stats.sample_size_per_arm(baseline_mean=baseline, baseline_sd=sd, mde_relative=mde)
    except ValueError as exc:
        plan["note"] = str(exc)
        return plan
    smallest_share = min(variant.weight for variant in variants) / sum(variant.weight for variant in variants)
    needed = math.ceil(per_arm / smallest_share)
    plan.update(
        baseline=baseline,
        baseline_sd=sd,
        visitors_per_arm=per_arm,
        visitors_needed=needed,
        days_needed=stats.days_needed(visitors_needed_total=needed, visitors_per_day=per_day),
        days_remaining=stats.days_needed(visitors_needed_total=max(needed - len(outcomes), 0), visitors_per_day=per_day),
    )
    return plan


def _daily(experiment: Experiment, outcomes: VisitorOutcomes, control, variants, *, end: datetime) -> list[dict]:
    """The primary metric's cumulative relative lift per treatment by day, with its 95 % interval.

    Day d counts the visitors assigned up to the end of day d, with their outcomes so far.
    """
    if control is None or experiment.started_at is None or not len(outcomes):
        return []
    first = experiment.started_at.astimezone(UTC).date()
    last = end.astimezone(UTC).date()
    days = [first + timedelta(days=offset) for offset in range(min((last - first).days + 1, MAX_CHART_DAYS))]
    control_all = outcomes.of_variant(control.pk)
    treatments = [(variant.key, outcomes.of_variant(variant.pk)) for variant in variants if variant.pk != control.pk]
    series = []
    for day in days:
        cutoff = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() + 86400
        upto = outcomes.assigned_at < cutoff
        control_upto = control_all & upto
        entry = {"day": day.isoformat(), "visitors": int(upto.sum()), "variants": {}}
        for key, treatment_all in treatments:
            treatment_upto = treatment_all & upto
            comparison = _comparison(experiment.primary_metric, outcomes, control_upto, treatment_upto)
            n = int(control_upto.sum() + treatment_upto.sum())
            band = stats.always_valid_interval(comparison, n) if n else (float("nan"), float("nan"))
            scale = comparison.control if comparison.control and math.isfinite(comparison.control) else float("nan")
            entry["variants"][key] = {
                "relative": comparison.relative,
                "relative_ci": list(comparison.relative_ci) if comparison.relative_ci else None,
                "relative_band": [band[0] / scale, band[1] / scale] if math.isfinite(scale) else None,
            }
        series.append(entry)
    return series


def _jsonable(value):
    """Make the results JSON-ready: datetimes as ISO text, NaN and infinities as null, numpy scalars as numbers."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value
