"""Hostile input is a 400 or a 404 in the API's error shape, never a 500, and writes nothing.

PostgreSQL text cannot hold a NUL character or an unpaired surrogate (SQLite stores both), and
Python's JSON decoder recurses once per nesting level, so each of these used to reach the
database, or the recursion limit, as an unhandled error.
"""

import json

import pytest
from rest_framework.test import APIClient

from experiments.models import Assignment, Experiment, Impression, Variant
from recommendations.tests.api.conftest import activate_trained_model, fresh_serving_state  # noqa: F401
from recommendations.tests.conftest import media_in_tmp, small_store  # noqa: F401
from shop.models import Customer, Interaction, Order, OrderLine, Product
from shop.tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

NUL = "\x00"
LONE_SURROGATE = "\ud800"
DEEP = 5_000

PRODUCT_PATHS = [
    "/api/products/{}/",
    "/api/recommendations/similar/{}/",
    "/api/recommendations/also-bought/{}/",
    "/recommend/content/{}",
]


def rows() -> dict[str, int]:
    """Count every table a POST endpoint under test could write to."""
    models = (Customer, Interaction, Order, OrderLine, Product, Experiment, Variant, Assignment, Impression)
    return {model.__name__: model.objects.count() for model in models}


def assert_error(response, *, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"message", "code", "extra"}
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["extra"]["fields"], dict)
    return body


def post_raw(client: APIClient, url: str, body: str):
    """Post a JSON text as is (APIClient's own encoder would choke on a lone surrogate)."""
    return client.post(url, data=body.encode("utf-8"), content_type="application/json")


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# -- 1. a NUL in a product id in the path --------------------------------------------------


@pytest.fixture
def catalog():
    ProductFactory(product_id="P1")


@pytest.mark.parametrize("path", PRODUCT_PATHS)
def test_a_nul_in_a_path_product_id_is_product_not_found_without_a_model(api_client, catalog, path):
    body = assert_error(api_client.get(path.format("P%00")), status=404, code="product_not_found")

    assert body["extra"]["fields"] == {}


@pytest.mark.parametrize("path", PRODUCT_PATHS)
def test_a_nul_in_a_path_product_id_is_product_not_found_with_an_active_model(api_client, small_store, path):  # noqa: F811
    activate_trained_model()

    assert_error(api_client.get(path.format("P%00")), status=404, code="product_not_found")
    assert_error(api_client.get(path.format("%00")), status=404, code="product_not_found")


def test_a_known_product_id_followed_by_a_nul_is_not_that_product(api_client, catalog):
    assert api_client.get("/api/products/P1/").status_code == 200

    assert_error(api_client.get("/api/products/P1%00/"), status=404, code="product_not_found")


# -- 2. NUL, lone surrogates and deep nesting in a JSON body --------------------------------


def event(**fields) -> dict:
    return {"product_id": "P1", "kind": "view", **fields}


def checkout_body(**line) -> dict:
    return {"lines": [{"product_id": "P1", "quantity": 1, **line}]}


def feedback(**fields) -> dict:
    return {"user_id": "U1", "product_id": "P1", "action": "view", **fields}


def impression(**fields) -> list:
    return [{"request_id": "r-1", "placement": "home_for_you", "positions": [0], **fields}]


def experiment(**fields) -> dict:
    return {
        "key": "hostile",
        "name": "Hostile",
        "placement": "home_for_you",
        "traffic": "100",
        "primary_metric": "ctr",
        "variants": [
            {"key": "control", "weight": 50, "is_control": True, "strategy": "hybrid"},
            {"key": "content", "weight": 50, "is_control": False, "strategy": "content"},
        ],
        **fields,
    }


# (client fixture, url, body as JSON text): every POST endpoint, each hostile value where it lands in a text column.
HOSTILE_BODIES = {
    "interaction product_id NUL": ("api_client", "/api/interactions/", json.dumps(event(product_id="P1" + NUL))),
    "interaction context NUL": ("api_client", "/api/interactions/", json.dumps(event(context={"placement": "home" + NUL}))),
    "interaction context key NUL": ("api_client", "/api/interactions/", json.dumps(event(context={"a" + NUL: 1}))),
    "interaction context surrogate": ("api_client", "/api/interactions/", json.dumps(event(context={"placement": LONE_SURROGATE}))),
    "interaction batch surrogate": ("api_client", "/api/interactions/", json.dumps([event(), event(product_id=LONE_SURROGATE)])),
    "interaction deep": ("api_client", "/api/interactions/", '{"product_id": "P1", "kind": "view", "context": ' + nested(DEEP) + "}"),
    "checkout context NUL": ("api_client", "/api/checkout/", json.dumps(checkout_body(context={"placement": NUL}))),
    "checkout context surrogate": ("api_client", "/api/checkout/", json.dumps(checkout_body(context={"placement": LONE_SURROGATE}))),
    "checkout product_id NUL": ("api_client", "/api/checkout/", json.dumps(checkout_body(product_id="P1" + NUL))),
    "checkout deep": ("api_client", "/api/checkout/", '{"lines": ' + nested(DEEP) + "}"),
    "feedback product_id NUL": ("token_client", "/feedback", json.dumps(feedback(product_id="P1" + NUL))),
    "feedback user_id surrogate": ("token_client", "/feedback", json.dumps(feedback(user_id="U" + LONE_SURROGATE))),
    "feedback deep": ("token_client", "/feedback", '{"user_id": "U1", "product_id": "P1", "action": ' + nested(DEEP) + "}"),
    "impression request_id NUL": ("api_client", "/api/impressions/", json.dumps(impression(request_id="r" + NUL))),
    "impression surrogate": ("api_client", "/api/impressions/", json.dumps(impression(request_id=LONE_SURROGATE))),
    "impression deep": ("api_client", "/api/impressions/", nested(DEEP)),
    "experiment name NUL": ("staff_client", "/api/experiments/", json.dumps(experiment(name="Hostile" + NUL))),
    "experiment surrogate": ("staff_client", "/api/experiments/", json.dumps(experiment(description=LONE_SURROGATE))),
    "experiment deep": ("staff_client", "/api/experiments/", '{"key": "hostile", "variants": ' + nested(DEEP) + "}"),
}


@pytest.mark.parametrize("client_name, url, body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_a_hostile_json_body_is_a_parse_error_and_writes_nothing(request, catalog, client_name, url, body):
    client = request.getfixturevalue(client_name)
    CustomerFactory(customer_id="U1")
    before = rows()

    response = post_raw(client, url, body)

    result = assert_error(response, status=400, code="parse_error")
    assert result["extra"]["fields"] == {}
    assert rows() == before


def test_ordinary_json_with_paired_surrogates_still_parses(api_client, catalog):
    """Only hostile input is refused: a checkout a few levels deep, with an emoji (a surrogate pair), is placed."""
    body = json.dumps(checkout_body(context={"placement": "caf\u00e9 \U0001F600"}))

    response = post_raw(api_client, "/api/checkout/", body)

    assert response.status_code == 201, response.json()
    assert Interaction.objects.get().context["placement"] == "caf\u00e9 \U0001F600"


# -- 3. a null checkout line -------------------------------------------------------------------


@pytest.mark.parametrize(
    "lines",
    [[None], [None, {"product_id": "P1", "quantity": 1}], [{"product_id": "P1", "quantity": 1}, None], [None, {"product_id": "P1"}]],
    ids=["only null", "null first", "null second", "null and a bad line"],
)
def test_a_null_checkout_line_is_a_400_naming_the_line(api_client, catalog, lines):
    before = rows()

    response = api_client.post("/api/checkout/", {"lines": lines}, format="json")

    body = assert_error(response, status=400, code="null")
    null_index = str(lines.index(None))
    assert null_index in body["extra"]["fields"]["lines"]
    assert rows() == before


@pytest.mark.parametrize("body", [[None], [None, None], None, [1], ["x"], [[]]], ids=["null", "two nulls", "null body", "number", "string", "list"])
def test_a_null_or_non_object_event_is_a_400(api_client, catalog, body):
    before = rows()

    response = post_raw(api_client, "/api/interactions/", json.dumps(body))

    assert_error(response, status=400, code=response.json().get("code"))
    assert rows() == before


def test_a_nul_byte_in_a_product_image_path_is_a_404(client):
    response = client.get("/images/products/P%00.svg")

    assert response.status_code == 404
