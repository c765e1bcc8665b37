from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from shop import services
from shop.middleware import visitor_id_from_cookie
from shop.models import Customer, Interaction
from shop.tests.factories import CustomerFactory, InteractionFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/interactions/"


@pytest.fixture
def products():
    return [ProductFactory(product_id=product_id) for product_id in ("P1", "P2", "P3")]


def post(client, payload):
    return client.post(URL, payload, format="json")


def test_one_event_is_stored_for_the_visitor_with_defaults(api_client, products):
    before = timezone.now()

    response = post(api_client, {"product_id": "P1", "kind": "view"})

    assert response.status_code == 201
    assert response.json() == {"stored": 1, "duplicates": 0}
    event = Interaction.objects.get()
    assert event.product.product_id == "P1"
    assert event.kind == "view"
    assert event.quantity == 1
    assert event.context == {}
    assert event.event_id is None
    assert before <= event.timestamp <= timezone.now()
    assert event.customer.customer_id.startswith("v-")
    assert event.customer.is_anonymous_visitor


def test_a_list_of_events_is_stored_with_every_field(api_client, products):
    context = {"request_id": "r-1", "placement": "home", "strategy": "hybrid", "experiment": "exp-1", "variant": "b", "position": 3}
    payload = [
        {"product_id": "P1", "kind": "click", "timestamp": "2025-03-01T12:00:00Z", "context": context, "event_id": "e-1"},
        {"product_id": "P2", "kind": "add_to_cart", "quantity": 2},
        {"product_id": "P2", "kind": "purchase", "quantity": 2, "timestamp": "2025-03-01T12:05:00+02:00"},
    ]

    response = post(api_client, payload)

    assert response.status_code == 201
    assert response.json() == {"stored": 3, "duplicates": 0}
    rows = list(Interaction.objects.order_by("id").values_list("product__product_id", "kind", "quantity", "event_id"))
    assert rows == [("P1", "click", 1, "e-1"), ("P2", "add_to_cart", 2, None), ("P2", "purchase", 2, None)]
    click = Interaction.objects.get(kind="click")
    assert click.timestamp == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert click.context == context
    assert Interaction.objects.get(kind="purchase").timestamp == datetime(2025, 3, 1, 10, 5, tzinfo=UTC)
    assert Customer.objects.count() == 1


def test_a_list_with_one_unknown_product_stores_nothing_and_names_the_item_and_field(api_client, products):
    payload = [
        {"product_id": "P1", "kind": "view"},
        {"product_id": "P2", "kind": "view"},
        {"product_id": "P999", "kind": "view"},
    ]

    response = post(api_client, payload)

    assert response.status_code == 400
    assert response.json() == {
        "message": "Item 2: product_id: Unknown product 'P999'.",
        "code": "unknown_product",
        "extra": {"fields": {"2": {"product_id": ["Unknown product 'P999'."]}}},
    }
    assert Interaction.objects.count() == 0
    assert Customer.objects.count() == 0


def test_every_bad_item_is_reported_at_once(api_client, products):
    payload = [
        {"product_id": "P1", "kind": "glance"},
        {"product_id": "P1", "kind": "view"},
        {"product_id": "NOPE", "kind": "view", "quantity": 0},
    ]

    response = post(api_client, payload)

    body = response.json()
    assert response.status_code == 400
    assert body["code"] == "invalid_choice"
    assert body["message"] == 'Item 0: kind: "glance" is not a valid choice. (and 1 more item with errors)'
    assert body["extra"]["fields"] == {
        "0": {"kind": ['"glance" is not a valid choice.']},
        "2": {"product_id": ["Unknown product 'NOPE'."], "quantity": ["Ensure this value is greater than or equal to 1."]},
    }
    assert Interaction.objects.count() == 0


def test_a_single_bad_object_names_the_field_without_an_index(api_client, products):
    response = post(api_client, {"product_id": "P404", "kind": "view"})

    assert response.status_code == 400
    assert response.json() == {
        "message": "product_id: Unknown product 'P404'.",
        "code": "unknown_product",
        "extra": {"fields": {"product_id": ["Unknown product 'P404'."]}},
    }


@pytest.mark.parametrize(
    ("item", "field", "code"),
    [
        ({"kind": "view"}, "product_id", "required"),
        ({"product_id": "P1"}, "kind", "required"),
        ({"product_id": "P1", "kind": "VIEWED!"}, "kind", "invalid_choice"),
        ({"product_id": "P1", "kind": "view", "timestamp": "yesterday"}, "timestamp", "invalid"),
        ({"product_id": "P1", "kind": "view", "timestamp": "2025-13-01T00:00:00Z"}, "timestamp", "invalid"),
        ({"product_id": "P1", "kind": "view", "timestamp": "2999-01-01T00:00:00Z"}, "timestamp", "future_timestamp"),
        ({"product_id": "P1", "kind": "view", "quantity": 0}, "quantity", "min_value"),
        ({"product_id": "P1", "kind": "view", "quantity": -3}, "quantity", "min_value"),
        ({"product_id": "P1", "kind": "view", "quantity": "many"}, "quantity", "invalid"),
        ({"product_id": "P1", "kind": "view", "quantity": 10**12}, "quantity", "max_value"),
        ({"product_id": "P1", "kind": "view", "event_id": "x" * 65}, "event_id", "max_length"),
        ({"product_id": "P1", "kind": "view", "context": "home"}, "context", "not_a_dict"),
        ({"product_id": "P1", "kind": "view", "context": {"position": -1}}, "context", "invalid"),
        ({"product_id": "P1", "kind": "view", "context": {"position": "first"}}, "context", "invalid"),
        ({"product_id": "P1", "kind": "view", "context": {"placement": ["a"]}}, "context", "invalid"),
        ({"product_id": "P1", "kind": "view", "context": {"extra": {"nested": 1}}}, "context", "invalid"),
        ({"product_id": "P1", "kind": "view", "context": {"note": "x" * 3000}}, "context", "too_large"),
    ],
)
def test_a_bad_field_is_a_400_naming_item_and_field(api_client, products, item, field, code):
    response = post(api_client, [{"product_id": "P2", "kind": "view"}, item])

    body = response.json()
    assert response.status_code == 400
    assert body["code"] == code
    assert list(body["extra"]["fields"]) == ["1"]
    assert list(body["extra"]["fields"]["1"]) == [field]
    assert body["message"].startswith(f"Item 1: {field}: ")
    assert Interaction.objects.count() == 0


def test_a_timestamp_a_few_minutes_ahead_is_accepted_as_clock_skew(api_client, products):
    soon = (timezone.now() + timedelta(minutes=5)).isoformat()

    assert post(api_client, {"product_id": "P1", "kind": "view", "timestamp": soon}).status_code == 201


@pytest.mark.parametrize(
    ("timestamp", "code"),
    [
        ("0001-01-01T00:00:00+01:00", "timestamp_too_early"),
        ("0001-01-01T00:00:00Z", "timestamp_too_early"),
        ("1999-12-31T23:59:59Z", "timestamp_too_early"),
        ("2000-01-01T00:59:59+01:00", "timestamp_too_early"),
        ("2099-01-01T00:00:00Z", "future_timestamp"),
    ],
)
def test_a_timestamp_outside_the_event_time_bounds_is_a_400_naming_it(api_client, products, timestamp, code):
    response = post(api_client, {"product_id": "P1", "kind": "view", "timestamp": timestamp})

    body = response.json()
    assert response.status_code == 400
    assert body["code"] == code
    assert list(body["extra"]["fields"]) == ["timestamp"]
    assert body["message"].startswith("timestamp: ")
    assert Interaction.objects.count() == 0
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("timestamp", ["2000-01-01T00:00:00Z", "2000-01-01T01:00:00+01:00", "now"])
def test_a_timestamp_from_2000_to_now_is_stored(api_client, products, timestamp):
    moment = timezone.now() if timestamp == "now" else datetime.fromisoformat(timestamp)

    response = post(api_client, {"product_id": "P1", "kind": "view", "timestamp": moment.isoformat()})

    assert response.status_code == 201
    assert Interaction.objects.get().timestamp == moment


def test_more_than_500_events_is_a_400_and_stores_nothing(api_client, products):
    response = post(api_client, [{"product_id": "P1", "kind": "view"}] * 501)

    assert response.status_code == 400
    assert response.json() == {
        "message": "Send at most 500 events a request; this one has 501.",
        "code": "too_many_items",
        "extra": {"fields": {}},
    }
    assert Interaction.objects.count() == 0


def test_500_events_are_stored_with_a_bounded_number_of_queries(api_client, products, django_assert_max_num_queries):
    payload = [{"product_id": f"P{index % 3 + 1}", "kind": "view", "event_id": f"e-{index}"} for index in range(500)]

    # products, existing event ids, visitor customer (get, create), savepoints, and the insert
    # (one statement on PostgreSQL; SQLite's variable limit splits it into batches of ~140 rows)
    with django_assert_max_num_queries(12):
        response = post(api_client, payload)

    assert response.json() == {"stored": 500, "duplicates": 0}
    assert Interaction.objects.count() == 500


@pytest.mark.parametrize(
    ("payload", "code"),
    [([], "empty"), ("view", "invalid"), (42, "invalid"), ([None], "null"), (["P1"], "invalid")],
)
def test_a_payload_that_is_not_events_is_a_400(api_client, products, payload, code):
    response = post(api_client, payload)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert Interaction.objects.count() == 0


def test_malformed_json_and_other_content_types_are_refused(api_client, products):
    broken = api_client.post(URL, '{"product_id": "P1",', content_type="application/json")
    form = api_client.post(URL, {"product_id": "P1", "kind": "view"})  # multipart

    assert (broken.status_code, broken.json()["code"]) == (400, "parse_error")
    assert (form.status_code, form.json()["code"]) == (415, "unsupported_media_type")


def test_a_body_over_the_upload_limit_is_refused_before_it_is_parsed(api_client, products, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = post(api_client, [{"product_id": "P1", "kind": "view", "context": {"note": "x" * 100}}] * 10)

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert Interaction.objects.count() == 0


def test_a_replayed_event_id_is_stored_once_and_reported_as_duplicate(api_client, products):
    batch = [{"product_id": "P1", "kind": "view", "event_id": "e-1"}, {"product_id": "P2", "kind": "click", "event_id": "e-2"}]

    first = post(api_client, batch)
    again = post(api_client, batch + [{"product_id": "P3", "kind": "view", "event_id": "e-3"}])

    assert (first.status_code, first.json()) == (201, {"stored": 2, "duplicates": 0})
    assert (again.status_code, again.json()) == (201, {"stored": 1, "duplicates": 2})
    assert sorted(Interaction.objects.values_list("event_id", flat=True)) == ["e-1", "e-2", "e-3"]


def test_an_event_id_repeated_within_one_batch_is_stored_once(api_client, products):
    response = post(api_client, [{"product_id": "P1", "kind": "view", "event_id": "same"}] * 3)

    assert response.json() == {"stored": 1, "duplicates": 2}
    assert Interaction.objects.count() == 1


def test_a_concurrent_replay_caught_by_the_unique_constraint_is_retried_not_a_500(api_client, products, monkeypatch):
    real = services.customers_get_or_create
    raced = []

    def another_request_stores_the_event_first(*, customer_ids):
        if not raced:  # after this batch checked for existing event ids, before it inserts
            raced.append(True)
            InteractionFactory(event_id="e-1", product=products[0])
        return real(customer_ids=customer_ids)

    monkeypatch.setattr(services, "customers_get_or_create", another_request_stores_the_event_first)

    response = post(api_client, [{"product_id": "P1", "kind": "view", "event_id": "e-1"}])

    assert response.status_code == 201
    assert raced == [True]
    assert Interaction.objects.filter(event_id="e-1").count() == 1


def test_the_same_visitor_is_the_same_customer_across_requests(api_client, products):
    post(api_client, {"product_id": "P1", "kind": "view"})
    post(api_client, {"product_id": "P2", "kind": "view"})

    assert Customer.objects.count() == 1
    assert Interaction.objects.filter(customer=Customer.objects.get()).count() == 2
    assert api_client.cookies["visitor_id"].value


def test_two_visitors_are_two_customers(products):
    first, second = APIClient(), APIClient()

    post(first, {"product_id": "P1", "kind": "view"})
    post(second, {"product_id": "P1", "kind": "view"})
    post(first, {"product_id": "P2", "kind": "view"})

    counts = sorted(Customer.objects.values_list("interactions__customer_id", flat=True))
    assert Customer.objects.count() == 2
    assert sorted(customer.interactions.count() for customer in Customer.objects.all()) == [1, 2]
    assert len(set(counts)) == 2


def test_a_forged_visitor_cookie_is_not_trusted(api_client, products):
    CustomerFactory(customer_id="v-victim")
    api_client.cookies["visitor_id"] = "v-victim"  # unsigned: the middleware ignores it and mints a new id

    post(api_client, {"product_id": "P1", "kind": "view"})

    assert Interaction.objects.get().customer.customer_id != "v-victim"


@pytest.mark.parametrize("payload_is_list", [False, True])
def test_a_visitor_cannot_write_events_as_someone_else(api_client, products, payload_is_list):
    CustomerFactory(customer_id="U042")
    item = {"product_id": "P1", "kind": "purchase", "customer_id": "U042"}

    response = post(api_client, [{"product_id": "P2", "kind": "view"}, item] if payload_is_list else item)

    body = response.json()
    assert response.status_code == 403
    assert body["code"] == "customer_id_not_allowed"
    message = "Only API-token clients and staff may set customer_id; events are recorded for the current visitor."
    assert body["extra"]["fields"] == ({"1": {"customer_id": [message]}} if payload_is_list else {"customer_id": [message]})
    assert Interaction.objects.count() == 0


def test_a_signed_in_shopper_cannot_set_customer_id_either(products):
    client = APIClient()
    client.force_login(UserFactory(username="shopper"))

    response = post(client, {"product_id": "P1", "kind": "view", "customer_id": "U042"})

    assert (response.status_code, response.json()["code"]) == (403, "customer_id_not_allowed")


def test_a_signed_in_shoppers_events_belong_to_their_customer(products):
    user = UserFactory(username="shopper")
    client = APIClient()
    client.force_login(user)

    post(client, {"product_id": "P1", "kind": "view"})

    assert Interaction.objects.get().customer.user == user


def test_a_token_client_writes_for_the_customers_it_names_creating_them_on_first_sight(token_client, products):
    existing = CustomerFactory(customer_id="U001")
    payload = [
        {"product_id": "P1", "kind": "view", "customer_id": "U001"},
        {"product_id": "P2", "kind": "purchase", "customer_id": "U002"},
        {"product_id": "P3", "kind": "view", "customer_id": "U002"},
    ]

    response = post(token_client, payload)

    assert response.status_code == 201
    assert response.json() == {"stored": 3, "duplicates": 0}
    assert list(existing.interactions.values_list("product__product_id", flat=True)) == ["P1"]
    created = Customer.objects.get(customer_id="U002")
    assert sorted(created.interactions.values_list("product__product_id", flat=True)) == ["P2", "P3"]
    assert Customer.objects.count() == 2  # no customer for the token's own user: every event named one


def test_a_token_clients_event_without_customer_id_is_its_own(token_client, products):
    response = post(token_client, {"product_id": "P1", "kind": "view"})

    assert response.status_code == 201
    assert Interaction.objects.get().customer.user.username == "api-client"


def test_staff_may_name_the_customer(staff_client, products):
    response = post(staff_client, {"product_id": "P1", "kind": "view", "customer_id": "U777"})

    assert response.status_code == 201
    assert Interaction.objects.get().customer.customer_id == "U777"


def test_a_bad_token_is_a_401(products):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = post(client, {"product_id": "P1", "kind": "view"})

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Token"


def test_events_for_an_inactive_product_are_still_recorded(api_client, settings):
    gone = ProductFactory(product_id="GONE", is_active=False)

    response = post(api_client, {"product_id": "GONE", "kind": "purchase"})

    assert response.status_code == 201
    assert response.json() == {"stored": 1, "duplicates": 0}
    visitor_id = visitor_id_from_cookie(settings.VISITOR_COOKIE_NAME, response.cookies[settings.VISITOR_COOKIE_NAME].value)
    event = Interaction.objects.get()
    assert (event.kind, event.product, event.customer.customer_id) == ("purchase", gone, visitor_id)


class TestCsrf:
    """Browsers must prove the post comes from the storefront; API-token clients need not."""

    def test_an_anonymous_post_without_the_csrf_token_is_refused_and_gets_a_token(self, products):
        client = APIClient(enforce_csrf_checks=True)

        response = post(client, {"product_id": "P1", "kind": "view"})

        assert response.status_code == 403
        assert response.json()["code"] == "csrf_failed"
        assert response.json()["message"].startswith("CSRF Failed")
        assert response.cookies["csrftoken"].value
        assert Interaction.objects.count() == 0

    def test_the_storefront_posts_with_the_cookie_it_got_from_the_catalog(self, products):
        client = APIClient(enforce_csrf_checks=True)
        client.get("/api/products/")
        token = client.cookies["csrftoken"].value

        response = client.post(URL, {"product_id": "P1", "kind": "view"}, format="json", HTTP_X_CSRFTOKEN=token)

        assert response.status_code == 201
        assert Interaction.objects.count() == 1

    def test_a_client_can_retry_with_the_token_set_by_the_refusal(self, products):
        client = APIClient(enforce_csrf_checks=True)
        refused = post(client, {"product_id": "P1", "kind": "view"})

        retried = client.post(
            URL, {"product_id": "P1", "kind": "view"}, format="json", HTTP_X_CSRFTOKEN=refused.cookies["csrftoken"].value
        )

        assert retried.status_code == 201

    def test_a_signed_in_shopper_needs_the_token_too(self, products):
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(UserFactory(username="shopper"))

        response = post(client, {"product_id": "P1", "kind": "view"})

        assert (response.status_code, response.json()["code"]) == (403, "csrf_failed")

    def test_an_api_token_client_needs_no_csrf_token(self, products):
        from rest_framework.authtoken.models import Token

        client = APIClient(enforce_csrf_checks=True)
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory()).key}")

        response = post(client, {"product_id": "P1", "kind": "view", "customer_id": "U1"})

        assert response.status_code == 201
