"""How API callers are identified, and the CSRF rule for storefront visitors."""

from django.middleware.csrf import get_token
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.request import Request

from core.api_errors import ApiError


class VisitorSessionAuthentication(SessionAuthentication):
    """Session authentication that also asks anonymous, cookie-identified visitors for the CSRF token.

    DRF checks CSRF only for signed-in users. An anonymous storefront visitor is identified by
    the signed visitor cookie, which a browser attaches on its own, so an unsafe request on
    the visitor's behalf needs the same proof that it came from the storefront's own pages:
    the `csrftoken` cookie echoed in the `X-CSRFToken` header. A failed check answers 403
    `csrf_failed` and sets a fresh `csrftoken` cookie, so the client can retry at once.
    """

    def authenticate(self, request: Request):
        result = super().authenticate(request)
        if result is None:
            self.enforce_csrf(request)
        return result

    def enforce_csrf(self, request: Request) -> None:
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            get_token(request._request)  # the response now sets the csrftoken cookie for the retry
            raise ApiError(str(exc.detail), code="csrf_failed", status_code=403) from exc


# Token first: a bad token is then a 401 with its `WWW-Authenticate: Token` challenge, not a 403.
CATALOG_AUTHENTICATION = [TokenAuthentication, SessionAuthentication]
EVENTS_AUTHENTICATION = [TokenAuthentication, VisitorSessionAuthentication]


def caller_may_name_customers(request: Request) -> bool:
    """Whether the caller may write events for any customer: an API-token client or a staff session."""
    if isinstance(request.successful_authenticator, TokenAuthentication):
        return True
    return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class VisitorSessionScheme(OpenApiAuthenticationExtension):
    """Document VisitorSessionAuthentication as the session cookie it is."""

    target_class = VisitorSessionAuthentication
    name = "visitorCookieAuth"

    def get_security_definition(self, auto_schema):
        from django.conf import settings

        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": f"The session or the `{settings.VISITOR_COOKIE_NAME}` cookie, with the `csrftoken` "
            "cookie's value sent in the X-CSRFToken header.",
        }
