from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from shop.api.views import api_not_found
from shop.spa import storefront

admin.site.site_header = "Storefront administration"
admin.site.site_title = "Storefront admin"

# An unhandled exception: the API's JSON error shape on API paths, Django's HTML 500 page elsewhere.
handler500 = "config.error_views.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("api/", include("shop.api.urls")),
    path("api/", include("recommendations.api.urls")),
    path("api/", include("experiments.api.urls")),
    path("", include("recommendations.compat")),
    path("", include("shop.urls")),
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
