from decimal import Decimal

import pytest
from django.contrib.admin.sites import site as admin_site
from rest_framework.test import APIClient

from shop.models import Customer, Interaction, Order, OrderLine, Product
from shop.tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/checkout/"


@pytest.fixture
def products():
    return {
        "P1": ProductFactory(product_id="P1", title="Trail Shoes", price=Decimal("59.90"), stock=5),
        "P2": ProductFactory(product_id="P2", title="Rain Jacket", price=Decimal("120.00"), stock=None),
        "P3": ProductFactory(product_id="P3", title="Wool Socks", price=Decimal("8.45"), stock=3),
    }


def checkout(client, lines):
    return client.post(URL, {"lines": lines}, format="json")


def assert_nothing_written(stock_before: dict[str, int | None]):
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert Interaction.objects.count() == 0
    assert {p.product_id: p.stock for p in Product.objects.all()} == stock_before


def test_checkout_creates_the_order_its_lines_and_one_purchase_per_line(api_client, products):
    context = {"request_id": "r-9", "placement": "product_similar", "strategy": "content", "position": 2}

    response = checkout(api_client, [{"product_id": "P1", "quantity": 2, "context": context}, {"product_id": "P3", "quantity": 3}])

    assert response.status_code == 201
    body = response.json()
    order = Order.objects.get()
    assert body["order_number"] == order.number
    assert order.number.startswith("LM-")
    assert body["currency"] == "USD"
    assert body["total"] == "145.15"  # 2 x 59.90 + 3 x 8.45
    assert order.total == Decimal("145.15")
    assert body["lines"] == [
        {"product_id": "P1", "title": "Trail Shoes", "quantity": 2, "unit_price": "59.90", "line_total": "119.80"},
        {"product_id": "P3", "title": "Wool Socks", "quantity": 3, "unit_price": "8.45", "line_total": "25.35"},
    ]
    assert list(order.lines.values_list("product__product_id", "quantity", "unit_price")) == [
        ("P1", 2, Decimal("59.90")),
        ("P3", 3, Decimal("8.45")),
    ]
    purchases = list(Interaction.objects.order_by("product__product_id"))
    assert [(p.product.product_id, p.kind, p.quantity) for p in purchases] == [("P1", "purchase", 2), ("P3", "purchase", 3)]
    assert purchases[0].context == {**context, "order": order.number}
    assert purchases[1].context == {"order": order.number}
    assert {p.customer_id for p in purchases} == {order.customer_id}
    assert all(p.timestamp == order.created_at for p in purchases)


def test_an_out_of_date_cart_price_is_not_charged_and_the_line_is_reported(api_client, products):
    response = checkout(
        api_client,
        [
            {"product_id": "P1", "quantity": 2, "unit_price": "49.90"},  # the cart still shows an old, lower price
            {"product_id": "P2", "quantity": 1},  # no cart price sent: nothing to compare
            {"product_id": "P3", "quantity": 1, "unit_price": "8.45"},
        ],
    )

    assert response.status_code == 201
    body = response.json()
    assert body["total"] == "248.25"  # 2 x 59.90 + 120.00 + 8.45, the database's prices
    assert Order.objects.get().total == Decimal("248.25")
    assert [line["unit_price"] for line in body["lines"]] == ["59.90", "120.00", "8.45"]
    assert OrderLine.objects.get(product__product_id="P1").unit_price == Decimal("59.90")
    assert body["price_changes"] == [{"product_id": "P1", "title": "Trail Shoes", "cart_price": "49.90", "price": "59.90"}]


def test_a_cart_price_above_the_current_price_is_reported_too(api_client, products):
    response = checkout(api_client, [{"product_id": "P3", "quantity": 1, "unit_price": "9.99"}])

    assert response.status_code == 201
    assert response.json()["total"] == "8.45"
    assert response.json()["price_changes"] == [{"product_id": "P3", "title": "Wool Socks", "cart_price": "9.99", "price": "8.45"}]


def test_current_cart_prices_report_no_price_change(api_client, products):
    response = checkout(
        api_client,
        [{"product_id": "P1", "quantity": 1, "unit_price": "59.90"}, {"product_id": "P2", "quantity": 1, "unit_price": "120"}],
    )

    assert response.status_code == 201
    assert response.json()["total"] == "179.90"
    assert response.json()["price_changes"] == []


def test_the_schema_documents_the_cart_price_and_the_price_changes(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"][URL]["post"]

    def component(ref: dict) -> dict:
        return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]

    request = component(operation["requestBody"]["content"]["application/json"]["schema"])
    line = component(request["properties"]["lines"]["items"])
    unit_price = line["properties"]["unit_price"]
    assert (unit_price["type"], unit_price["format"]) == ("string", "decimal")
    assert "unit_price" not in line["required"]
    response = component(operation["responses"]["201"]["content"]["application/json"]["schema"])
    assert "price_changes" in response["required"]
    assert response["properties"]["price_changes"]["type"] == "array"
    change = component(response["properties"]["price_changes"]["items"])
    assert set(change["properties"]) == {"product_id", "title", "cart_price", "price"}
    assert set(change["required"]) == {"product_id", "title", "cart_price", "price"}


def test_checkout_decrements_tracked_stock_and_leaves_untracked_stock_alone(api_client, products):
    response = checkout(api_client, [{"product_id": "P1", "quantity": 2}, {"product_id": "P2", "quantity": 4}, {"product_id": "P3", "quantity": 3}])

    assert response.status_code == 201
    stock = {p.product_id: p.stock for p in Product.objects.all()}
    assert stock == {"P1": 3, "P2": None, "P3": 0}


def test_the_customer_is_the_current_visitor(api_client, products):
    checkout(api_client, [{"product_id": "P1", "quantity": 1}])
    api_client.post("/api/interactions/", {"product_id": "P2", "kind": "view"}, format="json")

    customer = Customer.objects.get()
    assert customer.is_anonymous_visitor
    assert Order.objects.get().customer == customer
    assert set(Interaction.objects.values_list("customer_id", flat=True)) == {customer.pk}


def test_a_signed_in_shopper_orders_as_their_own_customer(products):
    user = UserFactory(username="ada")
    client = APIClient()
    client.force_login(user)

    response = checkout(client, [{"product_id": "P1", "quantity": 1}])

    assert response.status_code == 201
    assert Order.objects.get().customer.user == user


def test_asking_for_more_than_the_stock_names_the_line_and_writes_nothing(api_client, products):
    response = checkout(api_client, [{"product_id": "P1", "quantity": 1}, {"product_id": "P3", "quantity": 4}])

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "insufficient_stock"
    assert body["message"] == "Line 1: quantity: Only 3 of 'Wool Socks' left in stock."
    assert body["extra"]["fields"] == {"lines": {"1": {"quantity": ["Only 3 of 'Wool Socks' left in stock."]}}}
    assert_nothing_written({"P1": 5, "P2": None, "P3": 3})


def test_a_sold_out_product_is_refused(api_client, products):
    Product.objects.filter(product_id="P3").update(stock=0)

    response = checkout(api_client, [{"product_id": "P3", "quantity": 1}])

    assert response.status_code == 409
    assert response.json()["code"] == "out_of_stock"
    assert response.json()["extra"]["fields"] == {"lines": {"0": {"quantity": ["'Wool Socks' is sold out."]}}}
    assert_nothing_written({"P1": 5, "P2": None, "P3": 0})


@pytest.mark.parametrize(
    ("line", "code", "field", "message"),
    [
        ({"product_id": "P999", "quantity": 1}, "unknown_product", "product_id", "Unknown product 'P999'."),
        ({"product_id": "P1", "quantity": 0}, "min_value", "quantity", "Ensure this value is greater than or equal to 1."),
        ({"product_id": "P1"}, "required", "quantity", "This field is required."),
        ({"product_id": "P1", "quantity": "two"}, "invalid", "quantity", "A valid integer is required."),
        ({"product_id": "P1", "quantity": 1, "context": {"position": -1}}, "invalid", "context", None),
        ({"product_id": "P1", "quantity": 1, "unit_price": "-0.01"}, "min_value", "unit_price", "Ensure this value is greater than or equal to 0."),
        ({"product_id": "P1", "quantity": 1, "unit_price": "59.905"}, "max_decimal_places", "unit_price", None),
        ({"product_id": "P1", "quantity": 1, "unit_price": "12345678901.00"}, "max_digits", "unit_price", None),
        ({"product_id": "P1", "quantity": 1, "unit_price": "cheap"}, "invalid", "unit_price", "A valid number is required."),
        ({"product_id": "P1", "quantity": 1, "unit_price": "NaN"}, "invalid", "unit_price", None),
        ({"product_id": "P1", "quantity": 1, "unit_price": 59.9}, "invalid", "unit_price", 'Send the amount as a decimal string, e.g. "19.99".'),
        ({"product_id": "P1", "quantity": 1, "unit_price": None}, "null", "unit_price", "This field may not be null."),
    ],
)
def test_a_bad_line_names_its_index_and_field_and_writes_nothing(api_client, products, line, code, field, message):
    response = checkout(api_client, [{"product_id": "P2", "quantity": 1}, line])

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert body["message"].startswith(f"Line 1: {field}: ")
    assert list(body["extra"]["fields"]["lines"]) == ["1"]
    assert field in body["extra"]["fields"]["lines"]["1"]
    if message:
        assert body["message"] == f"Line 1: {field}: {message}"
    assert_nothing_written({"P1": 5, "P2": None, "P3": 3})


def test_an_inactive_product_cannot_be_bought(api_client, products):
    Product.objects.filter(product_id="P1").update(is_active=False)

    response = checkout(api_client, [{"product_id": "P1", "quantity": 1}])

    assert response.status_code == 400
    assert response.json()["code"] == "product_unavailable"
    assert_nothing_written({"P1": 5, "P2": None, "P3": 3})


def test_every_bad_line_is_reported(api_client, products):
    response = checkout(
        api_client,
        [{"product_id": "P999", "quantity": 1}, {"product_id": "P2", "quantity": 1}, {"product_id": "P3", "quantity": 9}],
    )

    body = response.json()
    assert body["message"] == "Line 0: product_id: Unknown product 'P999'. (and 1 more line with errors)"
    assert set(body["extra"]["fields"]["lines"]) == {"0", "2"}
    assert_nothing_written({"P1": 5, "P2": None, "P3": 3})


def test_a_product_twice_is_refused(api_client, products):
    response = checkout(api_client, [{"product_id": "P1", "quantity": 1}, {"product_id": "P1", "quantity": 2}])

    assert response.status_code == 400
    assert response.json()["code"] == "duplicate_product"
    assert response.json()["extra"]["fields"] == {"lines": {"1": {"product_id": ["Product 'P1' is already in line 0."]}}}


def test_one_order_has_one_currency(api_client, products):
    ProductFactory(product_id="E1", price=Decimal("5.00"), currency="EUR")

    response = checkout(api_client, [{"product_id": "P1", "quantity": 1}, {"product_id": "E1", "quantity": 1}])

    assert response.status_code == 400
    assert response.json()["code"] == "mixed_currencies"
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "code"),
    [({"lines": []}, "empty"), ({}, "required"), ([{"product_id": "P1", "quantity": 1}], "invalid")],
)
def test_a_body_without_lines_is_refused(api_client, products, payload, code):
    response = api_client.post(URL, payload, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert Order.objects.count() == 0


def test_a_browser_needs_the_csrf_token(products):
    client = APIClient(enforce_csrf_checks=True)

    refused = checkout(client, [{"product_id": "P1", "quantity": 1}])
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    token = refused.cookies["csrftoken"].value

    accepted = client.post(URL, {"lines": [{"product_id": "P1", "quantity": 1}]}, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201


def test_orders_are_read_only_in_the_admin_with_their_lines_inline(products, client):
    api = APIClient()
    checkout(api, [{"product_id": "P1", "quantity": 2}])
    order = Order.objects.get()
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))

    changelist = client.get("/admin/shop/order/")
    detail = client.get(f"/admin/shop/order/{order.pk}/change/")

    assert changelist.status_code == 200
    assert order.number in changelist.content.decode()
    assert detail.status_code == 200
    assert "Trail Shoes" in detail.content.decode()
    model_admin = admin_site._registry[Order]
    assert not model_admin.has_add_permission(None)
    assert not model_admin.has_change_permission(None, order)


# -- Idempotency-Key ----------------------------------------------------------------------

KEY = "0b7f3c2e-5d4a-4f9e-9c1b-2a6d8e7f1a23"


def checkout_with_key(client, lines, key=KEY):
    return client.post(URL, {"lines": lines}, format="json", headers={"Idempotency-Key": key})


def test_a_checkout_with_a_key_stores_the_key_on_its_order(api_client, products):
    response = checkout_with_key(api_client, [{"product_id": "P1", "quantity": 1}])

    assert response.status_code == 201
    assert Order.objects.get().idempotency_key == KEY


def test_the_same_key_again_returns_the_first_order_with_200_and_writes_nothing(api_client, products):
    lines = [{"product_id": "P1", "quantity": 2, "unit_price": "49.90"}, {"product_id": "P3", "quantity": 1}]
    first = checkout_with_key(api_client, lines)
    assert first.status_code == 201

    again = checkout_with_key(api_client, [lines[1], lines[0]])  # the same cart in another order

    assert again.status_code == 200
    assert again.json() == first.json()  # the same order, and the same price change reported
    assert again.json()["price_changes"] == [{"product_id": "P1", "title": "Trail Shoes", "cart_price": "49.90", "price": "59.90"}]
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 2
    assert Interaction.objects.filter(kind=Interaction.Kind.PURCHASE).count() == 2
    assert {p.product_id: p.stock for p in Product.objects.all()} == {"P1": 3, "P2": None, "P3": 2}


def test_a_replay_is_answered_even_when_the_first_order_took_the_last_units(api_client, products):
    first = checkout_with_key(api_client, [{"product_id": "P3", "quantity": 3}])

    again = checkout_with_key(api_client, [{"product_id": "P3", "quantity": 3}])

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["order_number"] == first.json()["order_number"]
    assert Product.objects.get(product_id="P3").stock == 0


def test_the_same_key_with_another_cart_is_a_409_and_writes_nothing(api_client, products):
    first = checkout_with_key(api_client, [{"product_id": "P1", "quantity": 1}])

    other_quantity = checkout_with_key(api_client, [{"product_id": "P1", "quantity": 2}])
    other_product = checkout_with_key(api_client, [{"product_id": "P1", "quantity": 1}, {"product_id": "P2", "quantity": 1}])

    for response in (other_quantity, other_product):
        assert response.status_code == 409
        body = response.json()
        assert body["code"] == "idempotency_key_reused"
        assert body["message"].startswith("Idempotency-Key: ")
        assert first.json()["order_number"] in body["message"]
        assert list(body["extra"]["fields"]) == ["Idempotency-Key"]
    assert Order.objects.count() == 1
    assert Product.objects.get(product_id="P1").stock == 4


def test_different_customers_may_use_the_same_key(products):
    first = checkout_with_key(APIClient(), [{"product_id": "P1", "quantity": 1}])
    second = checkout_with_key(APIClient(), [{"product_id": "P1", "quantity": 1}])

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["order_number"] != second.json()["order_number"]
    assert Order.objects.filter(idempotency_key=KEY).values("customer").distinct().count() == 2
    assert Product.objects.get(product_id="P1").stock == 3


@pytest.mark.parametrize(
    "key",
    ["", "has space", "x" * 65, "semi;colon", "ключ", "a/b"],
    ids=["empty", "space", "too-long", "semicolon", "non-ascii", "slash"],
)
def test_a_bad_key_is_a_400_naming_the_header_and_writes_nothing(api_client, products, key):
    response = checkout_with_key(api_client, [{"product_id": "P1", "quantity": 1}], key=key)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_idempotency_key"
    assert body["message"].startswith("Idempotency-Key: ")
    assert list(body["extra"]["fields"]) == ["Idempotency-Key"]
    assert Order.objects.count() == 0


@pytest.mark.parametrize("key", ["a", "x" * 64, "order:2026-03-01.retry_1", "0B7F3C2E-5D4A-4F9E-9C1B-2A6D8E7F1A23"])
def test_keys_of_1_to_64_allowed_characters_are_accepted(api_client, products, key):
    assert checkout_with_key(api_client, [{"product_id": "P1", "quantity": 1}], key=key).status_code == 201


def test_a_failed_checkout_leaves_its_key_free_for_the_retry(api_client, products):
    refused = checkout_with_key(api_client, [{"product_id": "P1", "quantity": 6}])
    assert refused.status_code == 409
    assert refused.json()["code"] == "insufficient_stock"

    retried = checkout_with_key(api_client, [{"product_id": "P1", "quantity": 5}])

    assert retried.status_code == 201
    assert Order.objects.get().idempotency_key == KEY


def test_without_a_key_every_checkout_places_an_order(api_client, products):
    first = checkout(api_client, [{"product_id": "P1", "quantity": 1}])
    second = checkout(api_client, [{"product_id": "P1", "quantity": 1}])

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["order_number"] != second.json()["order_number"]
    assert list(Order.objects.values_list("idempotency_key", flat=True)) == [None, None]
    assert Product.objects.get(product_id="P1").stock == 3


def test_the_schema_documents_the_idempotency_key_header_and_the_200_replay(api_client):
    operation = api_client.get("/api/schema/", {"format": "json"}).json()["paths"][URL]["post"]

    header = next(p for p in operation["parameters"] if p["in"] == "header" and p["name"] == "Idempotency-Key")
    assert header.get("required", False) is False
    assert header["schema"]["type"] == "string"
    assert set(operation["responses"]) >= {"200", "201", "400", "409"}
    assert "idempotency_key_reused" in operation["responses"]["409"]["description"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == operation["responses"]["201"]["content"]["application/json"]["schema"]
