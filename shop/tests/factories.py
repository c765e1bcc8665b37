"""factory_boy factories for the shop's models: tests build the rows they need, nothing more."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from shop.models import Category, Customer, Interaction, Product


class UserFactory(factory.django.DjangoModelFactory):
    """A Django user; `staff=True` for a staff member."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("secret-password")

    class Params:
        staff = factory.Trait(is_staff=True)


class CategoryFactory(factory.django.DjangoModelFactory):
    """A category; pass `parent=` for a sub-category."""

    class Meta:
        model = Category
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.LazyAttribute(lambda category: category.name.lower().replace(" ", "-"))
    parent = None


class ProductFactory(factory.django.DjangoModelFactory):
    """An active product, in stock unless told otherwise."""

    class Meta:
        model = Product

    product_id = factory.Sequence(lambda n: f"P{n:04d}")
    title = factory.Sequence(lambda n: f"Product {n}")
    category = factory.SubFactory(CategoryFactory)
    description = "A fine product."
    price = Decimal("10.00")
    currency = "USD"
    image_url = ""
    stock = 5
    is_active = True


class CustomerFactory(factory.django.DjangoModelFactory):
    """An imported customer such as U0001."""

    class Meta:
        model = Customer
        django_get_or_create = ["customer_id"]

    customer_id = factory.Sequence(lambda n: f"U{n:04d}")


class InteractionFactory(factory.django.DjangoModelFactory):
    """A view of a product by a customer, now."""

    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    product = factory.SubFactory(ProductFactory)
    kind = Interaction.Kind.VIEW
    timestamp = factory.LazyFunction(timezone.now)
    quantity = 1
