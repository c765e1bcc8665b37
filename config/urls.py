from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

admin.site.site_header = "Storefront administration"
admin.site.site_title = "Storefront admin"

# An unhandled exception: the API's JSON error shape on API paths, Django's HTML 500 page elsewhere.
handler500 = "core.error_views.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("api/", include("shop.api.urls")),
    path("api/", include("recommendations.api.urls")),
    path("api/", include("experiments.api.urls")),
    path("", include("recommendations.compat.urls")),
    path("", include("shop.urls")),
    # Last: an unknown /api/ path is a JSON 404, every other path a storefront route (the SPA).
    path("", include("core.urls")),
]
