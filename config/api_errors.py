"""One error shape for the whole API: {"message", "code", "extra": {"fields": ...}}.

Messages are for people, codes for programs. Field errors keep DRF's nesting, so an
error in the third item of a posted list reads {"fields": {"2": {"product_id": [...]}}}.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


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


def error_body(message: str, code: str, fields: dict | None = None) -> dict:
    return {"message": message, "code": code, "extra": {"fields": fields or {}}}


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) if str(exc) else None)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, ApiError):
        body = error_body(str(exc.detail), exc.error_code, exc.fields)
    elif isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        if isinstance(detail, list) and any(isinstance(item, dict) for item in detail):
            fields = {str(index): item for index, item in enumerate(detail) if item}
        body = error_body(_first_message(detail) or "Invalid input.", "invalid", fields)
    else:
        detail = exc.detail
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else getattr(exc, "default_code", "error")
        body = error_body(_first_message(detail), code)
    return Response(body, status=response.status_code, headers=_headers(response))


def _headers(response) -> dict:
    return {key: value for key, value in response.items() if key in {"WWW-Authenticate", "Retry-After", "Allow"}}
