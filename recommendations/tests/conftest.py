from datetime import timedelta

import pytest
from django.utils import timezone

from shop.tests.factories import CategoryFactory, CustomerFactory, InteractionFactory, ProductFactory

TEXTS = {
    "cameras": ["Mirrorless camera 24MP", "Compact camera zoom lens", "Action camera waterproof", "DSLR camera body"],
    "memory": ["SD memory card 64GB", "SD memory card 128GB", "microSD memory card 256GB", "CFexpress memory card"],
    "books": ["Crime novel paperback", "Fantasy novel hardcover", "Cookbook vegetarian", "History of Rome book"],
}


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Model artifacts go to a fresh directory per test."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def celery_eager():
    """Run tasks in-process for tests about their callers, whatever broker the environment names."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous


@pytest.fixture
def small_store():
    """Twelve products in three categories; camera buyers also buy memory cards, readers buy books.

    132 interactions: six camera customers with 14 events each, six readers with 8 each.
    """
    products = {}
    for slug, titles in TEXTS.items():
        category = CategoryFactory(name=slug.title(), slug=slug)
        for position, title in enumerate(titles):
            product = ProductFactory(product_id=f"{slug[:3].upper()}{position}", title=title, category=category,
                                     description=f"{title}. A {slug} product.")
            products[product.product_id] = product
    start = timezone.now() - timedelta(days=20)
    for user in range(12):
        customer = CustomerFactory(customer_id=f"U{user:02d}")
        if user % 2 == 0:
            basket, later = ["CAM0", "MEM0", "CAM1", "MEM1"], ["CAM2", "MEM2"]
        else:
            basket, later = ["BOO0", "BOO1"], ["BOO2", "BOO3"]
        for step, product_id in enumerate(basket[user % 2:] + basket[: user % 2]):
            for kind in ("view", "click", "purchase"):
                InteractionFactory(customer=customer, product=products[product_id], kind=kind,
                                   timestamp=start + timedelta(days=step, hours=user))
        # Late purchases of products new to the customer: the test part of a time split.
        for step, product_id in enumerate(later, start=10):
            InteractionFactory(customer=customer, product=products[product_id], kind="purchase",
                               timestamp=start + timedelta(days=step, hours=user))
    return products
