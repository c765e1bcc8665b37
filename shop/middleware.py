"""Give every storefront visitor a stable customer id from a signed cookie."""

from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

from shop.models import new_visitor_customer_id

VISITOR_COOKIE_SALT = "shop.visitor"


@lru_cache(maxsize=8192)
def visitor_id_from_cookie(cookie_name: str, value: str) -> str | None:
    """Return the visitor id a signed cookie value carries, None when it is forged or damaged.

    The check is a pure function of the value and the secret key (the cookie carries no
    expiry of its own), so returning visitors' values are verified once per process.
    """
    carrier = HttpRequest()
    carrier.COOKIES[cookie_name] = value
    return carrier.get_signed_cookie(cookie_name, default=None, salt=VISITOR_COOKIE_SALT)


class VisitorMiddleware:
    """Read the signed visitor cookie, or mint a new id and set the cookie on the response.

    The Customer row is created lazily, the first time the visitor does something worth
    storing, so crawlers and health checks never write to the database.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        cookie_name = settings.VISITOR_COOKIE_NAME
        cookie = request.COOKIES.get(cookie_name)
        visitor_id = visitor_id_from_cookie(cookie_name, cookie) if cookie else None
        is_new = visitor_id is None
        request.visitor_id = visitor_id or new_visitor_customer_id()
        request.visitor_is_new = is_new  # an id minted now names no customer yet

        response = self.get_response(request)

        if is_new:
            response.set_signed_cookie(
                cookie_name,
                request.visitor_id,
                salt=VISITOR_COOKIE_SALT,
                max_age=settings.VISITOR_COOKIE_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=request.is_secure(),
            )
        return response
