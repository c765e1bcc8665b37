"""experiment_report on an interleaving experiment: teams, preference, p-value and decision; --json is the results dict."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from experiments.results import experiment_results
from experiments.tests.admin.interleaving_data import B_PREFERRED_VISITORS, buys_first_b_product, duel, shown_lists

pytestmark = pytest.mark.django_db


def report(*args, **options) -> str:
    out = StringIO()
    call_command("experiment_report", *args, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def b_preferred(db):
    experiment = duel()
    customers = shown_lists(experiment, B_PREFERRED_VISITORS)
    buys_first_b_product(customers[0])
    return experiment


def test_the_report_prints_teams_preference_p_value_and_decision(b_preferred):
    output = report("rank-duel")
    lines = output.splitlines()
    low, high = experiment_results(experiment=b_preferred)["preference"]["delta_ci"]

    assert "Experiment rank-duel (Hybrid vs content) on home_for_you: running, interleaving (team draft)" in output
    assert "15 visitors analysed" in output and "15 visitors saw a list (16 lists seen), 13 clicked" in output
    header = next(line for line in lines if line.startswith("team"))
    assert header.split() == ["team", "variant", "clicks", "add-to-carts", "orders", "order", "lines", "revenue"]
    assert next(line for line in lines if line.startswith("A ")).split() == ["A", "hybrid", "(control)", "3", "0", "0", "0", "0.00"]
    assert next(line for line in lines if line.startswith("B ")).split() == ["B", "content", "12", "1", "1", "1", "12.50"]
    assert f"Preference: delta -0.643, 95 % bootstrap interval [{low:+.3f}, {high:+.3f}]" in output
    assert "above 0 favours A, below 0 favours B" in output
    assert "Lists won: A 2, B 11, ties 1; visitors preferring A 1, B 10 (of 13 who clicked)" in output
    assert "Sign test over visitors: p 0.0117" in output
    assert "Decision: B (Content) preferred: more visitors preferred team B's ranking than chance would explain (sign test p < 0.05)." in output
    assert "revenue and long-term effects still need an A/B test" in output
    assert "SRM" not in output and "Planner" not in output  # the A/B sections do not apply


def test_no_preference_and_no_data_are_reported_without_numbers(db):
    duel()

    output = report("rank-duel")

    assert "0 visitors analysed" in output
    assert "Preference: delta n/a, 95 % bootstrap interval n/a" in output
    assert "Sign test over visitors: p n/a" in output
    assert "Decision: No preference yet: the visitors' preferences could still be chance; keep running." in output


def test_json_is_the_results_dict_unchanged(b_preferred, tmp_path):
    parsed = json.loads(report("rank-duel", json="-"))

    expected = experiment_results(experiment=b_preferred)
    assert parsed["experiment"]["kind"] == "interleaving"
    assert {key: value for key, value in parsed.items() if key != "window"} == {
        key: value for key, value in expected.items() if key != "window"
    }  # the end of the window is "now", which moves between the two reads
    path = tmp_path / "duel.json"
    report("rank-duel", json=str(path))
    assert json.loads(path.read_text())["teams"] == expected["teams"]
