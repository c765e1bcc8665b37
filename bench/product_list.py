"""Time GET /api/products/ on a store of a given size (a benchmark, not a test).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/storefront_api \
        .venv/bin/python bench/product_list.py --products 5000 --interactions 150000

It fills an empty database with a synthetic store (skewed popularity, 90 days of events),
or reuses the store already there with --reuse, vacuums it (PostgreSQL), then prints the median and worst time of
each request over --repeat runs, measured through Django's test client (routing, query,
serialisation and rendering included). Each timed request finds a new catalogue version, so it
is answered from the database, not from the catalog cache (shop.catalog_cache).
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

REQUESTS = [
    "/api/products/",
    "/api/products/?ordering=price",
    "/api/products/?ordering=-title",
    "/api/products/?ordering=popularity",
    "/api/products/?ordering=popularity&page=50",
    "/api/products/?ordering=popularity&page_size=100",
    "/api/products/?category={parent}&ordering=popularity",
    "/api/products/?category={child}&min_price=10&max_price=200&in_stock=true",
    "/api/products/?search=wireless",
    "/api/products/?search=wireless&ordering=popularity",
    "/api/products/{product_id}/",
    "/api/categories/",
]


def fill(*, products: int, customers: int, interactions: int, seed: int) -> None:
    from django.utils import timezone
    from django.utils.text import slugify

    from shop.models import Category, Customer, Interaction, Product

    rng = random.Random(seed)
    parents = [Category.objects.create(name=name, slug=slugify(name)) for name in ("Electronics", "Home", "Outdoor", "Fashion")]
    children = []
    for parent in parents:
        for index in range(4):
            name = f"{parent.name} {['Basics', 'Pro', 'Kids', 'Sale'][index]}"
            children.append(Category.objects.create(name=name, slug=slugify(name), parent=parent))
    words = "wireless compact steel cotton smart portable classic premium outdoor travel mini ultra".split()
    kinds = "camera lamp jacket kettle speaker tent chair headphones backpack watch blender drill".split()
    Product.objects.bulk_create(
        [
            Product(
                product_id=f"P{index:06d}",
                title=f"{rng.choice(words).title()} {rng.choice(words)} {rng.choice(kinds)} {index}",
                category=rng.choice(children),
                description=" ".join(rng.choice(words + kinds) for _ in range(30)),
                price=Decimal(rng.randint(100, 100_000)) / 100,
                stock=rng.choice([None, 0, 5, 50]),
                is_active=rng.random() > 0.02,
            )
            for index in range(products)
        ],
        batch_size=2000,
    )
    Customer.objects.bulk_create([Customer(customer_id=f"U{index:06d}") for index in range(customers)], batch_size=2000)
    product_pks = list(Product.objects.values_list("pk", flat=True))
    customer_pks = list(Customer.objects.values_list("pk", flat=True))
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(product_pks))]  # a Zipf-like popularity skew
    now = timezone.now()
    batch = []
    for product_pk in rng.choices(product_pks, weights=weights, k=interactions):
        batch.append(
            Interaction(
                customer_id=rng.choice(customer_pks),
                product_id=product_pk,
                kind=rng.choices(["view", "click", "add_to_cart", "purchase"], weights=[60, 25, 10, 5])[0],
                timestamp=now - timedelta(seconds=rng.randint(0, 90 * 86400)),
            )
        )
        if len(batch) == 10_000:
            Interaction.objects.bulk_create(batch)
            batch = []
    Interaction.objects.bulk_create(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--interactions", type=int, default=150_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="time the store already in the database")
    options = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY_FILE", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".secret_key"))
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from shop.catalog_cache import catalog_version_bump
    from shop.models import Category, Interaction, Product

    settings.ALLOWED_HOSTS = ["*"]
    if not options.reuse:
        if Product.objects.exists():
            sys.exit("The database already holds products: pass --reuse to time them, or point DATABASE_URL elsewhere.")
        started = time.perf_counter()
        fill(products=options.products, customers=options.customers, interactions=options.interactions, seed=options.seed)
        print(f"filled in {time.perf_counter() - started:.1f}s")
    if connection.vendor == "postgresql":
        # The steady state autovacuum keeps a live database in: statistics, and a visibility map
        # that lets popularity read the (product, timestamp, kind) index without the table.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(f"{connection.vendor}: {Product.objects.count()} products, {Interaction.objects.count()} interactions")

    parent = Category.objects.filter(parent__isnull=True, children__isnull=False).first()
    child = Category.objects.filter(parent__isnull=False).first()
    product = Product.objects.active().order_by("product_id").first()
    client = Client()
    for template in REQUESTS:
        url = template.format(parent=parent.slug, child=child.slug, product_id=product.product_id)
        client.get(url)  # warm up
        times = []
        for _ in range(options.repeat):
            catalog_version_bump()
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code, response.content[:300])
        print(f"{statistics.median(times):7.1f} ms median {max(times):7.1f} ms worst  {url}")


if __name__ == "__main__":
    main()
