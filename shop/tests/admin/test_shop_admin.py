import pytest
from django.urls import reverse
from django.utils import timezone

from shop.models import Interaction
from shop.tests.factories import CategoryFactory, CustomerFactory, InteractionFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-123"))
    return client


@pytest.fixture
def store():
    cameras = CategoryFactory(name="Cameras", slug="cameras")
    camera = ProductFactory(product_id="P001", title="Mirrorless camera", category=cameras, stock=0)
    ProductFactory(product_id="P002", title="Tripod", category=cameras)
    InteractionFactory(customer=CustomerFactory(customer_id="U001"), product=camera, kind="purchase",
                       timestamp=timezone.now(), context={"placement": "similar"})
    return camera


@pytest.mark.parametrize("model", ["category", "product", "customer", "interaction"])
def test_changelists_render_with_search_and_filters(staff_client, store, model):
    response = staff_client.get(reverse(f"admin:shop_{model}_changelist"), {"q": "P001"})
    assert response.status_code == 200


def test_product_search_and_stock_filter(staff_client, store):
    body = staff_client.get(reverse("admin:shop_product_changelist"), {"stock_state": "out"}).content.decode()
    assert "Mirrorless camera" in body and "Tripod" not in body


def test_interactions_are_read_only(staff_client, store):
    interaction = Interaction.objects.get()
    assert staff_client.get(reverse("admin:shop_interaction_add")).status_code == 403
    page = staff_client.get(reverse("admin:shop_interaction_change", args=[interaction.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    listing = staff_client.get(reverse("admin:shop_interaction_changelist")).content.decode()
    assert "similar" in listing  # placement column from the context


def test_deactivate_action_hides_products(staff_client, store):
    staff_client.post(reverse("admin:shop_product_changelist"), {"action": "deactivate", "_selected_action": [store.pk]})
    store.refresh_from_db()
    assert store.is_active is False
