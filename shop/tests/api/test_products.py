from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from shop.models import Interaction, Product
from shop.tests.factories import CategoryFactory, InteractionFactory, ProductFactory

pytestmark = pytest.mark.django_db

URL = "/api/products/"


def ids(response) -> list[str]:
    return [item["product_id"] for item in response.json()["results"]]


def test_product_list_shows_each_field_of_active_products_only(api_client):
    cameras = CategoryFactory(name="Cameras", slug="cameras")
    ProductFactory(
        product_id="P1",
        title="Pocket camera",
        category=cameras,
        description="Small.",
        price=Decimal("199.90"),
        currency="EUR",
        image_url="/media/p1.svg",
        stock=3,
    )
    ProductFactory(product_id="P2", is_active=False)

    response = api_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    [product] = body["results"]
    created_at = product.pop("created_at")
    assert product == {
        "product_id": "P1",
        "title": "Pocket camera",
        "category": {"slug": "cameras", "name": "Cameras"},
        "description": "Small.",
        "price": "199.90",
        "currency": "EUR",
        "image_url": "/media/p1.svg",
        "in_stock": True,
        "stock": 3,
        "item_group_id": "",
    }
    assert created_at.startswith(str(timezone.now().year))


def test_category_filter_includes_products_of_child_and_grandchild_categories(api_client):
    electronics = CategoryFactory(name="Electronics", slug="electronics")
    cameras = CategoryFactory(name="Cameras", slug="cameras", parent=electronics)
    lenses = CategoryFactory(name="Lenses", slug="lenses", parent=cameras)
    ProductFactory(product_id="E1", category=electronics)
    ProductFactory(product_id="C1", category=cameras)
    ProductFactory(product_id="L1", category=lenses)
    ProductFactory(product_id="G1", category=CategoryFactory(name="Garden", slug="garden"))

    assert sorted(ids(api_client.get(URL, {"category": "electronics"}))) == ["C1", "E1", "L1"]
    assert sorted(ids(api_client.get(URL, {"category": "cameras"}))) == ["C1", "L1"]
    assert ids(api_client.get(URL, {"category": "lenses"})) == ["L1"]


def test_unknown_category_is_a_400_naming_the_parameter(api_client):
    response = api_client.get(URL, {"category": "nope"})

    assert response.status_code == 400
    assert response.json() == {
        "message": "Unknown category 'nope'.",
        "code": "unknown_category",
        "extra": {"fields": {"category": ["Unknown category 'nope'."]}},
    }


def test_price_range_is_inclusive(api_client):
    for product_id, price in [("A", "5.00"), ("B", "10.00"), ("C", "20.00"), ("D", "20.01")]:
        ProductFactory(product_id=product_id, price=Decimal(price))

    assert sorted(ids(api_client.get(URL, {"min_price": "10", "max_price": "20"}))) == ["B", "C"]
    assert sorted(ids(api_client.get(URL, {"min_price": "20.01"}))) == ["D"]
    assert sorted(ids(api_client.get(URL, {"max_price": "5"}))) == ["A"]


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"min_price": "cheap"}, "min_price", "invalid"),
        ({"max_price": "-1"}, "max_price", "min_value"),
        ({"min_price": "30", "max_price": "10"}, "max_price", "invalid"),
        ({"in_stock": "maybe"}, "in_stock", "invalid"),
        ({"ordering": "colour"}, "ordering", "invalid_choice"),
        ({"category": "not a slug!"}, "category", "invalid"),
        ({"page": "two"}, "page", "invalid"),
        ({"page": "0"}, "page", "invalid"),
        ({"page_size": "lots"}, "page_size", "invalid"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(api_client, params, field, code):
    response = api_client.get(URL, params)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert list(body["extra"]["fields"]) == [field]
    assert body["message"].startswith(f"{field}: ")


def test_in_stock_filter_counts_untracked_stock_as_in_stock(api_client):
    ProductFactory(product_id="TRACKED", stock=2)
    ProductFactory(product_id="UNTRACKED", stock=None)
    ProductFactory(product_id="SOLDOUT", stock=0)

    assert sorted(ids(api_client.get(URL, {"in_stock": "true"}))) == ["TRACKED", "UNTRACKED"]
    assert ids(api_client.get(URL, {"in_stock": "false"})) == ["SOLDOUT"]
    assert len(ids(api_client.get(URL))) == 3
    assert api_client.get(URL, {"in_stock": "false"}).json()["results"][0]["in_stock"] is False


def test_search_matches_every_word_in_title_or_description_ignoring_case(api_client):
    ProductFactory(product_id="T", title="Wireless Headphones", description="Over-ear.")
    ProductFactory(product_id="D", title="Speaker", description="A wireless speaker for the garden.")
    ProductFactory(product_id="N", title="Cable", description="Three metres.")

    assert sorted(ids(api_client.get(URL, {"search": "WIRELESS"}))) == ["D", "T"]
    assert ids(api_client.get(URL, {"search": "wireless garden"})) == ["D"]
    assert ids(api_client.get(URL, {"search": "bluetooth"})) == []
    assert len(ids(api_client.get(URL, {"search": "  "}))) == 3


def test_search_and_filters_combine(api_client):
    audio = CategoryFactory(name="Audio", slug="audio")
    ProductFactory(product_id="A1", title="Wireless speaker", category=audio, price=Decimal("50"))
    ProductFactory(product_id="A2", title="Wireless speaker XL", category=audio, price=Decimal("150"))
    ProductFactory(product_id="O1", title="Wireless mouse", price=Decimal("50"))

    response = api_client.get(URL, {"search": "wireless", "category": "audio", "max_price": "100"})

    assert ids(response) == ["A1"]


@pytest.fixture
def three_products():
    now = timezone.now()
    ProductFactory(product_id="B", title="banana", price=Decimal("3.00"))
    ProductFactory(product_id="A", title="apple", price=Decimal("1.00"))
    ProductFactory(product_id="C", title="Cherry", price=Decimal("2.00"))  # capital C still sorts after banana
    for product_id, days_ago in [("A", 3), ("B", 1), ("C", 2)]:
        Product.objects.filter(product_id=product_id).update(created_at=now - timedelta(days=days_ago))


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        (None, ["B", "C", "A"]),
        ("newest", ["B", "C", "A"]),
        ("-created_at", ["B", "C", "A"]),
        ("created_at", ["A", "C", "B"]),
        ("price", ["A", "C", "B"]),
        ("-price", ["B", "C", "A"]),
        ("title", ["A", "B", "C"]),
        ("-title", ["C", "B", "A"]),
    ],
)
def test_ordering(api_client, three_products, ordering, expected):
    params = {"ordering": ordering} if ordering else {}

    response = api_client.get(URL, params)

    assert response.status_code == 200
    assert ids(response) == expected


def test_equal_prices_are_ordered_by_product_id_so_pages_never_overlap(api_client):
    for product_id in ["P3", "P1", "P2"]:
        ProductFactory(product_id=product_id, price=Decimal("5"))

    first = api_client.get(URL, {"ordering": "price", "page_size": 2})
    second = api_client.get(URL, {"ordering": "price", "page_size": 2, "page": 2})

    assert ids(first) + ids(second) == ["P1", "P2", "P3"]


def test_popularity_orders_by_interactions_weighted_by_kind_within_the_window(api_client):
    viewed = ProductFactory(product_id="VIEWED")
    bought = ProductFactory(product_id="BOUGHT")
    stale = ProductFactory(product_id="STALE")
    ProductFactory(product_id="NEVER")
    now = timezone.now()
    for _ in range(5):  # 5 views = 5
        InteractionFactory(product=viewed, kind=Interaction.Kind.VIEW, timestamp=now)
    InteractionFactory(product=bought, kind=Interaction.Kind.PURCHASE, timestamp=now)  # 1 purchase = 8
    for _ in range(20):  # popular long ago, outside the 30-day window
        InteractionFactory(product=stale, kind=Interaction.Kind.PURCHASE, timestamp=now - timedelta(days=45))

    response = api_client.get(URL, {"ordering": "popularity"})

    assert response.status_code == 200
    assert ids(response) == ["BOUGHT", "VIEWED", "NEVER", "STALE"]


def test_popularity_window_ends_at_the_latest_interaction_not_the_clock(api_client):
    old = ProductFactory(product_id="OLD")
    older = ProductFactory(product_id="OLDER")
    year_ago = timezone.now() - timedelta(days=365)
    InteractionFactory(product=old, kind=Interaction.Kind.CLICK, timestamp=year_ago)
    InteractionFactory(product=older, kind=Interaction.Kind.VIEW, timestamp=year_ago - timedelta(days=1))

    assert ids(api_client.get(URL, {"ordering": "popularity"})) == ["OLD", "OLDER"]


def test_popularity_on_a_store_without_interactions_falls_back_to_product_id(api_client):
    ProductFactory(product_id="B")
    ProductFactory(product_id="A")

    assert ids(api_client.get(URL, {"ordering": "popularity"})) == ["A", "B"]


def test_pagination_counts_and_links(api_client):
    for index in range(30):
        ProductFactory(product_id=f"P{index:02d}")

    first = api_client.get(URL, {"ordering": "price"}).json()
    last = api_client.get(URL, {"ordering": "price", "page": 2}).json()

    assert (first["count"], first["page"], first["page_size"], first["num_pages"]) == (30, 1, 24, 2)
    assert len(first["results"]) == 24
    assert first["previous"] is None
    assert first["next"] == "http://testserver/api/products/?ordering=price&page=2"
    assert len(last["results"]) == 6
    assert last["next"] is None
    assert last["previous"] == "http://testserver/api/products/?ordering=price"


def test_page_size_is_capped_at_100(api_client):
    Product.objects.bulk_create(
        [ProductFactory.build(product_id=f"P{index:03d}", category=CategoryFactory(slug="all")) for index in range(105)]
    )

    body = api_client.get(URL, {"page_size": 500}).json()

    assert body["page_size"] == 100
    assert len(body["results"]) == 100
    assert body["count"] == 105
    assert len(api_client.get(URL, {"page_size": 7}).json()["results"]) == 7


def test_page_past_the_end_is_a_404_naming_the_page(api_client):
    ProductFactory()

    response = api_client.get(URL, {"page": 3})

    assert response.status_code == 404
    assert response.json() == {
        "message": "page: Page 3 is past the last page (1).",
        "code": "page_out_of_range",
        "extra": {"fields": {"page": ["Page 3 is past the last page (1)."]}},
    }


def test_an_empty_catalog_has_one_empty_page(api_client):
    body = api_client.get(URL).json()

    assert (body["count"], body["num_pages"], body["results"]) == (0, 1, [])


def test_last_page_alias(api_client):
    for index in range(5):
        ProductFactory(product_id=f"P{index}")

    body = api_client.get(URL, {"page": "last", "page_size": 2, "ordering": "price"}).json()

    assert (body["page"], ids_of(body)) == (3, ["P4"])


def ids_of(body: dict) -> list[str]:
    return [item["product_id"] for item in body["results"]]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"ordering": "popularity"},
        {"ordering": "popularity", "category": "parent", "in_stock": "true", "min_price": "1", "search": "product"},
    ],
)
def test_product_list_query_count_does_not_grow_with_the_page(api_client, django_assert_max_num_queries, params):
    parent = CategoryFactory(name="Parent", slug="parent")
    children = [CategoryFactory(name=f"Child {index}", slug=f"child-{index}", parent=parent) for index in range(3)]
    products = [ProductFactory(category=children[index % 3]) for index in range(40)]
    for product in products[:10]:
        InteractionFactory(product=product)

    # category tree (when filtering), latest interaction (popularity), count, page
    with django_assert_max_num_queries(4):
        response = api_client.get(URL, {**params, "page_size": 40})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 40


def test_product_detail_by_product_id(api_client):
    product = ProductFactory(product_id="SKU-9", title="Kettle")

    response = api_client.get("/api/products/SKU-9/")

    assert response.status_code == 200
    assert response.json()["title"] == "Kettle"
    assert response.json()["category"]["slug"] == product.category.slug


def test_product_detail_never_uses_the_database_pk(api_client):
    product = ProductFactory(product_id="SKU-9")

    response = api_client.get(f"/api/products/{product.pk}/")

    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"


@pytest.mark.parametrize("product_id", ["NOPE", "HIDDEN"])
def test_product_detail_of_unknown_or_inactive_product_is_a_404(api_client, product_id):
    ProductFactory(product_id="HIDDEN", is_active=False)

    response = api_client.get(f"/api/products/{product_id}/")

    assert response.status_code == 404
    assert response.json() == {
        "message": f"Product '{product_id}' not found.",
        "code": "product_not_found",
        "extra": {"fields": {}},
    }


def test_catalog_responses_set_the_csrf_cookie_for_the_storefront(api_client):
    response = api_client.get(URL)

    assert "csrftoken" in response.cookies
    assert "visitor_id" in response.cookies
