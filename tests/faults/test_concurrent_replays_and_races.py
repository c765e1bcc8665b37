"""Clients that retry and crowd: a batch of events sent again while the first is still in flight,
and twenty shoppers checking out the last five units at the same moment.

Every client is a thread with its own database connection, released together by a barrier
(shop.tests.concurrency), on the real PostgreSQL. The sequential replay and the smaller
checkout races live in shop/tests/api/test_interactions.py and shop/tests/test_checkout_races.py.
"""

from decimal import Decimal

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from shop.models import Interaction, Order, OrderLine, Product
from shop.tests.concurrency import all_at_once
from shop.tests.factories import ProductFactory, UserFactory

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="row locks and concurrent transactions need PostgreSQL (DATABASE_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]

ERROR_KEYS = {"message", "code", "extra"}


def api_client(**credentials) -> APIClient:
    client = APIClient()
    client.raise_request_exception = False  # a server error comes back as a 500, as a real client sees it
    client.credentials(**credentials)
    return client


def test_a_batch_replayed_while_the_first_is_still_in_flight_is_stored_once():
    for index in range(5):
        ProductFactory(product_id=f"P{index}")
    token = Token.objects.create(user=UserFactory(username="importer")).key
    batch = [
        {"product_id": f"P{index % 5}", "kind": "view", "customer_id": f"U{index % 7}", "event_id": f"e-{index}"}
        for index in range(60)
    ]
    senders = 8

    def send():
        return api_client(HTTP_AUTHORIZATION=f"Token {token}").post("/api/interactions/", batch, format="json")

    responses = all_at_once([send] * senders)

    assert [getattr(response, "status_code", response) for response in responses] == [201] * senders
    bodies = [response.json() for response in responses]
    assert all(body["stored"] + body["duplicates"] == len(batch) for body in bodies)
    assert sum(body["stored"] for body in bodies) == len(batch)
    assert Interaction.objects.count() == len(batch)
    assert sorted(Interaction.objects.values_list("event_id", flat=True)) == sorted(event["event_id"] for event in batch)


def test_twenty_shoppers_racing_for_five_units_get_five_orders_and_the_stock_ends_at_zero(order_store_held):
    product = ProductFactory(stock=5, price=Decimal("25.00"))
    line = {"lines": [{"product_id": product.product_id, "quantity": 1}]}

    responses = all_at_once([lambda: api_client().post("/api/checkout/", line, format="json")] * 20)

    statuses = sorted(getattr(response, "status_code", repr(response)) for response in responses)
    assert statuses == [201] * 5 + [409] * 15
    refused = [response.json() for response in responses if response.status_code == 409]
    assert all(set(body) == ERROR_KEYS and body["code"] == "out_of_stock" for body in refused)
    product.refresh_from_db()
    assert product.stock == 0
    assert Order.objects.count() == 5
    assert OrderLine.objects.filter(product=product).count() == 5
    assert sorted(response.json()["order_number"] for response in responses if response.status_code == 201) == sorted(
        Order.objects.values_list("number", flat=True)
    )
    assert Product.objects.filter(stock__lt=0).count() == 0
