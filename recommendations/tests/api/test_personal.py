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


def test_after_posting_a_view_the_very_next_for_you_holds_the_products_neighbours(
    active_model, api_client, django_capture_on_commit_callbacks
):
    cold = api_client.get(FOR_YOU, {"k": 3})
    assert cold.json()["source"] == "model"
    assert api_client.get(FOR_YOU, {"k": 3}).json()["source"] == "cache"
    assert set(result_ids(cold)) != BOOKS - {"BOO0"}  # trending, not the novel's neighbours

    with django_capture_on_commit_callbacks(execute=True):  # the request's commit: the activity token changes
        posted = api_client.post("/api/interactions/", {"product_id": "BOO0", "kind": "view"}, format="json")
    assert posted.status_code == 201
    response = api_client.get(FOR_YOU, {"k": 3})

    body = response.json()
    assert body["source"] == "model"
    assert set(result_ids(response)) == BOOKS - {"BOO0"}
    reasons = {item["reason"] for item in body["results"]}
    assert reasons <= {"Because you viewed Crime novel paperback", "Similar to Crime novel paperback"}


def test_each_new_interaction_gives_a_fresh_list(active_model, api_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post("/api/interactions/", {"product_id": "BOO0", "kind": "view"}, format="json")
    books = api_client.get(FOR_YOU, {"k": 6})
    assert api_client.get(FOR_YOU, {"k": 6}).json()["source"] == "cache"
    with django_capture_on_commit_callbacks(execute=True):
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


def test_after_checkout_the_next_for_you_changes(active_model, api_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post("/api/interactions/", {"product_id": "BOO0", "kind": "view"}, format="json")
    viewed = api_client.get(FOR_YOU, {"k": 3})
    assert api_client.get(FOR_YOU, {"k": 3}).json()["source"] == "cache"

    with django_capture_on_commit_callbacks(execute=True):
        bought = api_client.post("/api/checkout/", {"lines": [{"product_id": "BOO1", "quantity": 1}]}, format="json")
    assert bought.status_code == 201
    after = api_client.get(FOR_YOU, {"k": 3})

    assert after.json()["source"] == "model"
    assert "BOO1" in result_ids(viewed)
    assert "BOO1" not in result_ids(after)  # bought: left out


@pytest.mark.django_db(transaction=True)  # every chunk commits, as in a real import
def test_each_imported_chunk_gives_its_customers_a_fresh_list_at_once(active_model, token_client, tmp_path):
    from shop.importers import interactions_import

    def reader_list() -> dict:
        return token_client.get(FOR_YOU, {"customer_id": "U02", "k": 3}).json()

    before = reader_list()
    assert reader_list()["source"] == "cache"
    moment = (timezone.now() - timezone.timedelta(minutes=5)).isoformat()
    path = tmp_path / "interactions.csv"
    path.write_text(f"user_id,product_id,interaction_type,ts\nU02,BOO0,view,{moment}\nU02,BOO1,view,{moment}\nU02,BOO2,click,{moment}\n")
    after_each_chunk = []

    report = interactions_import(path=path, chunk_size=2, progress=lambda lines: after_each_chunk.append(reader_list()))

    assert report.created == 3
    first, second = after_each_chunk
    assert first["source"] == second["source"] == "model"
    ids = [[item["product_id"] for item in listing["results"]] for listing in (before, first, second)]
    assert ids[0][0] not in BOOKS  # U02 buys cameras and memory cards
    assert set(ids[1][:2]) == {"BOO2", "BOO3"}  # after the first chunk: the novels' neighbours first
    assert "BOO2" in ids[1] and "BOO2" not in ids[2]  # after the second: BOO2 clicked, so left out


def test_signing_in_merges_the_visitors_history_into_the_users_list_at_once(active_model, django_capture_on_commit_callbacks):
    user = UserFactory(username="reader")
    own = Customer.objects.create(customer_id="user-reader", user=user)
    InteractionFactory(customer=own, product=Product.objects.get(product_id="BOO2"), kind="click", timestamp=timezone.now())
    client = APIClient()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/api/interactions/", {"product_id": "CAM0", "kind": "view"}, format="json")  # before signing in
    visitor_id = visitor_id_of(client)
    client.force_login(user)
    signed_in = client.get(FOR_YOU, {"k": 6})
    assert client.get(FOR_YOU, {"k": 6}).json()["source"] == "cache"

    # The first write after signing in merges the visitor into the user's customer (here an order that fails).
    with django_capture_on_commit_callbacks(execute=True):
        refused = client.post("/api/checkout/", {"lines": [{"product_id": "NOPE", "quantity": 1}]}, format="json")
    merged = client.get(FOR_YOU, {"k": 6})

    assert refused.status_code == 400
    assert not Customer.objects.filter(customer_id=visitor_id).exists()
    assert set(result_ids(signed_in)) >= BOOKS - {"BOO2"}
    assert merged.json()["source"] == "model"
    assert {"CAM1", "CAM2", "CAM3"} & set(result_ids(merged))
    assert "CAM0" not in result_ids(merged)


def test_after_signing_in_and_out_the_visitor_no_longer_sees_the_claimed_history(
    active_model, settings, django_capture_on_commit_callbacks
):
    client = APIClient()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/api/interactions/", {"product_id": "BOO0", "kind": "view"}, format="json")
    assert set(result_ids(client.get(FOR_YOU, {"k": 3}))) == BOOKS - {"BOO0"}
    assert client.get(FOR_YOU, {"k": 3}).json()["source"] == "cache"
    user = UserFactory(username="left")
    visitor_cookie = client.cookies[settings.VISITOR_COOKIE_NAME].value
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):  # the first write signed in claims the visitor's customer
        client.post("/api/checkout/", {"lines": [{"product_id": "NOPE", "quantity": 1}]}, format="json")
    assert Customer.objects.get(customer_id=visitor_id_of(client)).user == user
    assert set(result_ids(client.get(FOR_YOU, {"k": 3}))) == BOOKS - {"BOO0"}  # signed in: theirs

    client.logout()  # Django's client drops every cookie; a browser keeps the visitor cookie
    client.cookies[settings.VISITOR_COOKIE_NAME] = visitor_cookie
    signed_out = client.get(FOR_YOU, {"k": 3})

    assert signed_out.json()["source"] == "model"
    assert result_ids(signed_out) == result_ids(APIClient().get(FOR_YOU, {"k": 3}))  # a newcomer's list


def test_a_lost_activity_token_never_brings_back_an_older_list(active_model, api_client, django_capture_on_commit_callbacks):
    from django.core.cache import cache

    from shop.activity import customer_activity_key

    cold = api_client.get(FOR_YOU, {"k": 3})  # cached under the visitor's first token
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post("/api/interactions/", {"product_id": "BOO0", "kind": "view"}, format="json")
    books = api_client.get(FOR_YOU, {"k": 3})
    assert set(result_ids(books)) == BOOKS - {"BOO0"} != set(result_ids(cold))

    cache.delete(customer_activity_key(visitor_id_of(api_client)))  # evicted, expired, or Redis restarted empty
    again = api_client.get(FOR_YOU, {"k": 3})

    assert again.json()["source"] == "model"
    assert result_ids(again) == result_ids(books)
    assert api_client.get(FOR_YOU, {"k": 3}).json()["source"] == "cache"
