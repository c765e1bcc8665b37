"""Print an experiment's results as a table, or write them as JSON (the same dict the API and the admin show).

An interleaving experiment's results have another shape (teams and a preference instead of
variants and lifts) and are printed as such: the teams table, the preference, the sign test and
the decision.
"""

import json
from pathlib import Path

from django.core.management import BaseCommand, CommandError

from experiments.models import Experiment
from experiments.results import METRICS, experiment_results

DECISIONS = {
    "treatment_better": "treatment better: the always-valid interval lies above 0",
    "treatment_worse": "treatment worse: the always-valid interval lies below 0",
    "no_meaningful_difference": "no meaningful difference: any effect left is smaller than the MDE",
    "keep_running": "keep running: not enough evidence either way yet",
}
VARIANT_COLUMNS = (
    ("variant", "<"), ("assigned", ">"), ("exposed", ">"), ("impressions", ">"), ("clicks", ">"), ("CTR", ">"),
    ("add-to-cart", ">"), ("conversion", ">"), ("orders", ">"), ("revenue/visitor", ">"),
)  # fmt: skip
TEAM_COLUMNS = (
    ("team", "<"), ("variant", "<"), ("clicks", ">"), ("add-to-carts", ">"), ("orders", ">"), ("order lines", ">"), ("revenue", ">"),
)  # fmt: skip
INTERLEAVING_DECISIONS = {
    "A preferred": "more visitors preferred team A's ranking than chance would explain (sign test p < 0.05)",
    "B preferred": "more visitors preferred team B's ranking than chance would explain (sign test p < 0.05)",
    "no preference yet": "the visitors' preferences could still be chance; keep running",
}
LIFT_COLUMNS = (
    ("metric", "<"), ("control", ">"), ("treatment", ">"), ("relative lift", ">"), ("95 % CI", ">"), ("p-value", ">"),
    ("chance to beat control", ">"),
)  # fmt: skip


class Command(BaseCommand):
    help = (
        "Print an experiment's results: per variant assigned, exposed, impressions, clicks, CTR, conversion and revenue "
        "per visitor; per treatment the lifts with 95 % intervals, p-values and chance to beat control; the SRM check, "
        "the sequential decision and the planner. An interleaving experiment: per team clicks, add-to-carts, orders "
        "and revenue; the preference between the two rankings with its 95 % interval, the sign test and the decision. "
        "--json PATH writes the full results as JSON ('-': stdout only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("key", help="The experiment's key.")
        parser.add_argument("--json", dest="json_path", metavar="PATH", help="Also write the results as JSON to PATH; '-' prints only the JSON.")

    def handle(self, *args, key: str, json_path: str | None = None, **options):
        experiment = Experiment.objects.prefetch_related("variants").filter(key=key).first()
        if experiment is None:
            known = ", ".join(Experiment.objects.order_by("key").values_list("key", flat=True)[:20]) or "none yet"
            raise CommandError(f"No experiment '{key}'. Known keys: {known}.")
        results = experiment_results(experiment=experiment)
        if json_path == "-":
            self.stdout.write(_dumps(results))
            return
        self.stdout.write("\n".join(results_lines(results)))
        if json_path:
            path = Path(json_path)
            try:
                path.write_text(_dumps(results) + "\n", encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"--json: cannot write {path}: {exc.strerror or exc}.") from None
            self.stdout.write(f"Results written to {path} as JSON.")


def _dumps(results: dict) -> str:
    # experiment_results is JSON-ready: NaN and infinities are already null.
    return json.dumps(results, indent=2, allow_nan=False)


def results_lines(results: dict) -> list[str]:
    """Return the results as readable lines: header, variant table, lifts per treatment, SRM, decision, planner."""
    if results["experiment"].get("kind") == "interleaving":
        return interleaving_lines(results)
    about = results["experiment"]
    primary = about["primary_metric"]
    window = results["window"]
    lines = [
        f"Experiment {about['key']} ({about['name']}) on {about['placement']}: {about['status']}, "
        f"{about['traffic']:g} % of traffic, {results['visitors']:,} visitors analysed",
        f"Window {_when(window['start'])} to {_when(window['end'])}; primary metric {primary}, "
        f"minimum detectable effect {_percent(about['minimum_detectable_effect'], signed=False)}",
        "",
    ]
    rows = [
        [
            f"{row['key']}{' (control)' if row['is_control'] else ''}",
            f"{row['assigned']:,}",
            f"{row['exposed']:,}",
            f"{row['impressions']:,}",
            f"{row['clicks']:,}",
            _percent(row["ctr"], signed=False, digits=2),
            _percent(row["add_to_cart_rate"], signed=False, digits=2),
            _percent(row["conversion"], signed=False, digits=2),
            f"{row['orders']:,}",
            _number(row["revenue_per_visitor"], digits=2),
        ]
        for row in results["variants"]
    ]
    lines += _table(VARIANT_COLUMNS, rows)
    for row in results["variants"]:
        if not row.get("lifts"):
            continue
        lines += ["", f"{row['key']} against control:"]
        lift_rows = []
        for metric in sorted(METRICS, key=lambda name: name != primary):
            lift = row["lifts"][metric]
            digits = 2 if metric == "revenue_per_visitor" else None
            lift_rows.append([
                f"{metric}{' (primary)' if metric == primary else ''}",
                _number(lift["control"], digits=digits) if digits else _percent(lift["control"], signed=False, digits=2),
                _number(lift["treatment"], digits=digits) if digits else _percent(lift["treatment"], signed=False, digits=2),
                _percent(lift["relative"]),
                _interval(lift["relative_ci"]),
                _p_value(lift["p_value"]),
                _percent(lift["chance_to_beat_control"], signed=False),
            ])  # fmt: skip
        lines += ["  " + line for line in _table(LIFT_COLUMNS, lift_rows)]
        if len([r for r in results["variants"] if r.get("lifts")]) > 1:
            lines.append(f"  {primary} p-value adjusted for {len(results['variants']) - 1} treatments (Holm): "
                         f"{_p_value(row['lifts'][primary]['p_value_adjusted'])}")  # fmt: skip
        sequential = row.get("sequential")
        if sequential:
            lines.append(
                f"  sequential ({primary}, absolute difference): always-valid interval "
                f"{_interval(sequential['interval'], percent=False)}, MDE {_number(sequential['mde_absolute'])}: "
                f"{sequential['decision']}"
            )
        cuped = row.get("cuped")
        if cuped:
            lines.append(
                f"  CUPED ({primary}, absolute difference): {_number(cuped['absolute'])} "
                f"{_interval(cuped['absolute_ci'], percent=False)}, p {_p_value(cuped['p_value'])}, "
                f"variance reduced by {_percent(cuped['variance_reduction'], signed=False)}"
            )
    lines += ["", _srm_line(results), _decision_line(results), _planner_line(results["planner"])]
    return lines


def interleaving_lines(results: dict) -> list[str]:
    """Return an interleaving experiment's results as readable lines: header, teams table, preference, p-value, decision."""
    about = results["experiment"]
    window = results["window"]
    preference = results["preference"]
    lines = [
        f"Experiment {about['key']} ({about['name']}) on {about['placement']}: {about['status']}, interleaving (team draft), "
        f"{about['traffic']:g} % of traffic, {results['visitors']:,} visitors analysed",
        f"Window {_when(window['start'])} to {_when(window['end'])}; {results['exposed']:,} visitors saw a list "
        f"({results['impressions']:,} lists seen), {results['visitors_with_clicks']:,} clicked",
        "",
    ]
    rows = [
        [
            team["team"],
            f"{team['key'] or 'n/a'}{' (control)' if team['team'] == 'A' else ''}",
            f"{team['clicks']:,}",
            f"{team['add_to_carts']:,}",
            f"{team['orders']:,}",
            f"{team['order_lines']:,}",
            _number(team["revenue"], digits=2),
        ]
        for team in results["teams"]
    ]
    lines += _table(TEAM_COLUMNS, rows)
    lines += [
        "",
        f"Preference: delta {_signed(preference['delta'])}, "
        f"95 % bootstrap interval {_interval(preference['delta_ci'], percent=False, signed=True)} "
        f"(delta = (lists won by A - lists won by B) / lists with clicks; above 0 favours A, below 0 favours B)",
        f"Lists won: A {preference['wins_a']:,}, B {preference['wins_b']:,}, ties {preference['ties']:,}; "
        f"visitors preferring A {preference['prefer_a']:,}, B {preference['prefer_b']:,} (of {preference['visitors']:,} who clicked)",
        f"Sign test over visitors: p {_p_value(preference['p_value'])}",
        f"Decision: {results.get('decision_text') or results['decision']}: "
        f"{INTERLEAVING_DECISIONS.get(results['decision'], results['decision'])}.",
        "Interleaving tells quickly which ranking shoppers prefer; revenue and long-term effects still need an A/B test.",
    ]
    return lines


def _signed(value, *, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.{digits}f}"


def _srm_line(results: dict) -> str:
    srm = results["srm"]
    if srm["chi2"] is None and srm["p"] is None:
        return "SRM: not checked (fewer than two variants)."
    expected = ", ".join(f"{key} {value:,.0f}" for key, value in srm["expected"].items())
    verdict = "FLAGGED: the split does not match the weights; do not trust the lifts" if srm["flagged"] else "ok"
    return f"SRM: chi2 {_number(srm['chi2'], digits=2)}, p {_p_value(srm['p'])}: {verdict} (expected {expected})."


def _decision_line(results: dict) -> str:
    decision = results["decision"]
    if decision is None:
        return "Decision: none (no treatment to compare)."
    return f"Decision (sequential, {results['experiment']['primary_metric']}): {DECISIONS.get(decision, decision)}."


def _planner_line(plan: dict) -> str:
    if plan.get("visitors_needed") is None:
        return f"Planner: {plan.get('note') or 'not enough data to plan.'}"
    days = plan.get("days_remaining")
    remaining = "no more needed" if plan["visitors_needed"] <= plan["visitors_so_far"] else (
        f"about {days:,.1f} more days at {plan['visitors_per_day']:,.0f} visitors a day" if days is not None else "days unknown"
    )
    return (
        f"Planner: {plan['visitors_needed']:,} visitors ({plan['visitors_per_arm']:,} in the smallest arm) detect a "
        f"{_percent(plan['mde_relative'], signed=False)} lift in {plan['metric']} from the control's "
        f"{_number(plan['baseline'])} at 80 % power; {plan['visitors_so_far']:,} so far, {remaining}."
    )


def _table(columns, rows: list[list[str]]) -> list[str]:
    widths = [max(len(title), *(len(row[index]) for row in rows)) if rows else len(title) for index, (title, _) in enumerate(columns)]
    def line(cells):
        return "  ".join(f"{cell:{align}{width}}" for cell, (_, align), width in zip(cells, columns, widths)).rstrip()
    return [line([title for title, _ in columns])] + [line(row) for row in rows]


def _percent(value, *, signed: bool = True, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:{'+' if signed else ''}.{digits}f} %"


def _number(value, *, digits: int | None = None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}" if digits is not None else f"{value:.4g}"


def _p_value(value) -> str:
    if value is None:
        return "n/a"
    return "< 0.0001" if value < 0.0001 else f"{value:.4f}"


def _interval(bounds, *, percent: bool = True, signed: bool = False) -> str:
    if not bounds or bounds[0] is None or bounds[1] is None:
        return "n/a"
    low, high = bounds
    if signed:
        return f"[{_signed(low)}, {_signed(high)}]"
    return f"[{_percent(low)}, {_percent(high)}]" if percent else f"[{_number(low)}, {_number(high)}]"


def _when(value) -> str:
    return value[:19].replace("T", " ") + " UTC" if value else "n/a"
