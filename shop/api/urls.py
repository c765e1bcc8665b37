from django.urls import path

from shop.api import views

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="api-product-list"),
    path("products/<str:product_id>/", views.ProductDetailView.as_view(), name="api-product-detail"),
    path("categories/", views.CategoryListView.as_view(), name="api-category-list"),
    path("interactions/", views.InteractionCreateView.as_view(), name="api-interaction-create"),
    path("checkout/", views.CheckoutView.as_view(), name="api-checkout"),
]
