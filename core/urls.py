"""The project's fall-through routes, included last: an unknown /api/ path, then the storefront SPA."""

from django.urls import re_path

from core.error_views import api_not_found
from core.spa import storefront

urlpatterns = [
    # Any other /api/ path is a 404 in the API's error shape (a path without its final slash is
    # first redirected to the slashed one by APPEND_SLASH, then lands here if nothing matches).
    re_path(r"^api/(?:.*/)?$", api_not_found),
    # Last: every other path is a storefront route, answered with the SPA's index.html. Django's
    # own prefixes never fall through to it, so an unknown /api/... stays a JSON 404.
    re_path(
        r"^(?!(?:api|admin|static|media|images|recommend)(?:/|$)|(?:feedback|health)/?$)(?P<path>.*)$",
        storefront,
        name="storefront",
    ),
]
