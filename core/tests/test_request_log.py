"""Every response names its request in X-Request-ID, and every request is one log line that identifies no one."""

import logging
import re

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from shop.middleware import visitor_id_from_cookie
from shop.tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

FRESH_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def request_log(caplog):
    """The request lines logged so far (logger core.requests)."""
    caplog.set_level(logging.INFO, logger="core.requests")
    return lambda: [record for record in caplog.records if record.name == "core.requests"]


def visitor() -> APIClient:
    client = APIClient()
    client.get("/health")
    return client


@pytest.mark.parametrize("path", ["/api/categories/", "/api/no-such-endpoint/", "/health", "/api/health/", "/admin/", "/catalog"])
def test_every_response_carries_a_fresh_request_id(api_client, path):
    first, second = api_client.get(path), api_client.get(path)

    assert FRESH_ID.fullmatch(first["X-Request-ID"]), path
    assert FRESH_ID.fullmatch(second["X-Request-ID"]), path
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.parametrize("path", ["/api/recommendations/trending/", "/api/recommendations/trending/?k=3"])
def test_a_recommendation_list_is_named_by_the_request_id_in_its_body(api_client, path, request_log):
    response = api_client.get(path, HTTP_X_REQUEST_ID="edge-7f3a")

    assert response.status_code == 200
    assert response["X-Request-ID"] == response.json()["request_id"]
    (line,) = request_log()
    assert line.request_id == response.json()["request_id"]
    assert line.upstream_request_id == "edge-7f3a"  # the proxy's id still finds the line


def test_the_compat_ab_list_is_named_by_its_request_id_too():
    client = visitor()
    own_id = visitor_id_from_cookie("visitor_id", client.cookies["visitor_id"].value)

    response = client.get("/recommend/ab", {"user_id": own_id})

    assert response.status_code == 200
    assert response["X-Request-ID"] == response.json()["request_id"]


def test_a_well_formed_request_id_from_a_proxy_is_kept(api_client):
    assert api_client.get("/api/categories/", HTTP_X_REQUEST_ID="b7c2e0f4-11aa-4c3e-9d2f-0a1b2c3d4e5f")["X-Request-ID"] == (
        "b7c2e0f4-11aa-4c3e-9d2f-0a1b2c3d4e5f"
    )


@pytest.mark.parametrize("sent", ["", "a b", "id\r\nSet-Cookie: x=1", "x" * 129, "<script>", "id;drop"])
def test_a_malformed_request_id_is_replaced(api_client, sent):
    assert FRESH_ID.fullmatch(api_client.get("/api/categories/", HTTP_X_REQUEST_ID=sent)["X-Request-ID"])


def test_each_request_is_one_line_with_method_path_status_duration_id_and_customer_kind(api_client, request_log):
    ProductFactory(product_id="P1")
    response = api_client.get("/api/products/P1/", {"customer_id": "U042"})

    (line,) = request_log()
    assert (line.method, line.path, line.status) == ("GET", "/api/products/P1/", 200)
    assert line.duration_ms >= 0
    assert line.request_id == response["X-Request-ID"]
    assert line.customer_kind == "anonymous"
    assert line.getMessage() == f"GET /api/products/P1/ 200 {line.duration_ms:.1f} ms request_id={line.request_id} customer=anonymous"
    assert "U042" not in str(vars(line))  # the query string is not logged


def test_a_path_that_names_a_customer_is_logged_as_its_route(token_client, request_log):
    token_client.get("/recommend/user/U042")

    (line,) = request_log()
    assert line.path == "/recommend/user/<str:user_id>"
    assert "U042" not in line.getMessage()


def test_the_customer_kind_says_who_asked_and_nothing_more(api_client, token_client, staff_client, request_log):
    shopper = APIClient()
    shopper.force_login(UserFactory(username="shopper"))
    returning = visitor()

    for client in (api_client, returning, shopper, staff_client, token_client):
        client.get("/api/categories/")

    kinds = [line.customer_kind for line in request_log() if line.path == "/api/categories/"]
    assert kinds == ["anonymous", "visitor", "signed-in", "staff", "token"]


@override_settings(ROOT_URLCONF="core.tests.urls_boom")
def test_a_server_error_is_logged_with_its_status_and_still_names_the_request(request_log):
    client = APIClient()
    client.raise_request_exception = False

    response = client.get("/api/boom/")

    assert response.status_code == 500
    (line,) = request_log()
    assert (line.status, line.request_id) == (500, response["X-Request-ID"])


def test_a_throttled_request_is_logged_as_a_429(request_log, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "search": "1/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    cache.clear()
    client = visitor()

    statuses = [client.get("/api/products/", {"search": "shoes"}).status_code for _ in range(2)]

    cache.clear()
    assert statuses == [200, 429]
    assert [line.status for line in request_log() if line.path == "/api/products/"] == [200, 429]
