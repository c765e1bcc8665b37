"""Interleaving experiments through the API: merged lists with teams, clicks credited by team, preference in the results."""

import pytest
from rest_framework.test import APIClient

from experiments.models import Assignment
from recommendations.engine.interleaving import team_draft

pytestmark = pytest.mark.django_db

URL = "/api/experiments/"
FOR_YOU = "/api/recommendations/for-you/"


def interleaving_payload(**overrides) -> dict:
    body = {
        "key": "rank-duel",
        "name": "Hybrid vs content",
        "placement": "home_for_you",
        "kind": "interleaving",
        "variants": [
            {"key": "hybrid", "weight": 1, "is_control": True, "strategy": "hybrid"},
            {"key": "content", "weight": 1, "is_control": False, "strategy": "content"},
        ],
    }
    body.update(overrides)
    return body


@pytest.fixture
def duel(active_model, staff_client):
    assert staff_client.post(URL, interleaving_payload(), format="json").status_code == 201
    assert staff_client.post(URL + "rank-duel/start/").json()["status"] == "running"


def shopper() -> APIClient:
    client = APIClient()
    client.get("/")
    return client


def test_an_interleaving_experiment_has_exactly_two_variants(staff_client):
    three = interleaving_payload(variants=[
        {"key": "a", "weight": 1, "is_control": True, "strategy": "hybrid"},
        {"key": "b", "weight": 1, "strategy": "content"},
        {"key": "c", "weight": 1, "strategy": "cf"},
    ])  # fmt: skip

    response = staff_client.post(URL, three, format="json")

    assert response.status_code == 400
    assert "variants.variants" in response.json()["extra"]["fields"]
    assert staff_client.post(URL, interleaving_payload(), format="json").json()["kind"] == "interleaving"


def test_visitors_get_one_list_merging_both_rankings_by_team_draft(duel, staff_client):
    client = shopper()

    body = client.get(FOR_YOU, {"k": 6, "product_id": "CAM0"}).json()

    assert (body["experiment"], body["variant"], body["strategy"]) == ("rank-duel", None, "interleaved")
    assert Assignment.objects.get().variant is None  # entered: both rankings are shown
    hybrid = staff_client.get(FOR_YOU, {"k": 6, "product_id": "CAM0", "variant": "rank-duel:hybrid"}).json()
    content = staff_client.get(FOR_YOU, {"k": 6, "product_id": "CAM0", "variant": "rank-duel:content"}).json()
    expected = team_draft(
        [item["product_id"] for item in hybrid["results"]], [item["product_id"] for item in content["results"]], 6, seed=body["request_id"]
    )
    assert [(item["product_id"], item["team"]) for item in body["results"]] == list(zip(expected.items, expected.teams))
    assert {item["team"] for item in body["results"]} <= {"A", "B"}


def test_a_cached_merged_list_runs_no_query(duel, settings, django_assert_num_queries):
    settings.RECOMMENDATION_MODEL_CHECK_SECONDS = 3600
    settings.RECOMMENDATION_AVAILABILITY_SECONDS = 3600
    client = shopper()
    client.get(FOR_YOU)

    with django_assert_num_queries(0):
        body = client.get(FOR_YOU).json()

    assert body["source"] == "cache" and body["strategy"] == "interleaved"


def test_clicks_are_credited_to_the_team_that_placed_the_product(duel, staff_client):
    for index in range(6):
        client = shopper()
        body = client.get(FOR_YOU, {"k": 6}).json()
        client.post("/api/impressions/", [{"request_id": body["request_id"], "placement": "home_for_you", "positions": [0, 1, 2],
                                            "experiment": "rank-duel", "event_id": f"imp-{index}"}], format="json")  # fmt: skip
        # Every shopper clicks the first product team B placed.
        position, item = next((position, item) for position, item in enumerate(body["results"]) if item["team"] == "B")
        context = {"request_id": body["request_id"], "placement": "home_for_you", "experiment": "rank-duel", "position": position, "team": "B"}
        assert client.post("/api/interactions/", [{"product_id": item["product_id"], "kind": "click", "context": context}], format="json").status_code == 201
        if index < 2:
            client.post("/api/checkout/", {"lines": [{"product_id": item["product_id"], "quantity": 1, "context": context}]}, format="json")

    results = staff_client.get(URL + "rank-duel/results/").json()

    assert results["experiment"]["kind"] == "interleaving"
    assert (results["visitors"], results["exposed"], results["visitors_with_clicks"]) == (6, 6, 6)
    preference = results["preference"]
    assert (preference["wins_a"], preference["wins_b"], preference["ties"]) == (0, 6, 0)
    assert (preference["prefer_a"], preference["prefer_b"]) == (0, 6)
    assert preference["delta"] == -1.0
    assert preference["p_value"] == pytest.approx(2 * 0.5**6)
    assert results["decision"] == "B preferred" and results["decision_text"] == "B (content) preferred"
    teams = {team["team"]: team for team in results["teams"]}
    assert (teams["A"]["key"], teams["B"]["key"]) == ("hybrid", "content")
    assert (teams["A"]["clicks"], teams["B"]["clicks"]) == (0, 6)
    assert (teams["B"]["orders"], teams["B"]["revenue"], teams["A"]["orders"]) == (2, 20.0, 0)


def test_a_running_interleaving_experiment_keeps_its_kind(duel, staff_client):
    response = staff_client.patch(URL + "rank-duel/", {"kind": "ab"}, format="json")

    assert response.status_code == 400 and "kind" in response.json()["extra"]["fields"]
