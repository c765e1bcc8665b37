"""Bounded work per request: a few queries on a cache miss, none on a hit beyond authentication."""

import pytest

from shop.models import Interaction, Product
from shop.tests.factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def warm_process(active_model, api_client, settings):
    """A process that has loaded the model and read availability, with the usual check intervals."""
    settings.RECOMMENDATION_MODEL_CHECK_SECONDS = 3600
    settings.RECOMMENDATION_AVAILABILITY_SECONDS = 3600
    api_client.get("/api/recommendations/trending/", {"k": 1})
    return active_model


@pytest.mark.parametrize(
    ("url", "queries_on_a_miss"),
    [
        ("/api/recommendations/similar/CAM0/", 1),  # product rows
        ("/api/recommendations/also-bought/CAM0/", 1),
        ("/api/recommendations/trending/", 1),
        ("/api/recommendations/trending/?category=books", 3),  # category tree, its names, product rows
    ],
)
def test_a_public_list_queries_little_on_a_miss_and_nothing_on_a_hit(
    warm_process, api_client, url, queries_on_a_miss, django_assert_max_num_queries, django_assert_num_queries
):
    with django_assert_max_num_queries(queries_on_a_miss):
        assert api_client.get(url).json()["source"] == "model"
    with django_assert_num_queries(0):
        assert api_client.get(url).json()["source"] == "cache"


def test_for_you_takes_three_queries_on_a_miss_and_none_on_a_hit(
    warm_process, api_client, django_assert_max_num_queries, django_assert_num_queries
):
    api_client.post("/api/interactions/", {"product_id": "BOO0", "kind": "purchase"}, format="json")

    with django_assert_max_num_queries(3):  # customer and newest event, latest events and purchases, product rows
        assert api_client.get("/api/recommendations/for-you/", {"product_id": "CAM0"}).json()["source"] == "model"
    with django_assert_num_queries(0):  # the activity token, read from the cache, names the key
        assert api_client.get("/api/recommendations/for-you/", {"product_id": "CAM0"}).json()["source"] == "cache"


def test_a_new_visitor_reads_the_shared_cold_start_list_and_writes_no_token(warm_process, django_assert_num_queries):
    from django.core.cache import cache
    from rest_framework.test import APIClient

    from recommendations.tests.api.conftest import visitor_id_of
    from shop.activity import customer_activity_key

    newcomer = APIClient()  # no visitor cookie yet
    with django_assert_num_queries(1):  # product rows of the cold-start list
        first = newcomer.get("/api/recommendations/for-you/").json()
    with django_assert_num_queries(0):
        another = APIClient().get("/api/recommendations/for-you/").json()

    assert (another["source"], another["results"]) == ("cache", first["results"])
    assert cache.get(customer_activity_key(visitor_id_of(newcomer))) is None


def test_a_returning_visitor_without_history_takes_two_queries_on_a_miss_and_none_on_a_hit(
    warm_process, api_client, django_assert_num_queries
):
    with django_assert_num_queries(2):  # no customer row yet, product rows of the cold-start list
        api_client.get("/api/recommendations/for-you/")
    with django_assert_num_queries(0):
        assert api_client.get("/api/recommendations/for-you/").json()["source"] == "cache"


def test_a_token_client_adds_only_the_token_lookup(warm_process, token_client, django_assert_num_queries):
    token_client.get("/api/recommendations/hybrid/", {"customer_id": "U00"})

    with django_assert_num_queries(1):  # the token
        assert token_client.get("/api/recommendations/hybrid/", {"customer_id": "U00"}).json()["source"] == "cache"


def test_a_signed_in_shopper_adds_only_the_session_and_user(warm_process, django_assert_num_queries):
    from rest_framework.test import APIClient

    from shop.tests.factories import UserFactory

    user = UserFactory(username="reader")
    CustomerFactory(customer_id="user-reader", user=user)
    client = APIClient()
    client.force_login(user)
    client.get("/api/recommendations/trending/")  # the visitor cookie arrives
    client.get("/api/recommendations/for-you/")

    with django_assert_num_queries(2):  # the session, the user
        assert client.get("/api/recommendations/for-you/").json()["source"] == "cache"


def test_a_long_history_is_still_one_bounded_read(warm_process, token_client, django_assert_max_num_queries):
    shopper = CustomerFactory(customer_id="BUSY")
    products = list(Product.objects.all())
    Interaction.objects.bulk_create(
        [InteractionFactory.build(customer=shopper, product=products[n % len(products)]) for n in range(500)]
    )

    with django_assert_max_num_queries(4):  # token, customer, latest 100 events and purchases, product rows
        response = token_client.get("/api/recommendations/for-you/", {"customer_id": "BUSY"})

    assert response.status_code == 200
