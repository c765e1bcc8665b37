"""Give every storefront visitor a stable customer id from a signed cookie."""

from django.conf import settings
from django.core import signing

from shop.models import new_visitor_customer_id

VISITOR_COOKIE_SALT = "shop.visitor"


class VisitorMiddleware:
    """Read the signed visitor cookie, or mint a new id and set the cookie on the response.

    The Customer row is created lazily, the first time the visitor does something worth
    storing, so crawlers and health checks never write to the database.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        cookie_name = settings.VISITOR_COOKIE_NAME
        visitor_id = request.get_signed_cookie(cookie_name, default=None, salt=VISITOR_COOKIE_SALT)
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
