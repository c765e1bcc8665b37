from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from shop.models import Category, Customer, Interaction, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def category():
    return Category.objects.create(name="Cameras", slug="cameras")


@pytest.fixture
def product(category):
    return Product.objects.create(product_id="P001", title="Mirrorless camera", category=category, price=Decimal("499.00"))


def test_negative_price_is_refused_by_the_database(category):
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(product_id="P002", title="Broken", category=category, price=Decimal("-0.01"))
    assert not Product.objects.filter(product_id="P002").exists()


def test_zero_price_is_allowed(category):
    Product.objects.create(product_id="P003", title="Free sticker", category=category, price=Decimal("0"))
    assert Product.objects.get(product_id="P003").price == Decimal("0.00")


def test_product_id_is_unique(product, category):
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(product_id="P001", title="Duplicate", category=category, price=Decimal("1"))


def test_category_slug_is_unique(category):
    with pytest.raises(IntegrityError), transaction.atomic():
        Category.objects.create(name="Cameras again", slug="cameras")


def test_customer_id_is_unique():
    Customer.objects.create(customer_id="U001")
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(customer_id="U001")


def test_interaction_event_id_stores_a_replayed_event_once(product):
    customer = Customer.objects.create(customer_id="U001")
    now = timezone.now()
    Interaction.objects.create(customer=customer, product=product, kind="view", timestamp=now, event_id="e-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Interaction.objects.create(customer=customer, product=product, kind="view", timestamp=now, event_id="e-1")
    assert Interaction.objects.count() == 1


def test_interactions_without_event_id_may_repeat(product):
    customer = Customer.objects.create(customer_id="U001")
    now = timezone.now()
    Interaction.objects.create(customer=customer, product=product, kind="view", timestamp=now)
    Interaction.objects.create(customer=customer, product=product, kind="view", timestamp=now)
    assert Interaction.objects.count() == 2


@pytest.mark.parametrize("field,value", [("quantity", 0), ("kind", "like")])
def test_interaction_constraints_refuse_bad_values(product, field, value):
    customer = Customer.objects.create(customer_id="U001")
    values = {"customer": customer, "product": product, "kind": "view", "timestamp": timezone.now(), field: value}
    with pytest.raises(IntegrityError), transaction.atomic():
        Interaction.objects.create(**values)
    assert Interaction.objects.count() == 0


def test_product_with_interactions_cannot_be_deleted(product):
    from django.db.models import ProtectedError

    customer = Customer.objects.create(customer_id="U001")
    Interaction.objects.create(customer=customer, product=product, kind="purchase", timestamp=timezone.now())
    with pytest.raises(ProtectedError):
        product.delete()


def test_stock_filters(category):
    Product.objects.create(product_id="A", title="Untracked", category=category, price=1)
    Product.objects.create(product_id="B", title="In stock", category=category, price=1, stock=3)
    Product.objects.create(product_id="C", title="Sold out", category=category, price=1, stock=0)
    Product.objects.create(product_id="D", title="Inactive", category=category, price=1, is_active=False)
    assert sorted(Product.objects.in_stock().values_list("product_id", flat=True)) == ["A", "B", "D"]
    assert sorted(Product.objects.available().values_list("product_id", flat=True)) == ["A", "B"]
    assert list(Product.objects.out_of_stock().values_list("product_id", flat=True)) == ["C"]
    assert Product.objects.get(product_id="C").in_stock is False
