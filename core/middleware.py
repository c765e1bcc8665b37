"""Name every response with an X-Request-ID and log one line per request (logger ``core.requests``)."""

import logging
import re
import time
import uuid

from django.utils.functional import SimpleLazyObject, empty

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy may name a request by: a short token that cannot break a log line or a header.
WELL_FORMED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
CUSTOMER_PARAMETERS = frozenset({"user_id", "customer_id"})
MAX_LOGGED_PATH = 512

logger = logging.getLogger("core.requests")


class RequestLogMiddleware:
    """Give each response its request id, then log method, path, status, duration, request id and customer kind.

    The id is the one a recommendation list names in its body (so a reported list can be
    found in the logs), else the well-formed X-Request-ID a proxy sent, else a new one.
    Nothing identifies the customer beyond their kind, and a path that names a customer is
    logged as its route (``/recommend/user/<str:user_id>``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        upstream = request.META.get("HTTP_X_REQUEST_ID")
        if upstream is not None and not WELL_FORMED_REQUEST_ID.fullmatch(upstream):
            upstream = None

        response = self.get_response(request)

        request_id = listed_request_id(response) or upstream or uuid.uuid4().hex
        response[REQUEST_ID_HEADER] = request_id
        if logger.isEnabledFor(logging.INFO):
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            path = logged_path(request)
            fields = {
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "request_id": request_id,
                "customer_kind": customer_kind(request),
            }
            if upstream is not None and upstream != request_id:
                fields["upstream_request_id"] = upstream
            logger.info(
                "%s %s %s %.1f ms request_id=%s customer=%s",
                request.method, path, response.status_code, duration_ms, request_id, fields["customer_kind"], extra=fields,
            )  # fmt: skip
        return response


def listed_request_id(response) -> str | None:
    """Return the request id a recommendation list's body names (DRF keeps the body as ``data``)."""
    data = getattr(response, "data", None)
    request_id = data.get("request_id") if isinstance(data, dict) else None
    return request_id if isinstance(request_id, str) and request_id else None


def logged_path(request) -> str:
    match = request.resolver_match
    if match is not None and not CUSTOMER_PARAMETERS.isdisjoint(match.kwargs):
        return "/" + match.route
    return request.path[:MAX_LOGGED_PATH]


def customer_kind(request) -> str:
    """Return who made the request: token, staff, signed-in, visitor (a returning cookie) or anonymous.

    The user is read only if something already looked it up: the log line never costs a
    session query of its own.
    """
    if getattr(request, "auth", None) is not None:  # DRF sets it on the request it wraps: the caller's token
        return "token"
    user = getattr(request, "user", None)
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        user = None
    if user is not None and user.is_authenticated:
        return "staff" if user.is_staff else "signed-in"
    if getattr(request, "visitor_is_new", True) is False:
        return "visitor"
    return "anonymous"
