"""Impressions: one row per list seen, counted for the visitor's stored variant only, bad input refused."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from experiments.models import Impression
from experiments.tests.conftest import running_experiment, visitor_id_of

pytestmark = pytest.mark.django_db

URL = "/api/impressions/"


def seen(body: dict, **overrides) -> dict:
    item = {
        "request_id": body["request_id"],
        "placement": "home_for_you",
        "positions": [2, 0, 1, 1],
        "product_ids": [result["product_id"] for result in body["results"][:3]],
        "experiment": body["experiment"],
        "variant": body["variant"],
        "strategy": body["strategy"],
        "model_version": str(body["model_version"]),
        "event_id": f"imp-{body['request_id']}",
    }
    item.update(overrides)
    return item


@pytest.fixture
def shown(active_model, api_client):
    """A visitor in the experiment, and the list they were served."""
    running_experiment()
    api_client.get("/")
    return api_client.get("/api/recommendations/for-you/", {"k": 4}).json()


def test_an_impression_is_stored_for_the_visitors_assigned_variant(api_client, shown):
    response = api_client.post(URL, [seen(shown)], format="json")

    assert response.status_code == 201 and response.json() == {"stored": 1, "duplicates": 0}
    row = Impression.objects.get()
    assert row.customer.customer_id == visitor_id_of(api_client)
    assert (row.experiment.key, row.variant.key, row.placement) == ("home-blend", shown["variant"], "home_for_you")
    assert row.positions == [0, 1, 2] and row.model_version == shown["model_version"]


def test_the_same_list_is_counted_once_however_often_it_is_sent(api_client, shown):
    api_client.post(URL, [seen(shown)], format="json")

    again = api_client.post(URL, [seen(shown), seen(shown, event_id="other-id")], format="json")

    assert again.json() == {"stored": 0, "duplicates": 2}
    assert Impression.objects.count() == 1


def test_a_variant_the_client_claims_is_ignored_for_the_stored_one(api_client, shown):
    other = "treatment-1" if shown["variant"] == "control" else "control"

    api_client.post(URL, [seen(shown, variant=other)], format="json")

    assert Impression.objects.get().variant.key == shown["variant"]


def test_impressions_outside_the_visitors_experiment_are_kept_but_not_counted(api_client, shown, staff_client):
    api_client.post(URL, [seen(shown, request_id="r-other-placement", event_id="e1", placement="home_trending")], format="json")
    api_client.post(URL, [seen(shown, request_id="r-unknown", event_id="e2", experiment="nope")], format="json")
    preview = staff_client.get("/api/recommendations/for-you/", {"variant": "home-blend:control"}).json()
    api_client.post(URL, [seen(preview, event_id="e3")], format="json")

    assert Impression.objects.count() == 3
    assert Impression.objects.filter(experiment__isnull=False).count() == 0


def test_a_visitor_needs_the_csrf_token(shown):
    client = APIClient(enforce_csrf_checks=True)
    client.get("/")

    refused = client.post(URL, [seen(shown)], format="json")
    accepted = client.post(URL, [seen(shown)], format="json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)

    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    assert accepted.status_code == 201


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"positions": []}, "positions"),
        ({"positions": [-1]}, "positions"),
        ({"positions": [10**12]}, "positions"),
        ({"positions": list(range(101))}, "positions"),
        ({"positions": None}, "positions"),
        ({"positions": {"0": 1}}, "positions"),
        ({"placement": "footer"}, "placement"),
        ({"request_id": "has spaces"}, "request_id"),
        ({"request_id": None}, "request_id"),
        ({"event_id": "x" * 65}, "event_id"),
        ({"timestamp": "2999-01-01T00:00:00Z"}, "timestamp"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"model_version": 2**40}, "model_version"),
        ({"model_version": {"a": 1}}, "model_version"),
        ({"product_ids": [None]}, "product_ids"),
    ],
)
def test_a_bad_impression_is_refused_naming_the_field(api_client, shown, item, field):
    response = api_client.post(URL, [seen(shown, **item)], format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["extra"]["fields"]["0"]
    assert Impression.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        "null",
        "[]",
        "42",
        '[{"request_id": "a\\u0000b"}]',
        '[{"request_id": "ok", "placement": "\\udc00"}]',
        "[" * 3000 + "]" * 3000,
        "[" + ",".join(["{}"] * 101) + "]",
    ],
)
def test_hostile_bodies_are_400s_and_store_nothing(api_client, shown, body):
    response = api_client.generic("POST", URL, body, content_type="application/json")

    assert response.status_code == 400, response.content
    assert Impression.objects.count() == 0


@pytest.mark.services  # concurrent writers need the real database: the embedded SQLite locks the table instead
@pytest.mark.django_db(transaction=True)
def test_the_same_impression_posted_twice_at_once_is_stored_once(active_model):
    running_experiment()
    client = APIClient()
    client.get("/")
    body = client.get("/api/recommendations/for-you/").json()
    statuses = []

    def post():
        try:
            statuses.append(client.post(URL, [seen(body)], format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [201] * 4
    assert Impression.objects.count() == 1
