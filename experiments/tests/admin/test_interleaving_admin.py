"""Interleaving experiments in the admin: the kind on the form, two variants only, and a results page about preference."""

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from experiments.models import Experiment, Variant
from experiments.results import experiment_results
from experiments.services import experiment_stop
from experiments.tests.admin.conftest import CONTROL, TREATMENT, draft, experiment_form_data
from experiments.tests.admin.interleaving_data import (
    B_PREFERRED_P_VALUE,
    B_PREFERRED_VISITORS,
    buys_first_b_product,
    duel,
    shown_lists,
)
from experiments.tests.conftest import running_experiment
from shop.models import Interaction, Product

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:experiments_experiment_add")
TWO_ONLY = "An interleaving experiment merges exactly two variants (A: the control, B)."
THIRD = {"key": "cf", "name": "Collaborative", "weight": "50", "is_control": False, "strategy": "cf"}


def errors_of(response) -> str:
    formset = response.context["inline_admin_formsets"][0].formset
    lines = list(formset.non_form_errors())
    for form in formset.forms:
        lines.extend(f"{field}: {message}" for field, messages in form.errors.items() for message in messages)
    return "\n".join(lines)


def change_url(experiment: Experiment) -> str:
    return reverse("admin:experiments_experiment_change", args=[experiment.pk])


def results_url(experiment: Experiment) -> str:
    return reverse("admin:experiments_experiment_results", args=[experiment.pk])


def stored_variants_data(experiment: Experiment) -> list[dict]:
    return [
        {"id": variant.pk, "experiment": experiment.pk, "key": variant.key, "name": variant.name, "weight": variant.weight,
         "is_control": variant.is_control, "strategy": variant.strategy}
        for variant in experiment.variants.order_by("-is_control", "id")
    ]  # fmt: skip


# The form ------------------------------------------------------------------------------------


def test_the_add_form_offers_the_kind(admin_client):
    response = admin_client.get(ADD_URL)

    form = response.context["adminform"].form
    assert "kind" in form.fields
    assert dict(form.fields["kind"].choices)["interleaving"] == "Interleaving (team draft)"
    assert 'name="kind"' in response.content.decode()


def test_an_interleaving_experiment_with_three_variants_is_a_form_error(admin_client):
    response = admin_client.post(ADD_URL, experiment_form_data([CONTROL, TREATMENT, THIRD], kind="interleaving"))

    assert response.status_code == 200
    assert TWO_ONLY in errors_of(response)
    assert "Please correct the error" in response.content.decode()
    assert Experiment.objects.count() == 0 and Variant.objects.count() == 0


def test_the_same_three_variants_are_fine_for_an_ab_test(admin_client):
    response = admin_client.post(ADD_URL, experiment_form_data([CONTROL, TREATMENT, THIRD], kind="ab"))

    assert response.status_code == 302, errors_of(response)
    assert Experiment.objects.get().variants.count() == 3


def test_an_interleaving_experiment_with_two_variants_is_created(admin_client):
    response = admin_client.post(ADD_URL, experiment_form_data([CONTROL, TREATMENT], kind="interleaving"))

    assert response.status_code == 302, errors_of(response)
    experiment = Experiment.objects.get()
    assert (experiment.kind, experiment.status, experiment.variants.count()) == ("interleaving", "draft", 2)


def test_a_three_variant_draft_cannot_become_interleaving(admin_client):
    experiment = draft("three-way")
    Variant.objects.create(experiment=experiment, key="cf", name="cf", strategy="cf")

    response = admin_client.post(
        change_url(experiment),
        experiment_form_data(stored_variants_data(experiment), initial=3, key="three-way", name="Three way", kind="interleaving"),
    )

    assert response.status_code == 200
    assert TWO_ONLY in errors_of(response)
    experiment.refresh_from_db()
    assert experiment.kind == "ab" and experiment.variants.count() == 3


def test_the_kind_is_read_only_once_started(admin_client):
    experiment = duel()
    url = change_url(experiment)

    page = admin_client.get(url)
    assert "kind" not in page.context["adminform"].form.fields
    assert "Interleaving (team draft)" in page.content.decode()

    data = experiment_form_data(
        [{key: value for key, value in row.items() if key in {"id", "experiment", "name", "weight"}} for row in stored_variants_data(experiment)],
        initial=2, kind="ab", name="Renamed duel",
    )  # fmt: skip
    response = admin_client.post(url, data)

    assert response.status_code == 302, errors_of(response)
    experiment.refresh_from_db()
    assert (experiment.kind, experiment.name) == ("interleaving", "Renamed duel")


# The results page ----------------------------------------------------------------------------


@pytest.fixture
def b_preferred(db):
    """A running duel where visitors clearly prefer B (see B_PREFERRED_VISITORS), and one of them ordered B's product."""
    experiment = duel()
    customers = shown_lists(experiment, B_PREFERRED_VISITORS)
    buys_first_b_product(customers[0])
    return experiment


def test_the_data_behind_the_page(b_preferred):
    """The stored lists say what the fixture promises (the page below only formats these numbers)."""
    results = experiment_results(experiment=b_preferred)

    preference = results["preference"]
    assert (preference["wins_a"], preference["wins_b"], preference["ties"]) == (2, 11, 1)
    assert (preference["prefer_a"], preference["prefer_b"], preference["visitors"]) == (1, 10, 13)
    assert preference["delta"] == pytest.approx(-9 / 14)
    assert preference["p_value"] == pytest.approx(B_PREFERRED_P_VALUE)
    assert preference["delta_ci"][1] < 0
    assert (results["decision"], results["decision_text"]) == ("B preferred", "B (Content) preferred")
    assert (results["visitors"], results["exposed"], results["visitors_with_clicks"], results["impressions"]) == (15, 15, 13, 16)


def test_the_results_page_shows_the_preference_the_decision_and_the_teams(admin_client, b_preferred):
    response = admin_client.get(results_url(b_preferred))

    assert response.status_code == 200
    html = response.content.decode()
    page = response.context["page"]
    results = experiment_results(experiment=b_preferred)
    low, high = results["preference"]["delta_ci"]
    # The decision in plain words.
    assert '<p class="decision" data-decision="B preferred">B (Content) preferred</p>' in html
    assert "Shoppers prefer team B&#x27;s ranking (Content) to team A&#x27;s (Hybrid)" in html
    # The preference: delta with its interval, drawn as an interval bar around 0.
    assert page["delta"] == "\u22120.643"
    assert page["delta_ci"] == f"\u2212{abs(low):.3f} to \u2212{abs(high):.3f}"
    assert page["delta_ci"] in html
    bars = re.findall(r'<svg xmlns="http://www.w3.org/2000/svg"[^>]*aria-label="([^"]*)"', html)
    assert bars == [f"preference \u0394 \u22120.643; 95 % interval {page['delta_ci']}"]
    assert 'fill="#ef6c00" fill-opacity="0.55"' in html  # the whole interval on B's side, in B's colour
    assert "B preferred" in html and "A preferred" in html
    # Wins, visitors preferring each team, the sign test, the audience.
    assert "A 2 &middot; B 11 &middot; ties 1" in html
    assert "A 1 &middot; B 10 (of 13 with clicks)" in html
    assert page["p_value"] == "0.012" and "0.012" in html
    assert "15 entered &middot; 15 exposed &middot; 13 with clicks" in html
    # The team table: A is the control's ranking.
    rows = {team["team"]: team for team in page["teams"]}
    assert (rows["A"]["key"], rows["A"]["is_control"], rows["B"]["key"]) == ("hybrid", True, "content")
    assert rows["A"]["cells"] == ["3", "0", "0", "0.00"]
    assert rows["B"]["cells"] == ["12", "1", "1", "12.50"]
    assert 'data-team="A"' in html and 'data-team="B"' in html
    for heading in ("Clicks", "Add-to-carts", "Orders", "Revenue"):
        assert f">{heading}</th>" in html


def test_the_interleaving_page_has_no_srm_check_and_no_variant_metrics(admin_client, b_preferred):
    html = admin_client.get(results_url(b_preferred)).content.decode()

    assert "Sample ratio mismatch" not in html and "Split check" not in html
    assert "Metrics per variant" not in html and "Lifts against the control" not in html and "How long to run" not in html


def test_each_interleaving_figure_is_explained_for_store_staff(admin_client, b_preferred):
    html = admin_client.get(results_url(b_preferred)).content.decode()

    for term in ("Interleaving", "Preference \u0394", "95 % interval", "Lists won", "Visitors preferring A / B", "Sign-test p-value",
                 "Exposed", "With clicks", "Team revenue"):  # fmt: skip
        assert f"<dt>{term}</dt>" in html
    assert "above 0 favours A, below 0 favours B" in html
    assert "revenue and long-term effects still need an A/B test" in html


def test_no_preference_is_said_in_plain_words(admin_client):
    experiment = duel()
    shown_lists(experiment, [[(1, 0)], [(0, 1)], [(1, 1)]])

    html = admin_client.get(results_url(experiment)).content.decode()

    assert '<p class="decision" data-decision="no preference yet">No preference yet</p>' in html
    assert "could still differ by chance" in html


def test_an_interleaving_experiment_without_visitors_renders(admin_client):
    experiment = duel()

    response = admin_client.get(results_url(experiment))

    assert response.status_code == 200
    html = response.content.decode()
    assert "No visitors yet, so nothing to decide." in html
    assert response.context["page"]["delta"] == "\u2013" and "no data" in html


def test_a_stopped_interleaving_experiment_shows_its_frozen_results(admin_client, b_preferred):
    experiment = experiment_stop(experiment=b_preferred, results=lambda stopped: experiment_results(experiment=stopped))
    Interaction.objects.filter(kind="click").delete()  # later changes must not show: the snapshot does

    response = admin_client.get(results_url(experiment))

    html = response.content.decode()
    assert "Results frozen at" in html
    assert "B (Content) preferred" in html and "A 2 &middot; B 11 &middot; ties 1" in html


def test_team_names_are_escaped(admin_client):
    experiment = duel(name="<script>alert(1)</script>")
    experiment.variants.filter(is_control=False).update(name='<img src=x onerror="alert(2)">')
    shown_lists(experiment, [[(0, 1)]] * 6)

    html = admin_client.get(results_url(experiment)).content.decode()

    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html


def test_an_ab_experiment_still_gets_the_ab_page(admin_client):
    experiment = running_experiment()

    html = admin_client.get(results_url(experiment)).content.decode()

    assert "Metrics per variant" in html and "Preference \u0394" not in html


# The recommendations dashboard ----------------------------------------------------------------


def test_interleaved_lists_are_one_strategy_row_on_the_dashboard(admin_client, active_model):
    """Merged lists through the real endpoints: their strategy "interleaved" is a row like any other."""
    duel()
    for index in range(3):
        shopper = APIClient()
        shopper.get("/")
        body = shopper.get("/api/recommendations/for-you/", {"k": 6}).json()
        assert body["strategy"] == "interleaved"
        impression = {"request_id": body["request_id"], "placement": "home_for_you", "positions": [0, 1, 2],
                      "experiment": "rank-duel", "strategy": "interleaved", "event_id": f"imp-{index}"}  # fmt: skip
        assert shopper.post("/api/impressions/", [impression], format="json").status_code == 201
        if index == 0:
            item = body["results"][0]
            context = {"request_id": body["request_id"], "placement": "home_for_you", "experiment": "rank-duel",
                       "strategy": "interleaved", "position": 0, "team": item["team"]}  # fmt: skip
            click = {"product_id": item["product_id"], "kind": "click", "context": context}
            assert shopper.post("/api/interactions/", [click], format="json").status_code == 201
            checkout = {"lines": [{"product_id": item["product_id"], "quantity": 1, "context": context}]}
            assert shopper.post("/api/checkout/", checkout, format="json").status_code == 201
            price = Product.objects.get(product_id=item["product_id"]).price

    response = admin_client.get(reverse("admin:experiments_dashboard"))

    assert response.status_code == 200
    rows = {row["key"]: row for row in response.context["strategy_rows"]}
    assert (rows["interleaved"]["impressions"], rows["interleaved"]["clicks"], rows["interleaved"]["ctr"]) == ("3", "1", "33.33 %")
    assert rows["interleaved"]["revenue"] == f"{price:,.2f}"  # the order of the clicked product, attributed to the list
    assert '<tr data-key="interleaved">' in response.content.decode()
