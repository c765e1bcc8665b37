"""Staff manage experiments through the API; bad input is refused with the field named and nothing saved."""

import pytest

from experiments.models import Assignment, Experiment, Variant
from experiments.tests.conftest import running_experiment

pytestmark = pytest.mark.django_db

URL = "/api/experiments/"


def payload(**overrides) -> dict:
    body = {
        "key": "home-blend",
        "name": "Home blend",
        "placement": "home_for_you",
        "traffic": "100",
        "primary_metric": "ctr",
        "variants": [
            {"key": "control", "weight": 50, "is_control": True, "strategy": "hybrid"},
            {"key": "content", "weight": 50, "is_control": False, "strategy": "content"},
        ],
    }
    body.update(overrides)
    return body


def test_staff_create_a_draft_with_its_variants(staff_client):
    response = staff_client.post(URL, payload(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["started_at"] is None
    assert [(v["key"], v["is_control"], v["strategy"]) for v in body["variants"]] == [
        ("control", True, "hybrid"),
        ("content", False, "content"),
    ]
    assert Variant.objects.filter(experiment__key="home-blend").count() == 2


def test_token_clients_may_manage_experiments_and_visitors_may_not(token_client, api_client):
    assert token_client.post(URL, payload(), format="json").status_code == 201
    assert token_client.get(URL).json()[0]["key"] == "home-blend"

    for response in (api_client.get(URL), api_client.post(URL, payload(key="x"), format="json"),
                     api_client.get(URL + "home-blend/results/"), api_client.post(URL + "home-blend/start/")):  # fmt: skip
        assert response.status_code == 403
    assert Experiment.objects.count() == 1


def _variants(*specs):
    return [{"key": key, "weight": weight, "is_control": control, "strategy": strategy} for key, weight, control, strategy in specs]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"variants": _variants(("a", 0, True, "hybrid"), ("b", 1, False, "content"))}, "variants"),
        ({"variants": _variants(("a", -3, True, "hybrid"), ("b", 1, False, "content"))}, "variants"),
        ({"variants": _variants(("a", 1, False, "hybrid"), ("b", 1, False, "content"))}, "variants.is_control"),
        ({"variants": _variants(("a", 1, True, "hybrid"), ("b", 1, True, "content"))}, "variants.is_control"),
        ({"variants": _variants(("a", 1, True, "hybrid"), ("a", 1, False, "content"))}, "variants.key"),
        ({"variants": _variants(("a", 1, True, "hybrid"), ("b", 1, False, "magic"))}, "variants"),
        ({"variants": _variants(("a", 1, True, "hybrid"))}, "variants.variants"),
        ({"traffic": "101"}, "traffic"),
        ({"traffic": "-1"}, "traffic"),
        ({"placement": "checkout_page"}, "placement"),
        ({"key": "not a slug"}, "key"),
        ({"variants": None}, "variants"),
        ({"variants": [{"key": "a", "weight": 1, "is_control": True, "strategy": "hybrid", "w_content": 2},
                       {"key": "b", "weight": 1, "strategy": "cf"}]}, "variants"),
        ({"variants": [{"key": "a", "weight": 1, "is_control": True, "strategy": "hybrid", "options": {"turbo": True}},
                       {"key": "b", "weight": 1, "strategy": "cf"}]}, "variants"),
    ],
)
def test_a_bad_experiment_is_refused_naming_the_field_and_nothing_is_saved(staff_client, overrides, field):
    response = staff_client.post(URL, payload(**overrides), format="json")

    assert response.status_code == 400, response.json()
    fields = response.json()["extra"]["fields"]
    assert field in fields, fields
    assert Experiment.objects.count() == 0 and Variant.objects.count() == 0


def test_weights_name_the_variant_and_field(staff_client):
    response = staff_client.post(URL, payload(variants=_variants(("a", 0, True, "hybrid"), ("b", 1, False, "cf"))), format="json")

    assert response.json()["extra"]["fields"] == {"variants": {"0": {"weight": ["Must be above 0."]}}}


def test_an_unknown_strategy_is_named_by_the_api_serializer(staff_client):
    response = staff_client.post(URL, payload(variants=_variants(("a", 1, True, "hybrid"), ("b", 1, False, "magic"))), format="json")

    assert response.json()["extra"]["fields"]["variants"]["1"]["strategy"] == ['"magic" is not a valid choice.']


def test_a_second_running_experiment_on_a_placement_is_refused(staff_client, small_store):
    running_experiment(key="first")
    staff_client.post(URL, payload(key="second"), format="json")

    response = staff_client.post(URL + "second/start/")

    assert response.status_code == 409
    assert response.json()["code"] == "placement_taken"
    assert "first" in response.json()["extra"]["fields"]["placement"][0]
    assert Experiment.objects.get(key="second").status == "draft"


def test_the_database_allows_one_running_experiment_per_placement(small_store):
    from django.db import IntegrityError, transaction

    running_experiment(key="first")
    second = Experiment.objects.create(key="second", name="Second", placement="home_for_you")
    with pytest.raises(IntegrityError), transaction.atomic():
        Experiment.objects.filter(pk=second.pk).update(status="running")


def test_start_pause_resume_and_stop(staff_client, small_store):
    staff_client.post(URL, payload(), format="json")

    started = staff_client.post(URL + "home-blend/start/").json()
    assert started["status"] == "running" and started["started_at"]
    assert staff_client.post(URL + "home-blend/pause/").json()["status"] == "paused"
    resumed = staff_client.post(URL + "home-blend/start/").json()
    assert resumed["status"] == "running" and resumed["started_at"] == started["started_at"]
    stopped = staff_client.post(URL + "home-blend/stop/").json()
    assert stopped["status"] == "stopped" and stopped["stopped_at"]
    assert Experiment.objects.get(key="home-blend").results_snapshot["experiment"]["key"] == "home-blend"

    again = staff_client.post(URL + "home-blend/start/")
    assert again.status_code == 409 and again.json()["code"] == "experiment_stopped"
    edit = staff_client.patch(URL + "home-blend/", {"name": "New"}, format="json")
    assert edit.status_code == 409


def test_a_running_experiment_takes_new_weights_and_traffic_but_keeps_its_variants(staff_client, small_store):
    running_experiment()
    response = staff_client.patch(
        URL + "home-blend/",
        {"traffic": "40", "variants": [{"key": "control", "weight": 10, "is_control": True, "strategy": "hybrid"},
                                        {"key": "treatment-1", "weight": 90, "is_control": False, "strategy": "content"}]},
        format="json",
    )  # fmt: skip

    assert response.status_code == 200, response.json()
    assert response.json()["traffic"] == "40.00"
    assert [v["weight"] for v in response.json()["variants"]] == [10.0, 90.0]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"variants": [{"key": "control", "weight": 1, "is_control": True, "strategy": "hybrid"},
                       {"key": "extra", "weight": 1, "strategy": "cf"}]}, "variants"),  # removes treatment-1, adds extra
        ({"variants": [{"key": "control", "weight": 1, "is_control": True, "strategy": "cf"},
                       {"key": "treatment-1", "weight": 1, "strategy": "content"}]}, "variants.strategy"),
        ({"placement": "cart_for_you"}, "placement"),
        ({"salt": "reshuffle"}, "salt"),
        ({"key": "renamed"}, "key"),
    ],
)  # fmt: skip
def test_a_running_experiment_refuses_changes_that_would_move_visitors(staff_client, small_store, patch, field):
    running_experiment()

    response = staff_client.patch(URL + "home-blend/", patch, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["extra"]["fields"]
    experiment = Experiment.objects.get(key="home-blend")
    assert experiment.placement == "home_for_you" and experiment.salt == ""
    assert sorted(experiment.variants.values_list("key", "strategy")) == [("control", "hybrid"), ("treatment-1", "content")]


def test_unknown_experiment_is_a_404(staff_client):
    for response in (staff_client.get(URL + "nope/"), staff_client.post(URL + "nope/start/"), staff_client.get(URL + "nope/results/")):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "body",
    [
        '{"key": "a\\u0000b", "name": "x", "placement": "home_for_you", "variants": []}',
        '{"key": "ok", "name": "\\ud800", "placement": "home_for_you", "variants": []}',
        "[" * 5000 + "]" * 5000,
        "null",
        '{"key": "ok", "name": "x", "placement": "home_for_you", "variants": [null, null]}',
        '{"key": "ok", "name": "x", "placement": "home_for_you", "traffic": 1e308, "variants": []}',
        '{"key": "ok", "name": "x", "placement": "home_for_you", "minimum_detectable_effect": "NaN", "variants": []}',
    ],
)
def test_hostile_bodies_are_400s(staff_client, body):
    response = staff_client.generic("POST", URL, body, content_type="application/json")

    assert response.status_code == 400, response.content
    assert Experiment.objects.count() == 0


def test_the_schema_documents_the_experiments_api(staff_client, client):
    schema = client.get("/api/schema/?format=json").json()

    for path in ("/api/experiments/", "/api/experiments/{key}/", "/api/experiments/{key}/start/",
                 "/api/experiments/{key}/pause/", "/api/experiments/{key}/stop/", "/api/experiments/{key}/results/",
                 "/api/impressions/"):  # fmt: skip
        assert path in schema["paths"], path
    assert Assignment.objects.count() == 0


def test_an_experiment_with_visitors_can_be_deleted_but_not_a_variant_someone_is_in(active_model, api_client):
    from django.db.models import RestrictedError

    experiment = running_experiment()
    api_client.get("/")
    variant = api_client.get("/api/recommendations/for-you/").json()["variant"]

    with pytest.raises(RestrictedError):
        Variant.objects.get(experiment=experiment, key=variant).delete()
    experiment.delete()
    assert Assignment.objects.count() == 0 and Variant.objects.count() == 0


def test_a_bad_token_is_challenged_with_a_401(client):
    response = client.get(URL, HTTP_AUTHORIZATION="Token nope")

    assert response.status_code == 401
