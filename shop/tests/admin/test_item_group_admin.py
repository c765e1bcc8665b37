"""Staff find a product's variants in the admin: a filter for grouped products and search by group id."""

import pytest
from django.urls import reverse

from shop.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("groups-admin", "groups@example.com", "pw"))
    return client


def listed(response) -> set[str]:
    return {product_id for product_id in ("BG3", "BG8", "CHESS") if f">{product_id}<" in response.content.decode()}


def test_the_variant_filter_and_the_search_find_a_groups_products(staff_client):
    ProductFactory(product_id="BG3", item_group_id="BOARDGAME")
    ProductFactory(product_id="BG8", item_group_id="BOARDGAME")
    ProductFactory(product_id="CHESS")
    changelist = reverse("admin:shop_product_changelist")

    assert listed(staff_client.get(changelist, {"variant": "grouped"})) == {"BG3", "BG8"}
    assert listed(staff_client.get(changelist, {"variant": "single"})) == {"CHESS"}
    assert listed(staff_client.get(changelist, {"q": "BOARDGAME"})) == {"BG3", "BG8"}
