"""Every list's response shape, reasons, and its 400 and 404 answers in the API's error shape."""

import re

import pytest

from recommendations.tests.api.conftest import result_ids
from shop.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

ITEM_KEYS = {"product_id", "title", "price", "currency", "image_url", "category", "score", "reason"}
CAMERAS = {"CAM0", "CAM1", "CAM2", "CAM3"}
MEMORY = {"MEM0", "MEM1", "MEM2", "MEM3"}
BOOKS = {"BOO0", "BOO1", "BOO2", "BOO3"}


def assert_list_shape(body: dict, *, strategy: str, model_version, source: str = "model") -> None:
    assert set(body) == {"results", "strategy", "model_version", "source", "request_id", "experiment", "variant"}
    assert body["experiment"] is None and body["variant"] is None  # no experiment runs in these tests
    assert body["strategy"] == strategy
    assert body["model_version"] == model_version
    assert body["source"] == source
    assert re.fullmatch(r"[0-9a-f]{32}", body["request_id"])
    for item in body["results"]:
        assert set(item) == ITEM_KEYS
        assert isinstance(item["score"], float) and isinstance(item["reason"], str) and item["reason"]
        assert re.fullmatch(r"\d+\.\d\d", item["price"])


def test_similar_lists_the_products_with_the_nearest_text_first(active_model, api_client):
    response = api_client.get("/api/recommendations/similar/CAM0/", {"k": 3})

    assert response.status_code == 200
    body = response.json()
    assert_list_shape(body, strategy="content", model_version=active_model.pk)
    assert set(result_ids(response)) == {"CAM1", "CAM2", "CAM3"}
    first = body["results"][0]
    assert first["category"] == "Cameras" and first["currency"] == "USD" and first["price"] == "10.00"
    assert {item["reason"] for item in body["results"]} == {"Similar to Mirrorless camera 24MP"}


def test_similar_fills_a_short_list_with_trending_products(active_model, api_client):
    response = api_client.get("/api/recommendations/similar/CAM0/", {"k": 11})

    body = response.json()
    assert len(body["results"]) == 11
    assert set(result_ids(response)[:3]) == {"CAM1", "CAM2", "CAM3"}
    assert {item["reason"] for item in body["results"][3:]} == {"Trending now"}


def test_also_bought_lists_what_buyers_of_the_product_bought(active_model, api_client):
    response = api_client.get("/api/recommendations/also-bought/CAM0/", {"k": 5})

    body = response.json()
    assert response.status_code == 200
    assert_list_shape(body, strategy="also_bought", model_version=active_model.pk)
    assert set(result_ids(response)) <= (CAMERAS | MEMORY) - {"CAM0"}
    assert {"MEM0", "MEM1"} <= set(result_ids(response))
    assert body["results"][0]["reason"] == "Customers who bought Mirrorless camera 24MP also bought this"


def test_trending_lists_every_category_and_says_so(active_model, api_client):
    response = api_client.get("/api/recommendations/trending/", {"k": 12})

    body = response.json()
    assert_list_shape(body, strategy="trending", model_version=active_model.pk)
    assert set(result_ids(response)) == CAMERAS | MEMORY | BOOKS
    assert {item["reason"] for item in body["results"]} == {"Trending now"}
    scores = [item["score"] for item in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_trending_in_a_category_lists_only_its_products(active_model, api_client):
    response = api_client.get("/api/recommendations/trending/", {"category": "books"})

    body = response.json()
    assert response.status_code == 200
    assert set(result_ids(response)) == BOOKS
    assert {item["reason"] for item in body["results"]} == {"Popular in Books this week"}


def test_trending_in_a_category_includes_its_sub_categories(active_model, api_client):
    media = CategoryFactory(name="Media", slug="media")
    books = CategoryFactory(slug="books")
    books.parent = media
    books.save()

    response = api_client.get("/api/recommendations/trending/", {"category": "media"})

    assert set(result_ids(response)) == BOOKS


def test_an_unknown_category_is_a_bad_parameter(active_model, api_client):
    response = api_client.get("/api/recommendations/trending/", {"category": "garden"})

    assert response.status_code == 400
    assert response.json() == {
        "message": "Unknown category 'garden'.",
        "code": "unknown_category",
        "extra": {"fields": {"category": ["Unknown category 'garden'."]}},
    }


def test_for_you_for_a_new_visitor_is_the_trending_list(active_model, api_client):
    response = api_client.get("/api/recommendations/for-you/", {"k": 4})

    body = response.json()
    assert response.status_code == 200
    assert_list_shape(body, strategy="hybrid", model_version=active_model.pk)
    trending = api_client.get("/api/recommendations/trending/", {"k": 4})
    assert result_ids(response) == result_ids(trending)
    assert response["Cache-Control"] == "private"


def test_hybrid_blends_with_the_weights_asked_for(active_model, token_client):
    content_only = token_client.get("/api/recommendations/hybrid/", {"customer_id": "U01", "w_content": 1, "w_cf": 0, "k": 2})
    cf_only = token_client.get("/api/recommendations/hybrid/", {"customer_id": "U01", "w_content": 0, "w_cf": 1, "k": 2})

    assert content_only.status_code == cf_only.status_code == 200
    assert_list_shape(content_only.json(), strategy="hybrid", model_version=active_model.pk)
    # U01 read and bought every book: only cameras and memory cards remain, by text or by trend.
    assert all(item["reason"].startswith(("Similar to", "Trending", "Popular")) for item in content_only.json()["results"])
    assert all(not item["reason"].startswith("Similar to") for item in cf_only.json()["results"])


def test_k_defaults_to_ten_and_caps_the_list(active_model, api_client):
    assert len(api_client.get("/api/recommendations/trending/").json()["results"]) == 10
    assert len(api_client.get("/api/recommendations/trending/", {"k": 2}).json()["results"]) == 2
    assert len(api_client.get("/api/recommendations/trending/", {"k": 100}).json()["results"]) == 12


@pytest.mark.parametrize(
    ("url", "params", "field", "code"),
    [
        ("/api/recommendations/similar/CAM0/", {"k": 0}, "k", "min_value"),
        ("/api/recommendations/similar/CAM0/", {"k": 101}, "k", "max_value"),
        ("/api/recommendations/also-bought/CAM0/", {"k": "ten"}, "k", "invalid"),
        ("/api/recommendations/trending/", {"k": "1.5"}, "k", "invalid"),
        ("/api/recommendations/trending/", {"category": "not a slug"}, "category", "invalid"),
        ("/api/recommendations/for-you/", {"exclude": ",".join(f"P{n}" for n in range(101))}, "exclude", "too_many"),
        ("/api/recommendations/for-you/", {"product_id": "P" * 65}, "product_id", "max_length"),
        ("/api/recommendations/hybrid/", {"w_content": 2}, "w_content", "max_value"),
        ("/api/recommendations/hybrid/", {"w_cf": -0.1}, "w_cf", "min_value"),
        ("/api/recommendations/hybrid/", {"w_cf": "nan"}, "w_cf", "invalid"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(active_model, api_client, url, params, field, code):
    response = api_client.get(url, params)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert list(body["extra"]["fields"]) == [field]
    assert body["message"].startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/recommendations/similar/NOPE/", {}),
        ("/api/recommendations/also-bought/NOPE/", {}),
        ("/api/recommendations/for-you/", {"product_id": "NOPE"}),
        ("/api/recommendations/hybrid/", {"product_id": "NOPE"}),
    ],
)
def test_an_unknown_product_is_a_404(active_model, api_client, url, params):
    response = api_client.get(url, params)

    assert response.status_code == 404
    assert response.json() == {"message": "Product 'NOPE' not found.", "code": "product_not_found", "extra": {"fields": {}}}


def test_an_unknown_customer_is_a_404_for_a_token_client(active_model, token_client):
    response = token_client.get("/api/recommendations/for-you/", {"customer_id": "U999"})

    assert response.status_code == 404
    assert response.json()["code"] == "customer_not_found"
    assert response.json()["message"] == "Customer 'U999' not found."


def test_a_product_newer_than_the_model_gets_its_category_trending(active_model, api_client):
    ProductFactory(product_id="CAM9", title="Instant camera", category=CategoryFactory(slug="cameras"))

    response = api_client.get("/api/recommendations/similar/CAM9/", {"k": 4})

    assert response.status_code == 200
    assert set(result_ids(response)) == CAMERAS
    assert {item["reason"] for item in response.json()["results"]} == {"Popular in Cameras this week"}
    also = api_client.get("/api/recommendations/also-bought/CAM9/", {"k": 4})
    assert also.status_code == 200 and set(result_ids(also)) == CAMERAS


def test_a_product_known_to_the_model_but_deleted_since_is_a_404(active_model, api_client):
    from shop.models import Product

    Product.objects.filter(product_id="CAM3").delete()  # CAM3 has no interactions, so it can go

    assert api_client.get("/api/recommendations/similar/CAM3/").status_code == 404
    assert "CAM3" not in result_ids(api_client.get("/api/recommendations/similar/CAM0/"))
