"""One error shape for the whole API: {"message", "code", "extra": {"fields": ...}}.

Messages are for people, codes for programs. Field errors keep DRF's nesting, so an
error in the third item of a posted list reads {"fields": {"2": {"product_id": [...]}}}
and its message "Item 2: product_id: ...". For a validation error the code is the code of
the first field error (`required`, `invalid`, `invalid_choice`, `unknown_product`, ...).
"""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error raised by a service with its own code and optional field errors."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None, status_code: int | None = None):
        super().__init__(detail=message, code=code or self.default_code)
        self.error_code = code or self.default_code
        self.fields = fields or {}
        if status_code is not None:
            self.status_code = status_code


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "fields": {
                "type": "object",
                "additionalProperties": {},
                "description": "Messages by parameter or field name; for a posted list, by item index and then field "
                'name, e.g. {"2": {"product_id": ["Unknown product \'P999\'."]}}.',
            }
        },
        "required": ["fields"],
    }
)
class ErrorExtraField(serializers.JSONField):
    """The `extra` member of an error body, documented for the schema."""


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    message = serializers.CharField(help_text="For people: what went wrong, naming the parameter or item.")
    code = serializers.CharField(help_text="For programs: a stable code such as not_found, invalid_choice, unknown_product.")
    extra = ErrorExtraField()


def openapi_error(description: str) -> OpenApiResponse:
    """Document an error response: this shape, with what the status means for the endpoint."""
    return OpenApiResponse(ErrorSerializer, description=description)


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = _first_message(value)
            if message:
                return message if key == "non_field_errors" else f"{key}: {message}"
    if isinstance(detail, list):
        for value in detail:
            message = _first_message(value)
            if message:
                return message
        return ""
    return str(detail)


def _first_code(detail) -> str | None:
    if isinstance(detail, dict):
        detail = list(detail.values())
    if isinstance(detail, list):
        for value in detail:
            code = _first_code(value)
            if code:
                return code
        return None
    return getattr(detail, "code", None)


def _items_message(fields: dict) -> str:
    """Name the first bad item of a posted list, and how many others are bad."""
    index, errors = next(iter(fields.items()))
    message = f"Item {index}: {_first_message(errors)}"
    others = len(fields) - 1
    if others:
        message += f" (and {others} more item{'s' if others > 1 else ''} with errors)"
    return message


def error_body(message: str, code: str, fields: dict | None = None) -> dict:
    return {"message": message, "code": code, "extra": {"fields": fields or {}}}


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) if str(exc) else None)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(serializers.as_serializer_error(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = ApiError(
            "The request body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE allows.", code="request_too_large", status_code=413
        )
    elif isinstance(exc, (OperationalError, InterfaceError)):
        # The database is down or unreachable: a retryable 503 in the API's shape, not Django's HTML 500 page.
        logger.error("Database unavailable during %s", context.get("request").path if context.get("request") else "?", exc_info=exc)
        exc = ApiError("The database is unavailable; try again shortly.", code="database_unavailable", status_code=503)

    response = exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, ApiError):
        body = error_body(str(exc.detail), exc.error_code, exc.fields)
    elif isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        code = _first_code(detail) or "invalid"
        if isinstance(detail, list) and any(isinstance(item, dict) for item in detail):
            detail = {index: item for index, item in enumerate(detail) if item}  # DRF's older list error format
        if isinstance(detail, dict) and detail and all(isinstance(key, int) for key in detail):
            fields = {str(index): item for index, item in sorted(detail.items())}  # errors of a posted list, by index
            code = _first_code(fields) or "invalid"
            message = _items_message(fields)
        else:
            fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
            message = _first_message(detail)
        body = error_body(message or "Invalid input.", code, fields)
    else:
        detail = exc.detail
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else getattr(exc, "default_code", "error")
        body = error_body(_first_message(detail), code)
    return Response(body, status=response.status_code, headers=_headers(response))


def _headers(response) -> dict:
    return {key: value for key, value in response.items() if key in {"WWW-Authenticate", "Retry-After", "Allow"}}
