"""The Flask engine's paths, without trailing slashes as Flask served them."""

from django.urls import path

from recommendations.compat.views import (
    AbRecommendView,
    ContentRecommendView,
    FeedbackView,
    HealthView,
    HybridRecommendView,
    UserRecommendView,
)

urlpatterns = [
    path("recommend/content/<str:product_id>", ContentRecommendView.as_view(), name="compat-recommend-content"),
    path("recommend/user/<str:user_id>", UserRecommendView.as_view(), name="compat-recommend-user"),
    path("recommend/hybrid", HybridRecommendView.as_view(), name="compat-recommend-hybrid"),
    path("recommend/ab", AbRecommendView.as_view(), name="compat-recommend-ab"),
    path("feedback", FeedbackView.as_view(), name="compat-feedback"),
    path("health", HealthView.as_view(), name="compat-health"),
]
