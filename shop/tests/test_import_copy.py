"""The PostgreSQL COPY import against the ORM import: the same files give the same rows, counts and rejections.

Each test runs both paths on the same files in one database, the ORM path first, emptying
what it wrote before the COPY path runs, and compares everything a person could notice: the
stored rows (event ids included), the customers and categories created, the report (counts,
rejections by line, warnings), whose activity tokens were bumped, and what --strict left.
"""

from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.core.cache import cache

from shop.activity import customer_activity_key, user_activity_key
from shop.importers import interactions_import, products_import
from shop.models import Category, Customer, Interaction, Product
from shop.tests.factories import CategoryFactory, CustomerFactory, ProductFactory, UserFactory
from shop.tests.test_import_products import csv_file

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="COPY is PostgreSQL's (DATABASE_URL)",
    ),
    pytest.mark.django_db,
]

INTERACTIONS = """\
user_id,product_id,interaction_type,ts
U001,P001,view,2024-03-01T10:00:00Z
U001,P001,click,2024-03-01T10:00:05+00:00
U001,P002,add_to_cart,1709287210
U002,P002,purchase,2024-03-01 11:30:00
U002,P003,view,1709290800.25
U003,P999,view,2024-03-01T10:01:00Z
U004,P002,sneeze,2024-03-01T10:02:00Z
U005,P003,view,yesterday
,P001,view,1709287200
U006,,view,1709287200
U007,P001,view,0
U008,P001,view,2099-01-01T00:00:00Z
U009,P001,view
U001,P001,view,2024-03-01T10:00:00Z
U001,P001,viewed,2024-03-01T12:00:00+02:00
LINKED,P003,BUY,2024-03-02T08:00:00.123456Z
U010,P001,view,2024-03-01T10:00:00Z,extra
U011,P001,CLICKED,1709287200
"""

OVERLAP = """\
user_id,product_id,interaction_type,ts
U001,P001,view,1709287200
U012,P003,purchase,2024-03-03T09:00:00Z
U001,P001,view,2024-03-01T10:00:00Z
"""

PRODUCTS = """\
product_id,title,category,description,price,img_url,currency,stock,is_active,item_group_id
P001,Mirrorless camera,Electronics > Cameras,"24 MP body, with a
second line",499.00,https://img.example/p001.png,eur,3,yes,CAM
P002,Memory card 64GB,Electronics > Storage,Fast SD card,19.99,,,0,false,
P003,Tripod,Electronics > Cameras > Accessories,,35,,,,,
P004,Lens cap,Electronics > Cameras > Accessories,,cheap,,,,,
P005,Mop head,,,4.50,,USD,,,
P001,Camera again,Electronics,,1.00,,,,,
P006,Backslash \\ and tab\t title,Garden > Tools,"quote "" and \\N",7,,,,,
,Nameless,Garden,,1,,,,,
P007,Planter,Garden,,-1,,,,,
P008,Hose,Garden > Tools,,12.5,,usd,12,0,
"""

PRODUCTS_CHANGED = """\
product_id,title,category,description,price,img_url
P001,Mirrorless camera,Electronics > Cameras,"24 MP body, with a
second line",449.00,https://img.example/p001.png
P002,Memory card 64GB,Electronics > Storage,Fast SD card,19.99,
P003,Tripod,Electronics > Cameras > Tripods,,35,
P009,Watering can,Garden,,9,
"""


@pytest.fixture
def catalog():
    category = CategoryFactory(name="Cameras", slug="cameras")
    for product_id in ("P001", "P002", "P003"):
        ProductFactory(product_id=product_id, category=category)


@pytest.fixture
def linked_user():
    """A customer signed in as a user: the import bumps the user's activity token too."""
    user = UserFactory(username="linked")
    CustomerFactory(customer_id="LINKED", user=user)
    return user


def report_seen(report) -> dict:
    return {
        "rows": report.rows,
        "counts": (report.created, report.updated, report.unchanged, report.rejected),
        "rejections": report.rejections,
        "related_created": dict(report.related_created),
        "warnings": dict(report.warnings),
        "rolled_back": report.rolled_back,
    }


def interactions_stored() -> list[tuple]:
    return sorted(
        Interaction.objects.values_list(
            "customer__customer_id", "product__product_id", "kind", "timestamp", "quantity", "context", "event_id"
        )
    )


def activity_keys(user) -> list[str]:
    return [customer_activity_key(f"U{number:03d}") for number in range(1, 13)] + [
        customer_activity_key("LINKED"),
        user_activity_key(user.pk),
    ]


def bumped(keys: list[str]) -> set[str]:
    return {key for key, token in cache.get_many(keys).items() if token}


def run_interaction_imports(imports, *, use_copy, user, capture) -> dict:
    """Run the imports on empty behaviour tables; return what a person would see of them."""
    Interaction.objects.all().delete()
    Customer.objects.exclude(customer_id="LINKED").delete()
    keys = activity_keys(user)
    cache.delete_many(keys)
    reports = []
    with capture(execute=True):
        for path, options in imports:
            reports.append(report_seen(interactions_import(path=path, use_copy=use_copy, **options)))
    return {
        "reports": reports,
        "interactions": interactions_stored(),
        "customers": sorted(Customer.objects.values_list("customer_id", "user__username")),
        "bumped": bumped(keys),
    }


def both_paths(imports, user, capture) -> tuple[dict, dict]:
    orm = run_interaction_imports(imports, use_copy=False, user=user, capture=capture)
    copy = run_interaction_imports(imports, use_copy=True, user=user, capture=capture)
    return orm, copy


def test_interactions_bad_rows_and_repeats_give_the_same_rows_and_rejections(
    tmp_path, catalog, linked_user, django_capture_on_commit_callbacks
):
    path = csv_file(tmp_path, INTERACTIONS)

    orm, copy = both_paths([(path, {})], linked_user, django_capture_on_commit_callbacks)

    assert copy == orm
    assert orm["reports"][0]["counts"] == (9, 0, 0, 9)
    assert sorted(rejection.line for rejection in orm["reports"][0]["rejections"]) == [7, 8, 9, 10, 11, 12, 13, 14, 18]
    assert orm["reports"][0]["related_created"] == {"customers": 3}
    # The repeated view (lines 2 and 15, and line 16 at the same instant) is kept three times, under three ids.
    repeated = [row for row in orm["interactions"] if row[:3] == ("U001", "P001", "view")]
    assert [row[3] for row in repeated] == [datetime(2024, 3, 1, 10, tzinfo=UTC)] * 3
    assert len({row[6] for row in repeated}) == 3
    assert ("LINKED", "P003", "purchase", datetime(2024, 3, 2, 8, 0, 0, 123456, tzinfo=UTC), 1, {}) in [
        row[:6] for row in orm["interactions"]
    ]
    assert orm["bumped"] == {
        *(customer_activity_key(customer_id) for customer_id in ("U001", "U002", "U011", "LINKED")),
        user_activity_key(linked_user.pk),
    }


def test_interactions_reimport_and_an_overlapping_export_give_the_same_counts(
    tmp_path, catalog, linked_user, django_capture_on_commit_callbacks
):
    path = csv_file(tmp_path, INTERACTIONS)
    overlap = csv_file(tmp_path, OVERLAP, name="overlap.csv")

    orm, copy = both_paths(
        [(path, {}), (path, {"chunk_size": 3}), (overlap, {})], linked_user, django_capture_on_commit_callbacks
    )

    assert copy == orm
    assert [report["counts"] for report in orm["reports"]] == [(9, 0, 0, 9), (0, 0, 9, 9), (1, 0, 2, 0)]
    assert [report["related_created"] for report in orm["reports"]] == [{"customers": 3}, {}, {"customers": 1}]


def test_interactions_in_tiny_chunks_give_the_same_rows(tmp_path, catalog, linked_user, django_capture_on_commit_callbacks):
    path = csv_file(tmp_path, INTERACTIONS)

    orm, copy = both_paths([(path, {"chunk_size": 2})], linked_user, django_capture_on_commit_callbacks)

    assert copy == orm
    assert orm["reports"][0]["counts"] == (9, 0, 0, 9)


@pytest.mark.parametrize("chunk_size", [1, 5_000])
def test_interactions_strict_writes_nothing_on_either_path(
    tmp_path, catalog, linked_user, django_capture_on_commit_callbacks, chunk_size
):
    path = csv_file(tmp_path, INTERACTIONS)

    orm, copy = both_paths([(path, {"strict": True, "chunk_size": chunk_size})], linked_user, django_capture_on_commit_callbacks)

    assert copy == orm
    assert orm["reports"][0]["rolled_back"]
    assert orm["reports"][0]["counts"] == (0, 0, 0, 9)
    assert orm["interactions"] == []
    assert orm["customers"] == [("LINKED", "linked")]
    assert orm["bumped"] == set()


def run_product_imports(imports, *, use_copy) -> dict:
    Product.objects.all().delete()
    Category.objects.all().delete()
    reports = [report_seen(products_import(path=path, use_copy=use_copy, **options)) for path, options in imports]
    return {
        "reports": reports,
        "products": sorted(
            Product.objects.values_list(
                "product_id", "title", "category__name", "category__parent__name", "description", "price",
                "currency", "image_url", "stock", "is_active", "item_group_id",
            )
        ),
        "categories": sorted(Category.objects.values_list("name", "slug", "parent__slug")),
    }


def test_products_with_paths_bad_rows_updates_and_reimport_give_the_same_rows(tmp_path):
    path = csv_file(tmp_path, PRODUCTS)
    changed = csv_file(tmp_path, PRODUCTS_CHANGED, name="changed.csv")
    imports = [(path, {}), (path, {"chunk_size": 2}), (changed, {}), (changed, {})]

    orm = run_product_imports(imports, use_copy=False)
    copy = run_product_imports(imports, use_copy=True)

    assert copy == orm
    assert [report["counts"] for report in orm["reports"]] == [(6, 0, 0, 4), (0, 0, 6, 4), (1, 2, 1, 0), (0, 0, 4, 0)]
    assert [rejection.line for rejection in orm["reports"][0]["rejections"]] == [6, 8, 10, 11]
    assert orm["reports"][0]["warnings"] == {"rows without a category filed under 'Uncategorized'": 1}
    products = {row[0]: row for row in orm["products"]}
    assert products["P006"][1:5] == ("Backslash \\ and tab\t title", "Tools", "Garden", 'quote " and \\N')
    assert products["P008"][6:] == ("USD", "", 12, False, "")
    assert products["P001"][5:7] == (449, "EUR")  # columns absent from the second file keep their values


def test_products_strict_writes_nothing_on_either_path(tmp_path):
    path = csv_file(tmp_path, PRODUCTS)

    orm = run_product_imports([(path, {"strict": True, "chunk_size": 1})], use_copy=False)
    copy = run_product_imports([(path, {"strict": True, "chunk_size": 1})], use_copy=True)

    assert copy == orm
    assert orm["reports"][0]["rolled_back"]
    assert (orm["products"], orm["categories"]) == ([], [])


def test_products_updated_at_moves_only_for_changed_rows_on_the_copy_path(tmp_path):
    products_import(path=csv_file(tmp_path, PRODUCTS), use_copy=True)
    before = dict(Product.objects.values_list("product_id", "updated_at"))

    products_import(path=csv_file(tmp_path, PRODUCTS_CHANGED, name="changed.csv"), use_copy=True)

    after = dict(Product.objects.values_list("product_id", "updated_at"))
    assert {product_id for product_id in before if after[product_id] != before[product_id]} == {"P001", "P003"}
