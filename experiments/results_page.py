"""The experiment results page and the recommendations dashboard, formatted for store staff.

Turns the results dict (:mod:`experiments.results`) and the dashboard's rows into what the admin
templates show: formatted figures, one-line explanations, and server-side SVG charts.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.utils.dateparse import parse_datetime
from django.utils.safestring import mark_safe

from experiments import charts
from experiments.models import Placement

METRIC_LABELS = {
    "ctr": "CTR",
    "add_to_cart_rate": "Add-to-cart rate",
    "conversion": "Conversion",
    "revenue_per_visitor": "Revenue per visitor",
}
RATE_METRICS = ("ctr", "add_to_cart_rate", "conversion")
DASH = "\u2013"

# (key in the variant row, column heading, how to format it, one line for store staff)
VARIANT_COLUMNS = [
    ("assigned", "Assigned", "count", "Visitors who entered the experiment and were given this variant."),
    ("exposed", "Exposed", "count", "Of those, visitors who actually saw at least one list of this placement."),
    ("impressions", "Impressions", "count", "Lists shown and seen (half visible for a second); one list counts once."),
    ("clicks", "Clicks", "count", "Clicks on a product in those lists."),
    ("ctr", "CTR", "percent", "Click-through rate: clicks per impression."),
    ("clicking_visitors", "Clicking visitors", "count", "Visitors who clicked at least once."),
    ("add_to_cart_rate", "Add-to-cart rate", "percent", "Share of visitors who put a clicked product in the cart soon after."),
    ("conversion", "Conversion", "percent", "Share of visitors who ordered a clicked product within the purchase window."),
    ("orders", "Orders", "count", "Orders containing a clicked product."),
    ("revenue", "Revenue", "money", "Money from those products in those orders (quantity x price paid)."),
    ("revenue_per_visitor", "Revenue per visitor", "money", "Revenue divided by assigned visitors: the metric that pays the bills."),
    ("average_order_value", "AOV", "money", "Average order value: revenue per order."),
]

GLOSSARY = [
    ("Sample ratio check", "Compares visitors per variant with the configured weights; a mismatch (p < 0.001) means "
     "assignment or tracking is broken, and the results cannot be trusted."),
    ("Decision", "The always-valid monitor's call on the primary metric; it may be read every day without "
     "inflating false alarms."),
    *((heading, explanation) for _, heading, _, explanation in VARIANT_COLUMNS),
    ("Lift", "How much the treatment differs from the control, relative to the control (+10 % = a tenth better)."),
    ("95 % interval", "The range of lifts the data is compatible with; if it includes 0, the difference may be chance."),
    ("Interval bar", "The 95 % interval drawn around 0 (the vertical line), with the measured lift as a dot: "
     "green is clearly better, red clearly worse, grey undecided."),
    ("p-value", "How surprising the difference would be if the variants were really the same; below 0.05 is "
     "conventionally significant."),
    ("Holm-adjusted p", "The primary metric's p-value corrected for testing several treatments at once; use this one."),
    ("Chance to beat control", "The probability (Bayesian) that the treatment is really better than the control."),
    ("Expected loss", "What you would lose on average, in the metric's units, if you shipped the treatment and it were worse."),
    ("CUPED variance reduction", "How much noise was removed by accounting for what visitors did before the "
     "experiment; more reduction means a sharper answer from the same traffic."),
    ("Always-valid interval", "A wider interval that stays correct however often you look; the decision uses it."),
    ("Planner", "Visitors needed to detect the minimum detectable effect with 80 % power at 5 % significance, "
     "and the days that takes at the recent traffic."),
]

DECISIONS = {
    "keep_running": "Keep running: the data cannot yet tell whether there is an effect as large as the minimum "
    "detectable effect.",
    "treatment_better": "A treatment is better than the control on the primary metric: the always-valid interval "
    "lies above zero. It is safe to stop and roll it out.",
    "treatment_worse": "The treatment is worse than the control on the primary metric: the always-valid interval "
    "lies below zero. Stop it.",
    "no_meaningful_difference": "No meaningful difference: any effect left is smaller than the minimum detectable "
    "effect, so running longer will not change the answer. Stop and keep the simpler variant.",
}


_finite = charts.finite


def _count(value) -> str:
    number = _finite(value)
    return DASH if number is None else f"{int(number):,}"


def percent_text(value, digits: int = 2) -> str:
    number = _finite(value)
    return DASH if number is None else f"{number * 100:.{digits}f} %"


def _money(value) -> str:
    number = _finite(value)
    if number is None:
        return DASH
    return f"{number:,.3f}" if 0 < abs(number) < 1 else f"{number:,.2f}"


def _p_value(value) -> str:
    number = _finite(value)
    if number is None:
        return DASH
    return f"{number:.3f}" if number >= 0.001 else f"{number:.1e}"


def _signed_percent(value, digits: int = 1) -> str:
    number = _finite(value)
    return DASH if number is None else charts.percent_label(number, digits=digits)


def _metric_value(metric: str, value) -> str:
    return percent_text(value) if metric in RATE_METRICS else _money(value)


def _difference(metric: str, value, *, signed: bool = True) -> str:
    """An absolute difference in the metric's units: percentage points for rates; "< 0.01 pp" when tiny but not 0."""
    number = _finite(value)
    if number is None:
        return DASH
    scaled, digits, unit = (number * 100, 2, " pp") if metric in RATE_METRICS else (number, 3, "")
    if number and round(abs(scaled), digits) == 0:
        return f"< {10 ** -digits:.{digits}f}{unit}"
    text = f"{abs(scaled):,.{digits}f}{unit}"
    if not signed:
        return text
    return ("+" if number >= 0 else "\u2212") + text


def _format(kind: str, value) -> str:
    return {"count": _count, "percent": percent_text, "money": _money}[kind](value)


def _range(metric: str, interval) -> str:
    if not interval or len(interval) != 2 or _finite(interval[0]) is None or _finite(interval[1]) is None:
        return DASH
    return f"{_difference(metric, interval[0])} to {_difference(metric, interval[1])}"


def _relative_range(interval) -> str:
    if not interval or len(interval) != 2 or _finite(interval[0]) is None or _finite(interval[1]) is None:
        return DASH
    return f"{_signed_percent(interval[0])} to {_signed_percent(interval[1])}"


def _config_text(config: dict | None) -> str:
    if not config:
        return ""
    parts = [str(config.get("strategy", ""))]
    if config.get("w_content") is not None or config.get("w_cf") is not None:
        parts.append(f"content {config.get('w_content', DASH)} / CF {config.get('w_cf', DASH)}")
    parts.extend(f"{name}={value}" for name, value in (config.get("options") or {}).items())
    return ", ".join(part for part in parts if part)


def _planner_text(planner: dict | None) -> str:
    if not planner:
        return "No estimate yet."
    if planner.get("note"):
        return str(planner["note"])
    per_arm = _finite(planner.get("visitors_per_arm"))
    if per_arm is None:
        return "No estimate yet."
    per_day = _finite(planner.get("visitors_per_day")) or 0.0
    text = f"{int(per_arm):,} visitors per arm ({_count(planner.get('visitors_needed'))} in all, {_count(planner.get('visitors_so_far'))} so far)"
    remaining = _finite(planner.get("days_remaining"))
    if remaining is None:
        return f"{text}; no visitors entered in the last week, so no estimate of the days."
    if remaining <= 0:
        return f"{text}; enough visitors have entered already."
    days = math.ceil(remaining)
    return f"{text}; about {days:,} more day{'s' if days != 1 else ''} at {per_day:,.0f} visitors/day."


def _lift_series(results: dict) -> tuple[list[str], list[charts.LiftSeries]]:
    daily = results.get("daily") or []
    treatments = [row for row in results.get("variants") or [] if not row.get("is_control")]
    days = [str(entry.get("day", "")) for entry in daily]
    series = []
    for row in treatments:
        points = [(entry.get("variants") or {}).get(row["key"]) or {} for entry in daily]
        series.append(
            charts.LiftSeries(
                name=str(row.get("name") or row["key"]),
                relative=[point.get("relative") for point in points],
                interval=[point.get("relative_ci") for point in points],
                band=[point.get("relative_band") for point in points],
            )
        )
    return days, series


def results_page(results: dict, *, chart_id: str = "lift") -> dict:
    """Turn :func:`experiments.results.experiment_results` (or a frozen snapshot of it) into display text and SVG."""
    experiment = results.get("experiment") or {}
    primary = experiment.get("primary_metric") or "ctr"
    rows = results.get("variants") or []
    srm = results.get("srm") or {}
    total_weight = sum(_finite(row.get("weight")) or 0.0 for row in rows)

    variants = [
        {
            "key": row.get("key"),
            "name": row.get("name") or row.get("key"),
            "is_control": bool(row.get("is_control")),
            "share": percent_text((_finite(row.get("weight")) or 0.0) / total_weight, 0) if total_weight else DASH,
            "expected": _count((srm.get("expected") or {}).get(row.get("key"))),
            "config": _config_text(row.get("config")),
            "cells": [_format(kind, row.get(key)) for key, _, kind, _ in VARIANT_COLUMNS],
        }
        for row in rows
    ]

    bounds = []
    for row in rows:
        for lift in (row.get("lifts") or {}).values():
            bounds.extend(lift.get("relative_ci") or [])
            bounds.append(lift.get("relative"))
    limit = charts.symmetric_limit(bounds)

    treatments = []
    for row in rows:
        lifts = row.get("lifts")
        if not lifts:
            continue
        sequential = row.get("sequential") or {}
        cuped = row.get("cuped") or {}
        metrics = []
        for metric in METRIC_LABELS:
            lift = lifts.get(metric) or {}
            ci = lift.get("relative_ci") or [None, None]
            metrics.append({
                "label": METRIC_LABELS[metric],
                "primary": metric == primary,
                "control": _metric_value(metric, lift.get("control")),
                "treatment": _metric_value(metric, lift.get("treatment")),
                "absolute": _difference(metric, lift.get("absolute")),
                "relative": _signed_percent(lift.get("relative")),
                "relative_ci": _relative_range(lift.get("relative_ci")),
                "bar": mark_safe(charts.interval_bar(lift.get("relative"), ci[0], ci[1], limit=limit)),  # noqa: S308 - charts escape all text
                "p_value": _p_value(lift.get("p_value")),
                "p_value_adjusted": _p_value(lift.get("p_value_adjusted")) if metric == primary else "",
                "chance": percent_text(lift.get("chance_to_beat_control"), 1),
                "expected_loss": _difference(metric, lift.get("expected_loss"), signed=False),
            })  # fmt: skip
        treatments.append({
            "key": row.get("key"),
            "several": sum(1 for other in rows if other.get("lifts")) > 1,
            "name": row.get("name") or row.get("key"),
            "metrics": metrics,
            "decision": DECISIONS.get(sequential.get("decision"), "Not enough data for a decision yet."),
            "always_valid": _range(primary, sequential.get("interval")),
            "fixed": _range(primary, sequential.get("fixed_interval")),
            "mde": _difference(primary, sequential.get("mde_absolute"), signed=False),
            "chance": percent_text(row.get("chance_to_beat_control"), 1),
            "cuped": {
                "variance_reduction": percent_text(cuped.get("variance_reduction"), 1),
                "absolute": _difference(primary, cuped.get("absolute")),
                "absolute_ci": _range(primary, cuped.get("absolute_ci")),
                "p_value": _p_value(cuped.get("p_value")),
            } if cuped else None,
        })  # fmt: skip

    days, series = _lift_series(results)
    chart = charts.lift_chart(
        days, series, title=f"Cumulative relative lift in {METRIC_LABELS.get(primary, primary)}", chart_id=chart_id, width=960
    )
    window = results.get("window") or {}
    return {
        "primary": METRIC_LABELS.get(primary, primary),
        "mde": percent_text(experiment.get("minimum_detectable_effect"), 1),
        "visitors": _count(results.get("visitors")),
        "window_start": _datetime(window.get("start")),
        "window_end": _datetime(window.get("end")),
        "srm": {
            "flagged": bool(srm.get("flagged")),
            "p": _p_value(srm.get("p")),
            "chi2": f"{_finite(srm.get('chi2')):.2f}" if _finite(srm.get("chi2")) is not None else DASH,
        },
        "decision": (
            DECISIONS.get(results.get("decision"), "Not enough data for a decision yet.")
            if results.get("visitors") else "No visitors yet, so nothing to decide."
        ),
        "columns": [(heading, explanation) for _, heading, _, explanation in VARIANT_COLUMNS],
        "variants": variants,
        "treatments": treatments,
        "planner": _planner_text(results.get("planner")),
        "chart": mark_safe(chart),  # noqa: S308 - charts escape all text
        "interval_scale": _signed_percent(limit, 0),
    }


# The interleaving results page ----------------------------------------------------------------

TEAM_COLOURS = {"A": charts.SERIES_COLOURS[0], "B": charts.SERIES_COLOURS[1]}

# (key in the team row, column heading, how to format it, one line for store staff)
TEAM_COLUMNS = [
    ("clicks", "Clicks", "count", "Clicks on the products this team placed in the merged lists."),
    ("add_to_carts", "Add-to-carts", "count", "Those clicked products put in the cart soon after (within the cart window)."),
    ("orders", "Orders", "count", "Orders containing a product of this team the shopper had clicked (within the purchase window)."),
    ("revenue", "Revenue", "money", "Money from those products in those orders (quantity x price paid)."),
]

INTERLEAVING_DECISIONS = {
    "A preferred": "Shoppers prefer team A's ranking ({a}) to team B's ({b}): visitors whose clicks favoured A outnumber "
    "those favouring B by more than chance would explain (sign test p < 0.05).",
    "B preferred": "Shoppers prefer team B's ranking ({b}) to team A's ({a}): visitors whose clicks favoured B outnumber "
    "those favouring A by more than chance would explain (sign test p < 0.05).",
    "no preference yet": "No preference yet: the visitors preferring A and B could still differ by chance. Keep running; "
    "if it stays like this with many clicking visitors, the two rankings are about equally good for shoppers.",
}

INTERLEAVING_GLOSSARY = [
    ("Interleaving", "Every visitor sees one list merging both rankings: team A (the control's ranking) and team B take "
     "turns adding their best product not shown yet, a coin deciding who picks first in each round, and a click counts "
     "for the team that placed the product. The same shopper compares both rankings on the same list, so it tells "
     "quickly which ranking shoppers prefer. It does not measure what a ranking earns: revenue and long-term effects "
     "still need an A/B test."),
    ("Preference Δ", "Lists won by A minus lists won by B, divided by all lists with clicks (ties included): from "
     "−1 (B won every list) to +1 (A won every list). Above 0 favours A, below 0 favours B, 0 is no preference."),
    ("95 % interval", "The range of Δ the data is compatible with (a bootstrap over visitors); if it includes 0, the "
     "preference may be chance."),
    ("Interval bar", "The 95 % interval of Δ drawn around 0 (the vertical line), with the measured Δ as a dot: "
     "left of 0 in orange, B is preferred; right of 0 in blue, A is preferred; grey when it spans 0."),
    ("Lists won", "A list is won by the team whose products got more clicks in it; as many clicks on each is a tie; a "
     "list without clicks counts for neither."),
    ("Visitors preferring A / B", "A visitor prefers the team that won more of their lists; a visitor with as many wins "
     "for each prefers neither."),
    ("Sign-test p-value", "How surprising the split between visitors preferring A and visitors preferring B would be if "
     "shoppers had no preference; below 0.05 the page declares a preference."),
    ("Visitors", "Visitors who entered the experiment (were served a merged list)."),
    ("Exposed", "Of those, visitors who actually saw at least one list of this placement."),
    ("With clicks", "Visitors who clicked a product of a merged list at least once: only they can show a preference."),
    *((f"Team {heading.lower()}", explanation) for _, heading, _, explanation in TEAM_COLUMNS),
]


def _signed_number(value, digits: int = 3) -> str:
    """0.25 -> "+0.250", -0.25 -> "−0.250" (a real minus sign); missing -> dash."""
    number = _finite(value)
    if number is None:
        return DASH
    text = f"{abs(number):.{digits}f}"
    if round(number, digits) == 0:
        return text
    return ("+" if number > 0 else charts.MINUS) + text


def interleaving_page(results: dict) -> dict:
    """Turn an interleaving experiment's results (or their frozen snapshot) into display text and an interval bar."""
    preference = results.get("preference") or {}
    low, high = (list(preference.get("delta_ci") or []) + [None, None])[:2]
    delta = preference.get("delta")
    limit = charts.symmetric_limit([delta, low, high], floor=0.1, cap=1.0)
    names = {}
    teams = []
    for row in results.get("teams") or []:
        team = row.get("team")
        names[team] = row.get("name") or row.get("key") or f"team {team}"
        teams.append({
            "team": team,
            "key": row.get("key"),
            "name": names[team],
            "is_control": team == "A",
            "colour": TEAM_COLOURS.get(team, charts.AXIS_COLOUR),
            "config": _config_text(row.get("config")),
            "cells": [_format(kind, row.get(key)) for key, _, kind, _ in TEAM_COLUMNS],
        })  # fmt: skip
    window = results.get("window") or {}
    decision = results.get("decision")
    if not results.get("visitors"):
        explanation = "No visitors yet, so nothing to decide."
    else:
        explanation = INTERLEAVING_DECISIONS.get(decision, INTERLEAVING_DECISIONS["no preference yet"]).format(
            a=names.get("A", "team A"), b=names.get("B", "team B")
        )
    bar = charts.interval_bar(
        delta, low, high, limit=limit, width=240, height=22, name="preference Δ", value_format=_signed_number,
        colours=(TEAM_COLOURS["A"], TEAM_COLOURS["B"], "#757575"),
    )  # fmt: skip
    return {
        "visitors": _count(results.get("visitors")),
        "exposed": _count(results.get("exposed")),
        "impressions": _count(results.get("impressions")),
        "with_clicks": _count(results.get("visitors_with_clicks")),
        "window_start": _datetime(window.get("start")),
        "window_end": _datetime(window.get("end")),
        "decision": decision,
        "decision_text": results.get("decision_text") or (decision or "No preference yet").capitalize(),
        "decision_explanation": explanation,
        "delta": _signed_number(delta),
        "delta_ci": f"{_signed_number(low)} to {_signed_number(high)}" if _finite(low) is not None and _finite(high) is not None else DASH,
        "bar": mark_safe(bar),  # noqa: S308 - charts escape all text
        "interval_scale": _signed_number(limit, 1).lstrip("+"),
        "wins_a": _count(preference.get("wins_a")),
        "wins_b": _count(preference.get("wins_b")),
        "ties": _count(preference.get("ties")),
        "prefer_a": _count(preference.get("prefer_a")),
        "prefer_b": _count(preference.get("prefer_b")),
        "counted_visitors": _count(preference.get("visitors")),
        "p_value": _p_value(preference.get("p_value")),
        "team_a": names.get("A", "team A"),
        "team_b": names.get("B", "team B"),
        "columns": [(heading, explanation) for _, heading, _, explanation in TEAM_COLUMNS],
        "teams": teams,
    }


def _datetime(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    return parse_datetime(value) if isinstance(value, str) else None


PLACEMENT_LABELS = dict(Placement.choices)


def traffic_table(rows, *, labels: dict[str, str]) -> list[dict]:
    return [
        {
            "key": row.key,
            "label": labels.get(row.key, row.key),
            "impressions": f"{row.impressions:,}",
            "clicks": f"{row.clicks:,}",
            "ctr": percent_text(row.ctr),
            "revenue": f"{row.revenue:,.2f}",
        }
        for row in rows
    ]


def traffic_charts(rows, *, noun: str) -> list:
    return [
        mark_safe(chart)  # noqa: S308 - charts escape all text
        for chart in (
            charts.bar_chart([(row.key, row.impressions) for row in rows], title=f"Impressions by {noun}", width=380, height=240),
            charts.bar_chart(
                [(row.key, row.ctr) for row in rows], title=f"CTR by {noun}", width=380, height=240,
                value_format=lambda value: charts.percent_label(value, signed=False, digits=1),
                axis_format=lambda value: charts.percent_label(value, signed=False, digits=1),
            ),
            charts.bar_chart([(row.key, float(row.revenue)) for row in rows], title=f"Attributed revenue by {noun}", width=380, height=240),
        )
    ]  # fmt: skip
