"""experiment_report: the results as a readable table, or as JSON."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from experiments.models import Experiment
from experiments.simulation import SimulationOptions, experiment_simulate
from experiments.tests.conftest import running_experiment
from shop.models import Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def simulated(active_model):
    """A running experiment that 80 simulated shoppers went through."""
    Product.objects.update(stock=None)
    experiment = running_experiment(key="report-me", primary_metric="conversion")
    experiment_simulate(
        experiment=Experiment.objects.get(pk=experiment.pk),
        options=SimulationOptions(visitors=80, lift=0.5, seed=2, base_ctr=0.4, cart_rate=0.5, base_conversion=0.1),
    )
    return experiment


def report(*args, **options) -> str:
    out = StringIO()
    call_command("experiment_report", *args, stdout=out, **options)
    return out.getvalue()


def test_the_table_names_every_variant_and_each_section(simulated):
    output = report("report-me")

    assert "Experiment report-me" in output and "80 visitors analysed" in output
    assert "control (control)" in output and "treatment-1" in output
    for column in ("assigned", "exposed", "impressions", "clicks", "CTR", "conversion", "revenue/visitor"):
        assert column in output
    assert "treatment-1 against control:" in output
    assert "conversion (primary)" in output and "95 % CI" in output and "chance to beat control" in output
    assert "SRM: chi2" in output and "Decision (sequential, conversion)" in output and "Planner:" in output


def test_json_is_written_to_a_file_and_matches_the_api(simulated, staff_client, tmp_path):
    path = tmp_path / "results.json"

    output = report("report-me", json=str(path))

    written = json.loads(path.read_text())
    assert f"Results written to {path}" in output
    assert [row["key"] for row in written["variants"]] == ["control", "treatment-1"]
    api = staff_client.get("/api/experiments/report-me/results/").json()
    assert {key: value for key, value in written.items() if key not in {"window", "planner"}} == {
        key: value for key, value in api.items() if key not in {"window", "planner"}
    }  # the end of the window ("now") and what depends on it move between the two reads


def test_json_to_stdout_is_only_json(simulated):
    parsed = json.loads(report("report-me", json="-"))

    assert parsed["experiment"]["key"] == "report-me"
    assert sum(row["assigned"] for row in parsed["variants"]) == 80


def test_an_experiment_without_visitors_is_reported_without_numbers(small_store):
    running_experiment(key="empty-one")

    output = report("empty-one")

    assert "0 visitors analysed" in output and "n/a" in output
    assert "Planner: Waiting for data" in output


def test_an_unknown_key_is_refused(db):
    with pytest.raises(CommandError, match="No experiment 'missing'"):
        report("missing")


def test_an_unwritable_json_path_is_refused(simulated, tmp_path):
    with pytest.raises(CommandError, match="--json: cannot write"):
        report("report-me", json=str(tmp_path / "no" / "such" / "dir.json"))
