from django.urls import path

from recommendations.api import views

urlpatterns = [
    path("recommendations/similar/<str:product_id>/", views.SimilarView.as_view(), name="api-recommendations-similar"),
    path(
        "recommendations/also-bought/<str:product_id>/",
        views.AlsoBoughtView.as_view(),
        name="api-recommendations-also-bought",
    ),
    path("recommendations/for-you/", views.ForYouView.as_view(), name="api-recommendations-for-you"),
    path("recommendations/hybrid/", views.HybridView.as_view(), name="api-recommendations-hybrid"),
    path("recommendations/trending/", views.TrendingView.as_view(), name="api-recommendations-trending"),
    path("health/", views.HealthView.as_view(), name="api-health"),
]
