from django.urls import path

from shop.images import product_image

urlpatterns = [
    path("images/products/<str:product_id>.svg", product_image, name="product-image"),
]
