"""Rate limits: the request past a scope's limit is a 429 in the API's error shape, for that caller and scope only."""

import os
import signal

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from shop.middleware import visitor_id_from_cookie
from shop.models import Interaction, Order
from shop.tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

SCOPES = ["events", "checkout", "feedback", "search", "sign_in"]


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def rates(settings):
    """Set some scopes' rates for this test (every other scope is out of reach)."""

    def set_rates(**scope_rates: str) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**{scope: "100000/min" for scope in SCOPES}, **scope_rates},
        }

    return set_rates


@pytest.fixture
def product():
    return ProductFactory(product_id="P1", title="Trail Shoes", stock=None)


def visitor() -> APIClient:
    """A storefront visitor holding the visitor cookie from an earlier page."""
    client = APIClient()
    client.get("/health")
    assert client.cookies[django_settings.VISITOR_COOKIE_NAME].value
    return client


def visitor_id(client: APIClient) -> str:
    name = django_settings.VISITOR_COOKIE_NAME
    return visitor_id_from_cookie(name, client.cookies[name].value)


def post_event(client):
    return client.post("/api/interactions/", {"product_id": "P1", "kind": "view"}, format="json")


def place_order(client):
    return client.post("/api/checkout/", {"lines": [{"product_id": "P1", "quantity": 1}]}, format="json")


def post_feedback(client):
    return client.post("/feedback", {"user_id": visitor_id(client), "product_id": "P1", "action": "view"}, format="json")


def search(client):
    return client.get("/api/products/", {"search": "shoes"})


REQUESTS = {"events": (post_event, 201), "checkout": (place_order, 201), "feedback": (post_feedback, 200), "search": (search, 200)}
API_SCOPES = list(REQUESTS)


def assert_throttled(response):
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "throttled"
    assert body["message"].startswith("Request was throttled.")
    assert body["extra"] == {"fields": {}}
    assert 0 < int(response["Retry-After"]) <= 60


@pytest.mark.parametrize("scope", API_SCOPES)
def test_the_request_past_the_limit_is_a_429_with_retry_after(scope, rates, product):
    rates(**{scope: "2/min"})
    send, ok = REQUESTS[scope]
    client = visitor()

    statuses = [send(client).status_code for _ in range(2)]
    refused = send(client)

    assert statuses == [ok, ok]
    assert_throttled(refused)


@pytest.mark.parametrize("scope", API_SCOPES)
def test_another_visitor_is_not_affected(scope, rates, product):
    rates(**{scope: "2/min"})
    send, ok = REQUESTS[scope]
    throttled = visitor()
    for _ in range(3):
        send(throttled)

    assert send(visitor()).status_code == ok
    assert send(throttled).status_code == 429


def test_a_throttled_visitor_can_still_use_the_rest_of_the_site(rates, product):
    rates(events="1/min", checkout="1/min", feedback="1/min", search="1/min")
    client = visitor()
    post_event(client)
    assert post_event(client).status_code == 429

    assert place_order(client).status_code == 201
    assert post_feedback(client).status_code == 200
    assert search(client).status_code == 200
    assert client.get("/api/products/").status_code == 200
    assert client.get("/api/products/P1/").status_code == 200
    assert client.get("/api/categories/").status_code == 200
    assert client.get("/api/recommendations/trending/").status_code == 200


def test_refused_events_and_orders_store_nothing(rates, product):
    rates(events="1/min", checkout="1/min")
    client = visitor()
    post_event(client)
    place_order(client)

    assert (post_event(client).status_code, place_order(client).status_code) == (429, 429)
    assert Interaction.objects.filter(kind="view").count() == 1
    assert Order.objects.count() == 1


def test_browsing_the_catalog_without_a_search_term_is_not_counted(rates, product):
    rates(search="2/min")
    client = visitor()

    browsing = [client.get("/api/products/", params).status_code for params in [{}, {"page": 1}, {"search": " "}, {}, {}]]
    searches = [search(client).status_code for _ in range(3)]

    assert browsing == [200] * 5
    assert searches == [200, 200, 429]
    assert client.get("/api/products/", {"ordering": "price"}).status_code == 200


def test_impressions_share_the_events_budget(rates, product):
    rates(events="1/min")
    client = visitor()
    post_event(client)

    assert_throttled(client.post("/api/impressions/", [], format="json"))


def test_callers_without_a_visitor_cookie_are_counted_by_address(rates, product):
    rates(events="2/min")

    def cookieless(address: str):
        return post_event(APIClient(REMOTE_ADDR=address))  # a new client each time: no cookie is ever sent back

    same_address = [cookieless("203.0.113.7").status_code for _ in range(3)]

    assert same_address == [201, 201, 429]
    assert cookieless("203.0.113.8").status_code == 201


def test_a_forged_x_forwarded_for_does_not_buy_a_fresh_budget(rates, product):
    rates(events="1/min")
    statuses = [post_event(APIClient(HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")).status_code for n in range(3)]

    assert statuses == [201, 429, 429]


def test_behind_a_proxy_the_address_it_saw_is_counted(rates, product, settings):
    rates(events="1/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    def through_proxy(client_address: str):
        return post_event(APIClient(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"forged, {client_address}"))

    assert [through_proxy("198.51.100.1").status_code for _ in range(2)] == [201, 429]
    assert through_proxy("198.51.100.2").status_code == 201


def test_token_clients_are_counted_per_token(rates, product):
    from rest_framework.authtoken.models import Token

    rates(events="1/min")

    def token_client(username: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory(username=username)).key}")
        return client

    first, second = token_client("shop-backend"), token_client("crm")
    post_event(first)

    assert post_event(first).status_code == 429
    assert post_event(second).status_code == 201


def test_a_scope_set_to_off_is_not_limited(rates, product):
    rates(events="off")
    client = visitor()

    assert {post_event(client).status_code for _ in range(5)} == {201}


class SignInProbe(APIView):
    """Stands in for the sign-in endpoint issue 12 adds: only the scope matters here."""

    authentication_classes: list = []
    throttle_scope = "sign_in"

    def post(self, request):
        return Response({"signed_in": False})


def test_sign_in_attempts_are_counted_by_address_whatever_the_visitor_cookie(rates):
    rates(sign_in="2/min")
    view = SignInProbe.as_view()

    def attempt(address: str, visitor: str):
        request = APIRequestFactory().post("/sign-in/", {}, format="json", REMOTE_ADDR=address)
        request.visitor_id, request.visitor_is_new = visitor, False
        return view(request)

    statuses = [attempt("203.0.113.9", f"v-{n}").status_code for n in range(3)]

    assert statuses == [200, 200, 429]
    assert attempt("203.0.113.10", "v-0").status_code == 200


def test_the_schema_documents_the_429_of_each_limited_operation(api_client):
    paths = api_client.get("/api/schema/", {"format": "json"}).json()["paths"]
    limited = [
        ("/api/interactions/", "post"),
        ("/api/impressions/", "post"),
        ("/api/checkout/", "post"),
        ("/api/products/", "get"),
        ("/feedback", "post"),
    ]

    for path, method in limited:
        throttled = paths[path][method]["responses"]["429"]
        assert throttled["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, path
        assert throttled["headers"]["Retry-After"]["schema"]["type"] == "integer", path
    for path, method in [("/api/products/{product_id}/", "get"), ("/api/recommendations/trending/", "get"), ("/health", "get")]:
        assert "429" not in paths[path][method]["responses"], path


@pytest.mark.services
def test_with_redis_stopped_limited_requests_are_let_through(rates, product, own_redis):
    rates(events="2/min")
    client = visitor()
    assert [post_event(client).status_code for _ in range(3)] == [201, 201, 429]  # counted in this Redis

    own_redis.terminate()
    own_redis.wait(timeout=10)

    assert [post_event(client).status_code for _ in range(3)] == [201, 201, 201]
    assert search(client).status_code == 200


@pytest.mark.services
def test_with_redis_hung_limited_requests_are_let_through(rates, product, own_redis):
    rates(events="1/min")
    client = visitor()
    post_event(client)

    os.kill(own_redis.pid, signal.SIGSTOP)  # accepts connections, answers nothing
    try:
        statuses = [post_event(client).status_code for _ in range(2)]
    finally:
        os.kill(own_redis.pid, signal.SIGCONT)

    assert statuses == [201, 201]


def test_a_malformed_rate_is_refused_at_start(rates):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    rates(checkout="ten/min", search="off")

    with pytest.raises(SystemCheckError, match=r"scope 'checkout': 'ten/min' is not a rate"):
        call_command("check")
