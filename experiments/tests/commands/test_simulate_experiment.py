"""simulate_experiment: shoppers through the real endpoints recover a known effect, and the same seed replays them."""

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import transaction

from experiments.models import Assignment, Experiment, Impression
from experiments.results import experiment_results
from experiments.services import experiment_create, experiment_stop
from experiments.simulation import SimulationOptions, experiment_simulate
from experiments.tests.conftest import running_experiment
from recommendations.serving import serving_reset
from shop.models import Interaction, Order, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(active_model):
    """The small store with a trained model; stock untracked, so checkouts never run out."""
    Product.objects.update(stock=None)
    return active_model


def simulate(key: str, **options) -> str:
    out = StringIO()
    call_command("simulate_experiment", key, stdout=out, **options)
    return out.getvalue()


def results_of(staff_client, key: str) -> dict:
    response = staff_client.get(f"/api/experiments/{key}/results/")
    assert response.status_code == 200, response.content
    return response.json()


def arm(results: dict, key: str) -> dict:
    return next(row for row in results["variants"] if row["key"] == key)


@pytest.mark.slow
def test_a_real_effect_is_recovered_through_the_endpoints(store, staff_client):
    running_experiment(key="sim-effect")
    report = experiment_simulate(
        experiment=Experiment.objects.get(key="sim-effect"),
        options=SimulationOptions(visitors=600, lift=1.0, seed=11, base_ctr=0.2, cart_rate=0.5, base_conversion=0.05),
    )

    results = results_of(staff_client, "sim-effect")
    ctr = arm(results, "treatment-1")["lifts"]["ctr"]
    low, high = ctr["relative_ci"]
    assert low < 1.0 < high  # the true lift
    assert low > 0  # a doubled click rate is visible with 300 shoppers an arm
    assert ctr["p_value"] < 0.05
    assert results["srm"]["flagged"] is False
    assert results["visitors"] == 600
    # The results recount from stored rows exactly what the shoppers did.
    for key, tally in report.arms.items():
        row = arm(results, key)
        assert (row["assigned"], row["exposed"], row["impressions"], row["clicks"], row["orders"]) == (
            tally.visitors, tally.visitors, tally.impressions, tally.clicks, tally.orders
        )
        assert round(row["add_to_cart_rate"] * row["assigned"]) == tally.carts
        assert row["revenue"] == pytest.approx(float(tally.revenue))
    assert arm(results, "treatment-1")["clicks"] > arm(results, "control")["clicks"]


def test_rows_are_written_by_the_endpoints_with_the_lists_context(store):
    running_experiment(key="sim-rows")
    report = experiment_simulate(
        experiment=Experiment.objects.get(key="sim-rows"),
        options=SimulationOptions(visitors=40, lift=0.5, seed=3, base_ctr=0.6, cart_rate=1.0, base_conversion=0.6),
    )

    assignments = {row.customer.customer_id: row for row in Assignment.objects.select_related("customer", "variant")}
    assert len(assignments) == 40 == Impression.objects.filter(experiment__key="sim-rows").count()
    clicks = Interaction.objects.filter(kind="click", context__experiment="sim-rows").select_related("customer")
    assert clicks.count() == sum(tally.clicks for tally in report.arms.values()) > 0
    for click in clicks:
        assignment = assignments[click.customer.customer_id]
        impression = Impression.objects.get(customer=click.customer)
        assert click.context["variant"] == assignment.variant.key == impression.variant.key
        assert click.context["request_id"] == assignment.request_id == impression.request_id
        assert click.context["placement"] == "home_for_you" and click.context["position"] in impression.positions
        assert impression.product_ids[click.context["position"]] == click.product.product_id
    orders = Order.objects.filter(customer__customer_id__in=list(assignments))
    assert orders.count() == sum(tally.orders for tally in report.arms.values()) > 0
    purchase = Interaction.objects.filter(kind="purchase", customer=orders[0].customer).get()
    assert purchase.context["experiment"] == "sim-rows" and purchase.context["order"] == orders[0].number


@pytest.mark.slow
def test_no_winner_is_declared_without_an_effect(store, staff_client):
    running_experiment(key="sim-null")
    simulate("sim-null", visitors=400, lift=0.0, seed=5, base_ctr=0.2, cart_rate=0.5, base_conversion=0.05, no_report=True)

    results = results_of(staff_client, "sim-null")
    assert results["decision"] not in {"treatment_better", "treatment_worse"}
    low, high = arm(results, "treatment-1")["lifts"]["ctr"]["relative_ci"]
    assert low < 0 < high
    assert results["srm"]["flagged"] is False


def test_the_same_seed_replays_the_same_shoppers_on_a_fresh_experiment(store):
    def counts(seed: int) -> dict:
        with transaction.atomic():  # undone afterwards, so the second run starts from the same store
            running_experiment(key="sim-seed")
            simulate("sim-seed", visitors=60, lift=0.5, seed=seed, base_ctr=0.4, cart_rate=0.5, base_conversion=0.1, no_report=True)
            results = experiment_results(experiment=Experiment.objects.get(key="sim-seed"))
            visitors = sorted(Assignment.objects.values_list("customer__customer_id", flat=True))
            transaction.set_rollback(True)
        cache.clear()
        serving_reset()
        fields = ("assigned", "impressions", "clicks", "add_to_cart_rate", "orders", "revenue")
        return {"visitors": visitors, **{row["key"]: [row[name] for name in fields] for row in results["variants"]}}

    first = counts(seed=7)
    assert first == counts(seed=7)
    assert first["control"][2] + first["treatment-1"][2] > 0  # shoppers clicked
    assert set(counts(seed=8)["visitors"]).isdisjoint(first["visitors"])  # another seed, other shoppers


def test_the_command_prints_progress_and_the_results(store):
    running_experiment(key="sim-print")

    output = simulate("sim-print", visitors=20, lift=0.2, seed=1)

    assert "20 / 20 shoppers" in output
    assert "Experiment sim-print" in output and "control (control)" in output and "treatment-1" in output
    assert "SRM:" in output and "Decision" in output and "Planner:" in output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"visitors": 0}, "--visitors must be at least 1"),
        ({"visitors": -5}, "--visitors must be at least 1"),
        ({"lift": -1.0}, "--lift must be above -1"),
        ({"lift": -3.0}, "--lift must be above -1"),
        ({"base_ctr": 0.6, "lift": 1.0}, "is not a probability"),
        ({"base_ctr": 1.5}, "--base-ctr must be a probability"),
        ({"base_ctr": 0.1, "cart_rate": 0.2, "base_conversion": 0.05}, "exceeds the share of shoppers who add to cart"),
        ({"treatment": "control"}, "--treatment must name a treatment variant"),
    ],
)
def test_bad_options_are_refused(store, options, message):
    running_experiment(key="sim-bad")

    with pytest.raises(CommandError, match=message):
        simulate("sim-bad", **options)
    assert not Assignment.objects.exists()


def test_an_unknown_or_not_running_experiment_is_refused(store):
    with pytest.raises(CommandError, match="No experiment 'nope'"):
        simulate("nope", visitors=5)
    experiment_create(
        fields={"key": "sim-draft", "name": "Draft", "placement": "home_for_you"},
        variants=[{"key": "control", "is_control": True, "strategy": "hybrid"}, {"key": "content", "strategy": "content"}],
    )
    with pytest.raises(CommandError, match="'sim-draft' is draft, not running"):
        simulate("sim-draft", visitors=5)
    experiment_stop(experiment=running_experiment(key="sim-stopped"))
    with pytest.raises(CommandError, match="'sim-stopped' is stopped, not running"):
        simulate("sim-stopped", visitors=5)
    assert not Assignment.objects.exists()
