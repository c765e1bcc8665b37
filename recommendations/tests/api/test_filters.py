"""What a list never holds: the product itself, purchases, unavailable products, the exclude list."""

from datetime import timedelta

import pytest
from django.utils import timezone

from recommendations import store
from recommendations.models import RecommenderSettings
from recommendations.tests.api.conftest import result_ids
from shop.models import Product
from shop.tests.factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db

EVERY_OTHER = {f"{prefix}{n}" for prefix in ("CAM", "MEM", "BOO") for n in range(4)} - {"CAM0"}


def test_similar_excludes_the_product_itself(active_model, api_client):
    for url in ("/api/recommendations/similar/CAM0/", "/api/recommendations/also-bought/CAM0/"):
        ids = result_ids(api_client.get(url, {"k": 100}))
        assert set(ids) == EVERY_OTHER, url


def test_for_you_excludes_the_product_on_the_page(active_model, api_client):
    ids = result_ids(api_client.get("/api/recommendations/for-you/", {"product_id": "CAM0", "k": 100}))

    assert "CAM0" not in ids and len(ids) == 11


@pytest.mark.parametrize("change", [{"is_active": False}, {"stock": 0}], ids=["inactive", "out_of_stock"])
def test_unavailable_products_are_never_listed(active_model, api_client, change):
    Product.objects.filter(product_id="CAM1").update(**change)

    for url in (
        "/api/recommendations/similar/CAM0/",
        "/api/recommendations/also-bought/CAM0/",
        "/api/recommendations/for-you/",
        "/api/recommendations/trending/",
    ):
        ids = result_ids(api_client.get(url, {"k": 100}))
        assert "CAM1" not in ids, url
        assert len(ids) == len(EVERY_OTHER) - (0 if url.endswith(("for-you/", "trending/")) else 1), url


def test_a_product_going_out_of_stock_leaves_a_cached_list_at_once(active_model, api_client):
    url = "/api/recommendations/similar/CAM0/"
    assert "CAM1" in result_ids(api_client.get(url))
    assert api_client.get(url).json()["source"] == "cache"

    Product.objects.filter(product_id="CAM1").update(stock=0)
    response = api_client.get(url)

    assert "CAM1" not in result_ids(response)
    assert response.json()["source"] == "model"  # the availability digest changed the key


def test_a_product_sold_out_since_the_availability_was_read_is_still_dropped(active_model, api_client, settings):
    settings.RECOMMENDATION_AVAILABILITY_SECONDS = 3600
    api_client.get("/api/recommendations/trending/")  # reads availability: everything in stock

    Product.objects.filter(product_id="CAM1").update(stock=0)
    response = api_client.get("/api/recommendations/similar/CAM0/", {"k": 3})

    assert "CAM1" not in result_ids(response)
    assert len(result_ids(response)) == 3  # the margin of extra candidates keeps the list full


def test_an_inactive_product_still_has_similar_products(active_model, api_client):
    Product.objects.filter(product_id="CAM0").update(is_active=False)

    response = api_client.get("/api/recommendations/similar/CAM0/", {"k": 3})

    assert response.status_code == 200
    assert set(result_ids(response)) == {"CAM1", "CAM2", "CAM3"}


def test_the_exclude_list_is_left_out(active_model, api_client):
    response = api_client.get("/api/recommendations/similar/CAM0/", {"exclude": "CAM1,CAM2", "k": 100})
    repeated = api_client.get("/api/recommendations/trending/?exclude=CAM1&exclude=BOO3&exclude=UNKNOWN&k=100")

    assert set(result_ids(response)) == EVERY_OTHER - {"CAM1", "CAM2"}
    assert set(result_ids(repeated)) == (EVERY_OTHER | {"CAM0"}) - {"CAM1", "BOO3"}


def test_for_you_leaves_out_what_the_customer_bought_unless_staff_turn_it_off(active_model, token_client, monkeypatch):
    # Only the newest event counts as history here, so the old purchase is not "seen" but still bought.
    monkeypatch.setattr(store, "HISTORY_EVENTS", 1)
    shopper = CustomerFactory(customer_id="BUYER")
    now = timezone.now()
    InteractionFactory(customer=shopper, product=Product.objects.get(product_id="MEM0"), kind="purchase", timestamp=now - timedelta(days=3))
    InteractionFactory(customer=shopper, product=Product.objects.get(product_id="CAM0"), kind="view", timestamp=now)

    bought_left_out = result_ids(token_client.get("/api/recommendations/for-you/", {"customer_id": "BUYER", "k": 100}))
    switch = RecommenderSettings.load()
    switch.exclude_purchased = False
    switch.save()
    bought_kept = result_ids(token_client.get("/api/recommendations/for-you/", {"customer_id": "BUYER", "k": 100}))

    assert "MEM0" not in bought_left_out
    assert "MEM0" in bought_kept
    assert "CAM0" not in bought_left_out and "CAM0" not in bought_kept  # seen
