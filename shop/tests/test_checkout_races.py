"""Checkout against a real PostgreSQL: shoppers racing for the last units, order-number clashes.

Each shopper of a race is a thread with its own database connection, posting to the API at
the moment a barrier releases them all. A `pre_save` receiver on Order holds every checkout
that got past the stock check for a moment before its order is stored: with the product rows
locked, the others wait for the lock and then see the new stock; without the lock, they all
read the old stock inside that window, which makes the race lost every time, not now and then.
"""

from decimal import Decimal

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from shop import services
from shop.models import Interaction, Order, OrderLine, Product
from shop.tests.concurrency import all_at_once, order_store_held  # noqa: F401 (a fixture)
from shop.tests.factories import CustomerFactory, ProductFactory

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="row locks and concurrent transactions need PostgreSQL (DATABASE_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]

URL = "/api/checkout/"
ROUNDS = 3
ERROR_KEYS = {"message", "code", "extra"}


def checkout(client: APIClient, product_id: str, quantity: int):
    return client.post(URL, {"lines": [{"product_id": product_id, "quantity": quantity}]}, format="json")


def visitor_client() -> APIClient:
    """A new storefront visitor whose server errors come back as 500 responses, not raised in the test."""
    client = APIClient()
    client.raise_request_exception = False
    return client


def checkouts_at_once(product_id: str, quantity: int, shoppers: int) -> list:
    """Let `shoppers` visitors check out the same line at the same moment; return their responses."""
    return all_at_once([lambda: checkout(visitor_client(), product_id, quantity)] * shoppers)


def status_and_code(response) -> tuple:
    if isinstance(response, BaseException):
        return ("raised", repr(response))
    if response.status_code == 201:
        return (201, None)
    if response.get("Content-Type", "").startswith("application/json"):
        return (response.status_code, response.json().get("code"))
    return (response.status_code, response.content[:80])


@pytest.mark.parametrize(
    ("stock", "quantity", "shoppers", "loser_code"),
    [(1, 1, 3, "out_of_stock"), (3, 2, 2, "insufficient_stock")],
    ids=["last-unit", "not-enough-for-both"],
)
def test_shoppers_racing_for_the_last_units_get_one_order_and_409s(order_store_held, stock, quantity, shoppers, loser_code):
    for round_number in range(ROUNDS):
        product = ProductFactory(stock=stock, price=Decimal("25.00"))

        responses = checkouts_at_once(product.product_id, quantity, shoppers)

        outcomes = sorted((status_and_code(response) for response in responses), key=str)
        assert outcomes == sorted([(201, None)] + [(409, loser_code)] * (shoppers - 1), key=str), f"round {round_number}"
        losers = [response for response in responses if response.status_code == 409]
        assert all(set(response.json()) == ERROR_KEYS for response in losers)
        assert all(response.json()["extra"]["fields"]["lines"]["0"]["quantity"] for response in losers)
        product.refresh_from_db()
        assert product.stock == stock - quantity
        order = Order.objects.get(lines__product=product)
        winner = next(response for response in responses if response.status_code == 201)
        assert winner.json()["order_number"] == order.number
        assert list(OrderLine.objects.filter(product=product).values_list("order_id", "quantity")) == [(order.pk, quantity)]
        purchases = Interaction.objects.filter(product=product, kind=Interaction.Kind.PURCHASE)
        assert list(purchases.values_list("customer_id", "quantity")) == [(order.customer_id, quantity)]
    assert Product.objects.filter(stock__lt=0).count() == 0


# -- order numbers ------------------------------------------------------------------------

TAKEN = "LM-20260301-TAKEN1"
FRESH = "LM-20260301-FRESH1"


@pytest.fixture
def taken_number():
    """An order already holding the number the generator is made to draw first."""
    return Order.objects.create(number=TAKEN, customer=CustomerFactory(), currency="USD", total=Decimal("1.00"))


def draw_numbers(monkeypatch, numbers: list[str]) -> list[str]:
    """Make the order-number generator return `numbers` in turn (the last one forever); return what was drawn."""
    drawn: list[str] = []

    def order_number_new() -> str:
        drawn.append(numbers[min(len(drawn), len(numbers) - 1)])
        return drawn[-1]

    monkeypatch.setattr(services, "order_number_new", order_number_new)
    return drawn


def test_checkout_retries_taken_order_numbers_and_stores_one_order_with_a_fresh_number(taken_number, monkeypatch):
    collisions = services.ORDER_NUMBER_ATTEMPTS - 1
    assert collisions >= 2, "a checkout must survive more than one clash for this test to mean anything"
    drawn = draw_numbers(monkeypatch, [TAKEN] * collisions + [FRESH])
    product = ProductFactory(stock=2, price=Decimal("25.00"))

    response = checkout(visitor_client(), product.product_id, 1)

    assert response.status_code == 201, response.content[:300]
    assert response.json()["order_number"] == FRESH
    assert drawn == [TAKEN] * collisions + [FRESH]
    assert sorted(Order.objects.values_list("number", flat=True)) == sorted([TAKEN, FRESH])
    order = Order.objects.get(number=FRESH)
    assert order.customer_id != taken_number.customer_id
    assert list(order.lines.values_list("product_id", "quantity")) == [(product.pk, 1)]
    product.refresh_from_db()
    assert product.stock == 1  # taken once, however many numbers were tried
    assert list(Interaction.objects.values_list("event_id", "kind")) == [(f"order-{FRESH}-0", "purchase")]


def checkout_with_only_taken_numbers(monkeypatch):
    drawn = draw_numbers(monkeypatch, [TAKEN])
    product = ProductFactory(stock=2, price=Decimal("25.00"))
    response = checkout(visitor_client(), product.product_id, 1)
    return response, drawn, product


def test_checkout_that_draws_only_taken_order_numbers_writes_nothing(taken_number, monkeypatch):
    response, drawn, product = checkout_with_only_taken_numbers(monkeypatch)

    assert response.status_code != 201
    assert drawn == [TAKEN] * services.ORDER_NUMBER_ATTEMPTS
    product.refresh_from_db()
    assert product.stock == 2
    assert list(Order.objects.values_list("number", flat=True)) == [TAKEN]
    assert OrderLine.objects.count() == 0
    assert Interaction.objects.count() == 0


def test_checkout_that_draws_only_taken_order_numbers_answers_in_the_api_error_shape(taken_number, monkeypatch):
    response, _, _ = checkout_with_only_taken_numbers(monkeypatch)

    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) == ERROR_KEYS
