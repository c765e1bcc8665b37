"""Categories whose names repeat under different parents stay apart in every list (the model keys them by slug)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from recommendations.tests.api.conftest import result_ids
from recommendations.services import model_train
from shop.tests.factories import CategoryFactory, CustomerFactory, InteractionFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_accessories():
    """Cameras > Accessories and Computers > Accessories, three products each, every one viewed."""
    now = timezone.now()
    products = {}
    for parent_name in ("Cameras", "Computers"):
        parent = CategoryFactory(name=parent_name, slug=parent_name.lower())
        accessories = CategoryFactory(name="Accessories", slug=f"{parent_name.lower()}-accessories", parent=parent)
        for position in range(3):
            product_id = f"{parent_name[:3].upper()}-ACC{position}"
            products[product_id] = ProductFactory(
                product_id=product_id, title=f"{parent_name} accessory {position}", category=accessories,
            )  # fmt: skip
    for user in range(6):
        customer = CustomerFactory(customer_id=f"A{user}")
        for step, product in enumerate(products.values()):
            InteractionFactory(customer=customer, product=product, kind="view", timestamp=now - timedelta(hours=user + step))
    version = model_train(run_key="accessories", trigger="command")
    assert version.status == "active", version.error
    return products


def test_trending_in_one_accessories_category_lists_only_its_own_products(two_accessories, api_client):
    cameras = result_ids(api_client.get("/api/recommendations/trending/", {"category": "cameras-accessories", "k": 10}))
    computers = result_ids(api_client.get("/api/recommendations/trending/", {"category": "computers-accessories", "k": 10}))

    assert sorted(cameras) == ["CAM-ACC0", "CAM-ACC1", "CAM-ACC2"]
    assert sorted(computers) == ["COM-ACC0", "COM-ACC1", "COM-ACC2"]


def test_a_product_newer_than_the_model_is_filled_from_its_own_accessories(two_accessories, api_client):
    newer = ProductFactory(product_id="CAM-NEW", title="Lens cap", category=two_accessories["CAM-ACC0"].category)

    listed = result_ids(api_client.get(f"/api/recommendations/also-bought/{newer.product_id}/", {"k": 3}))

    assert sorted(listed) == ["CAM-ACC0", "CAM-ACC1", "CAM-ACC2"]
