import pytest

from shop.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_categories_list_parents_and_active_product_counts(api_client, django_assert_max_num_queries):
    electronics = CategoryFactory(name="Electronics", slug="electronics")
    cameras = CategoryFactory(name="Cameras", slug="cameras", parent=electronics)
    lenses = CategoryFactory(name="Lenses", slug="lenses", parent=cameras)
    CategoryFactory(name="Garden", slug="garden")
    ProductFactory(category=electronics)
    ProductFactory(category=cameras)
    ProductFactory(category=cameras)
    ProductFactory(category=cameras, is_active=False)
    ProductFactory(category=lenses, stock=0)  # out of stock still counts: it is listed

    with django_assert_max_num_queries(1):
        response = api_client.get("/api/categories/")

    assert response.status_code == 200
    assert response.json() == [
        {"slug": "cameras", "name": "Cameras", "parent": "electronics", "product_count": 3, "direct_product_count": 2},
        {"slug": "electronics", "name": "Electronics", "parent": None, "product_count": 4, "direct_product_count": 1},
        {"slug": "garden", "name": "Garden", "parent": None, "product_count": 0, "direct_product_count": 0},
        {"slug": "lenses", "name": "Lenses", "parent": "cameras", "product_count": 1, "direct_product_count": 1},
    ]


def test_category_product_count_matches_the_filtered_product_list(api_client):
    parent = CategoryFactory(name="Home", slug="home")
    child = CategoryFactory(name="Kitchen", slug="kitchen", parent=parent)
    ProductFactory(category=parent)
    ProductFactory(category=child)
    ProductFactory(category=child, is_active=False)

    counts = {item["slug"]: item["product_count"] for item in api_client.get("/api/categories/").json()}

    for slug, count in counts.items():
        assert api_client.get("/api/products/", {"category": slug}).json()["count"] == count


def test_a_parent_cycle_made_in_the_admin_does_not_hang_the_api(api_client):
    first = CategoryFactory(name="First", slug="first")
    second = CategoryFactory(name="Second", slug="second", parent=first)
    first.parent = second
    first.save()
    ProductFactory(category=first)

    categories = api_client.get("/api/categories/").json()
    products = api_client.get("/api/products/", {"category": "second"}).json()

    assert [item["product_count"] for item in categories] == [1, 1]
    assert products["count"] == 1
