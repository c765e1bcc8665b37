"""Checkout retries racing under one Idempotency-Key, against a real PostgreSQL.

Each submission is a thread with its own database connection, posting as the same visitor at
the moment a barrier releases them all. A `pre_save` receiver on Order holds every checkout for
a moment before its order is stored, so all of them have looked for an earlier order under the
key (and found none) before the first one commits: only the (customer, idempotency_key) unique
constraint can then keep the others from storing a second order.
"""

from decimal import Decimal
from functools import partial

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from shop.models import Interaction, Order, OrderLine
from shop.tests.concurrency import all_at_once, order_store_held  # noqa: F401 (a fixture)
from shop.tests.factories import ProductFactory

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="concurrent transactions need PostgreSQL (DATABASE_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]

URL = "/api/checkout/"
KEY = "5f0c9a1e-7b2d-4c3e-8f6a-9d1b2c3e4f50"
SUBMISSIONS = 4


def visitor_cookies():
    """The signed cookie of one new storefront visitor, to share between clients."""
    client = APIClient()
    client.get("/api/categories/")
    assert client.cookies, "the storefront set no visitor cookie"
    return client.cookies


def submissions_at_once(carts: list[list[dict]], cookies) -> list:
    """Post each cart at the same moment as the same visitor, all with KEY; return the responses."""

    def submit(cart: list[dict]):
        client = APIClient()
        client.raise_request_exception = False
        client.cookies = cookies
        return client.post(URL, {"lines": cart}, format="json", headers={"Idempotency-Key": KEY})

    return all_at_once([partial(submit, cart) for cart in carts])


def status_and_code(response) -> tuple:
    if isinstance(response, BaseException):
        return ("raised", repr(response))
    if response.status_code in (200, 201):
        return (response.status_code, response.json()["order_number"])
    return (response.status_code, response.json().get("code") if response.get("Content-Type", "").startswith("application/json") else None)


@pytest.mark.parametrize("stock", [10, 2], ids=["plenty-of-stock", "stock-for-one-order"])
def test_concurrent_submissions_with_one_key_place_one_order_and_take_the_stock_once(order_store_held, stock):
    tracked = ProductFactory(stock=stock, price=Decimal("25.00"))
    untracked = ProductFactory(stock=None, price=Decimal("4.00"))
    cart = [{"product_id": tracked.product_id, "quantity": 2}, {"product_id": untracked.product_id, "quantity": 1}]

    responses = submissions_at_once([cart] * SUBMISSIONS, visitor_cookies())

    order = Order.objects.get()
    assert order.idempotency_key == KEY
    outcomes = sorted((status_and_code(response) for response in responses), key=str)
    assert outcomes == sorted([(201, order.number)] + [(200, order.number)] * (SUBMISSIONS - 1), key=str)
    tracked.refresh_from_db()
    assert tracked.stock == stock - 2
    assert OrderLine.objects.count() == 2
    assert Interaction.objects.filter(kind=Interaction.Kind.PURCHASE).count() == 2


def test_concurrent_submissions_of_two_carts_with_one_key_place_one_order_and_refuse_the_other(order_store_held):
    first, second = ProductFactory(stock=5), ProductFactory(stock=5)
    carts = [[{"product_id": first.product_id, "quantity": 1}], [{"product_id": second.product_id, "quantity": 1}]]

    responses = submissions_at_once(carts, visitor_cookies())

    order = Order.objects.get()
    assert sorted(status_and_code(response) for response in responses) == [(201, order.number), (409, "idempotency_key_reused")]
    assert OrderLine.objects.count() == 1
    assert Interaction.objects.filter(kind=Interaction.Kind.PURCHASE).count() == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.stock + second.stock == 9
