"""Personal lists: built from the visitor's interactions up to this request; only the owner (or a token, or staff) reads one."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from recommendations.tests.api.conftest import result_ids, visitor_id_of
from shop.models import Customer, Interaction, Product
from shop.tests.factories import InteractionFactory, UserFactory

pytestmark = pytest.mark.django_db

FOR_YOU = "/api/recommendations/for-you/"
BOOKS = {"BOO0", "BOO1", "BOO2", "BOO3"}


def test_after_posting_a_view_the_very_next_for_you_holds_the_products_neighbours(active_model, api_client):
    cold = api_client.get(FOR_YOU, {"k": 3})
    assert cold.json()["source"] == "model"
    assert api_client.get(FOR_YOU, {"k": 3}).json()["source"] == "cache"
    assert set(result_ids(cold)) != BOOKS - {"BOO0"}  # trending, not the novel's neighbours

    posted = api_client.post("/api/interactions/", {"product_id": "BOO0", "kind": "view"}, format="json")
    assert posted.status_code == 201
    response = api_client.get(FOR_YOU, {"k": 3})

    body = response.json()
    assert body["source"] == "model"
    assert set(result_ids(response)) == BOOKS - {"BOO0"}
    reasons = {item["reason"] for item in body["results"]}
    assert reasons <= {"Because you viewed Crime novel paperback", "Similar to Crime novel paperback"}


def test_each_new_interaction_gives_a_fresh_list(active_model, api_client):
    api_client.post("/api/interactions/", {"product_id": "BOO0", "kind": "view"}, format="json")
    books = api_client.get(FOR_YOU, {"k": 3})
    api_client.post("/api/interactions/", {"product_id": "CAM0", "kind": "view"}, format="json")
    cameras_too = api_client.get(FOR_YOU, {"k": 6})

    assert books.json()["source"] == cameras_too.json()["source"] == "model"
    assert {"CAM1", "CAM2", "CAM3"} & set(result_ids(cameras_too))
    assert not {"BOO0", "CAM0"} & set(result_ids(cameras_too))


def test_products_the_model_does_not_know_are_skipped_in_the_history(active_model, api_client):
    from shop.tests.factories import ProductFactory

    ProductFactory(product_id="NEW1")
    api_client.post("/api/interactions/", [{"product_id": "NEW1", "kind": "view"}, {"product_id": "MEM0", "kind": "view"}], format="json")

    response = api_client.get(FOR_YOU, {"k": 3})

    assert response.status_code == 200
    assert "MEM1" in result_ids(response) or "MEM2" in result_ids(response)


def test_for_you_on_a_product_page_starts_from_that_product(active_model, api_client):
    response = api_client.get(FOR_YOU, {"product_id": "BOO1", "k": 3})

    assert set(result_ids(response)) == BOOKS - {"BOO1"}


def test_a_visitor_cannot_read_another_visitors_list(active_model):
    visitor_a, visitor_b = APIClient(), APIClient()
    visitor_b.post("/api/interactions/", {"product_id": "BOO0", "kind": "view"}, format="json")
    visitor_a.get(FOR_YOU)

    for customer_id in (visitor_id_of(visitor_b), "U00"):
        for url in (FOR_YOU, "/api/recommendations/hybrid/"):
            response = visitor_a.get(url, {"customer_id": customer_id})
            assert response.status_code == 403, (url, customer_id)
            assert response.json()["code"] == "customer_id_not_allowed"
            assert list(response.json()["extra"]["fields"]) == ["customer_id"]


def test_a_visitor_may_name_themselves(active_model, api_client):
    api_client.post("/api/interactions/", {"product_id": "BOO0", "kind": "view"}, format="json")

    response = api_client.get(FOR_YOU, {"customer_id": visitor_id_of(api_client), "k": 3})

    assert response.status_code == 200
    assert set(result_ids(response)) == BOOKS - {"BOO0"}


def test_a_token_client_reads_any_customers_list(active_model, token_client):
    visitor = APIClient()
    visitor.post("/api/interactions/", {"product_id": "BOO0", "kind": "view"}, format="json")

    theirs = token_client.get(FOR_YOU, {"customer_id": visitor_id_of(visitor), "k": 3})
    imported = token_client.get("/api/recommendations/hybrid/", {"customer_id": "U00", "k": 100})

    assert theirs.status_code == imported.status_code == 200
    assert set(result_ids(theirs)) == BOOKS - {"BOO0"}
    # U00 bought the first six cameras and cards: none of them comes back.
    assert not {"CAM0", "CAM1", "CAM2", "MEM0", "MEM1", "MEM2"} & set(result_ids(imported))


def test_staff_read_any_customers_list(active_model, staff_client):
    response = staff_client.get(FOR_YOU, {"customer_id": "U01"})

    assert response.status_code == 200
    assert not BOOKS & set(result_ids(response))  # U01 bought every book


def test_a_signed_in_shopper_gets_their_own_customers_list(active_model):
    user = UserFactory(username="reader")
    customer = Customer.objects.create(customer_id="user-reader", user=user)
    InteractionFactory(customer=customer, product=Product.objects.get(product_id="BOO2"), kind="click", timestamp=timezone.now())
    client = APIClient()
    client.force_login(user)

    own = client.get(FOR_YOU, {"k": 3})
    named = client.get(FOR_YOU, {"customer_id": "user-reader", "k": 3})

    assert set(result_ids(own)) == set(result_ids(named)) == BOOKS - {"BOO2"}
    assert client.get(FOR_YOU, {"customer_id": "U01"}).status_code == 403


def test_after_signing_out_the_visitor_no_longer_sees_the_users_history(active_model):
    client = APIClient()
    client.post("/api/interactions/", {"product_id": "BOO0", "kind": "view"}, format="json")
    Customer.objects.filter(customer_id=visitor_id_of(client)).update(user=UserFactory(username="left"))

    response = client.get(FOR_YOU, {"k": 3})

    assert set(result_ids(response)) != BOOKS - {"BOO0"}
    assert Interaction.objects.count() == 133  # the small store's 132 and the view above
