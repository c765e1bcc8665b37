"""The one error shape, {"message", "code", "extra": {"fields"}}, for every kind of failure."""

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions

from core.api_errors import ApiError, api_exception_handler


def handle(exc):
    response = api_exception_handler(exc, {})
    return response.status_code, response.data


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (Http404("No Product matches."), 404, {"message": "No Product matches.", "code": "not_found", "extra": {"fields": {}}}),
        (exceptions.NotFound(), 404, {"message": "Not found.", "code": "not_found", "extra": {"fields": {}}}),
        (
            exceptions.MethodNotAllowed("DELETE"),
            405,
            {"message": 'Method "DELETE" not allowed.', "code": "method_not_allowed", "extra": {"fields": {}}},
        ),
        (
            DjangoPermissionDenied(),
            403,
            {
                "message": "You do not have permission to perform this action.",
                "code": "permission_denied",
                "extra": {"fields": {}},
            },
        ),
        (
            exceptions.ValidationError({"min_price": ["A valid number is required."]}, code="invalid"),
            400,
            {
                "message": "min_price: A valid number is required.",
                "code": "invalid",
                "extra": {"fields": {"min_price": ["A valid number is required."]}},
            },
        ),
        (
            exceptions.ValidationError("Nothing to do."),
            400,
            {"message": "Nothing to do.", "code": "invalid", "extra": {"fields": {"non_field_errors": ["Nothing to do."]}}},
        ),
        (
            DjangoValidationError({"price": ["Must be 0 or more."]}, code="min_value"),
            400,
            {"message": "price: Must be 0 or more.", "code": "invalid", "extra": {"fields": {"price": ["Must be 0 or more."]}}},
        ),
        (
            ApiError("Item 1: customer_id: No.", code="customer_id_not_allowed", fields={"1": {"customer_id": ["No."]}}, status_code=403),
            403,
            {"message": "Item 1: customer_id: No.", "code": "customer_id_not_allowed", "extra": {"fields": {"1": {"customer_id": ["No."]}}}},
        ),
    ],
)
def test_error_shape(exc, status, body):
    assert handle(exc) == (status, body)


def test_list_errors_name_the_first_bad_item_and_count_the_others():
    errors = {
        3: {"kind": [exceptions.ErrorDetail("Bad kind.", code="invalid_choice")]},
        1: {"product_id": [exceptions.ErrorDetail("Unknown product 'X'.", code="unknown_product")]},
    }

    status, body = handle(exceptions.ValidationError(errors))

    assert status == 400
    assert body["message"] == "Item 1: product_id: Unknown product 'X'. (and 1 more item with errors)"
    assert body["code"] == "unknown_product"
    assert list(body["extra"]["fields"]) == ["1", "3"]


def test_drf_older_list_error_format_is_keyed_by_index_too():
    errors = [{}, {"kind": [exceptions.ErrorDetail("Bad kind.", code="invalid_choice")]}]

    _, body = handle(exceptions.ValidationError(errors))

    assert body == {"message": "Item 1: kind: Bad kind.", "code": "invalid_choice", "extra": {"fields": {"1": {"kind": ["Bad kind."]}}}}


def test_an_unexpected_exception_is_left_to_django():
    assert api_exception_handler(RuntimeError("boom"), {}) is None


@pytest.mark.django_db
def test_a_wrong_method_is_a_405_in_the_error_shape(api_client):
    response = api_client.get("/api/interactions/")

    assert response.status_code == 405
    assert response.json() == {"message": 'Method "GET" not allowed.', "code": "method_not_allowed", "extra": {"fields": {}}}
    assert response["Allow"] == "POST, OPTIONS"


@pytest.mark.django_db
def test_an_unauthenticated_token_is_a_401_with_its_challenge(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token nope")

    response = api_client.get("/api/products/")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_an_unknown_api_path_is_a_404_in_the_error_shape(api_client, method):
    response = getattr(api_client, method)("/api/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"message": "No API endpoint at /api/no-such-thing/.", "code": "not_found", "extra": {"fields": {}}}


@pytest.mark.django_db
def test_an_api_path_without_its_slash_is_redirected_to_it(api_client):
    assert api_client.get("/api/products").headers["Location"] == "/api/products/"
    assert api_client.get("/api/nothing", follow=True).json()["code"] == "not_found"
