"""Catalog responses from the cache: current after every kind of change, shared by every shopper, cheap when warm.

Changes run inside ``django_capture_on_commit_callbacks(execute=True)``: the catalogue version
moves when a write commits, which a test's own transaction never does.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from shop import catalog_cache
from shop.activity import activity_token_new
from shop.catalog_cache import (
    CATALOG_VERSION_KEY,
    catalog_cache_key,
    catalog_refresh_lock_key,
    catalog_version,
    local_catalog_cache,
)
from shop.importers import products_import
from shop.models import Interaction, Product
from shop.tests.factories import CategoryFactory, InteractionFactory, ProductFactory

pytestmark = pytest.mark.django_db

URL = "/api/products/"


@pytest.fixture
def catalog():
    """Electronics > Cameras, and Garden; three products each with a price and tracked stock."""
    electronics = CategoryFactory(name="Electronics", slug="electronics")
    cameras = CategoryFactory(name="Cameras", slug="cameras", parent=electronics)
    garden = CategoryFactory(name="Garden", slug="garden")
    return {
        "electronics": electronics,
        "cameras": cameras,
        "garden": garden,
        "camera": ProductFactory(product_id="CAM", title="Pocket camera", category=cameras, price=Decimal("199.00"), stock=1),
        "tripod": ProductFactory(product_id="TRI", title="Tripod", category=cameras, price=Decimal("35.00"), stock=8),
        "hose": ProductFactory(product_id="HOSE", title="Garden hose", category=garden, price=Decimal("20.00"), stock=4),
    }


def ids(response) -> list[str]:
    return [item["product_id"] for item in response.json()["results"]]


def prices(response) -> dict[str, str]:
    return {item["product_id"]: item["price"] for item in response.json()["results"]}


def as_another_process():
    """Forget what this process holds, as a request served by another worker would find it."""
    local_catalog_cache.clear()


WARM_URLS = [
    f"{URL}?ordering=popularity&page=1&page_size=24",
    f"{URL}?category=electronics&ordering=price",
    f"{URL}CAM/",
    "/api/categories/",
]


@pytest.mark.parametrize("url", WARM_URLS)
@pytest.mark.parametrize("holder", ["this process", "the shared cache"])
def test_a_warm_catalog_request_reads_nothing_from_the_database(api_client, catalog, django_assert_num_queries, url, holder):
    first = api_client.get(url)
    if holder == "the shared cache":
        as_another_process()

    with django_assert_num_queries(0):
        again = api_client.get(url)

    assert first.status_code == again.status_code == 200
    assert again.content == first.content


def test_a_cached_page_is_what_the_json_renderer_writes(api_client, catalog):
    api_client.get(URL, {"ordering": "price"})

    response = api_client.get(URL, {"ordering": "price"})

    assert response["Content-Type"] == "application/json"
    assert response.content == JSONRenderer().render(response.json())


def test_later_pages_and_other_orders_reuse_the_count_of_the_first_page(api_client, django_assert_num_queries):
    for index in range(30):
        ProductFactory(product_id=f"P{index:02d}", category=CategoryFactory(slug="all"))
    api_client.get(URL, {"ordering": "price"})

    with django_assert_num_queries(1):  # the page; the count is the first page's
        second = api_client.get(URL, {"ordering": "price", "page": 2}).json()
    with django_assert_num_queries(1):
        other_order = api_client.get(URL, {"ordering": "-price"}).json()

    assert (second["count"], second["num_pages"], len(second["results"])) == (30, 2, 6)
    assert (other_order["count"], len(other_order["results"])) == (30, 24)


def test_a_price_edited_in_the_admin_shows_on_the_cached_pages(api_client, admin_client, catalog, django_capture_on_commit_callbacks):
    camera = catalog["camera"]
    assert prices(api_client.get(URL))["CAM"] == "199.00"
    assert api_client.get(f"{URL}CAM/").json()["price"] == "199.00"

    with django_capture_on_commit_callbacks(execute=True):
        saved = admin_client.post(
            reverse("admin:shop_product_change", args=[camera.pk]),
            {
                "product_id": "CAM", "title": camera.title, "category": catalog["cameras"].pk, "description": camera.description,
                "image_url": "", "price": "149.00", "currency": "USD", "stock": "1", "is_active": "on",
            },
        )  # fmt: skip

    assert saved.status_code == 302
    assert prices(api_client.get(URL))["CAM"] == "149.00"
    assert api_client.get(f"{URL}CAM/").json()["price"] == "149.00"
    assert prices(api_client.get(URL, {"category": "electronics", "ordering": "price"}))["CAM"] == "149.00"


def test_a_price_saved_by_code_shows_on_the_cached_pages(api_client, catalog, django_capture_on_commit_callbacks):
    api_client.get(URL, {"ordering": "price"})

    with django_capture_on_commit_callbacks(execute=True):
        catalog["hose"].price = Decimal("250.00")
        catalog["hose"].save()

    response = api_client.get(URL, {"ordering": "price"})
    assert ids(response) == ["TRI", "CAM", "HOSE"]
    assert prices(response)["HOSE"] == "250.00"


def test_a_product_deactivated_by_the_admin_action_leaves_the_cached_pages(
    api_client, admin_client, catalog, django_capture_on_commit_callbacks
):
    assert "TRI" in ids(api_client.get(URL))
    assert api_client.get(f"{URL}TRI/").status_code == 200
    counts = {item["slug"]: item["product_count"] for item in api_client.get("/api/categories/").json()}
    assert counts["cameras"] == 2

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("admin:shop_product_changelist"), {"action": "deactivate", "_selected_action": [catalog["tripod"].pk]})

    assert "TRI" not in ids(api_client.get(URL))
    assert api_client.get(f"{URL}TRI/").json()["code"] == "product_not_found"
    counts = {item["slug"]: item["product_count"] for item in api_client.get("/api/categories/").json()}
    assert counts["cameras"] == 1


def test_a_product_sold_out_at_checkout_shows_sold_out_on_the_cached_pages(api_client, catalog, django_capture_on_commit_callbacks):
    assert "CAM" in ids(api_client.get(URL, {"in_stock": "true"}))
    assert api_client.get(f"{URL}CAM/").json()["in_stock"] is True

    with django_capture_on_commit_callbacks(execute=True):
        bought = api_client.post("/api/checkout/", {"lines": [{"product_id": "CAM", "quantity": 1}]}, format="json")

    assert bought.status_code == 201
    assert "CAM" not in ids(api_client.get(URL, {"in_stock": "true"}))
    assert ids(api_client.get(URL, {"in_stock": "false"})) == ["CAM"]
    detail = api_client.get(f"{URL}CAM/").json()
    assert (detail["in_stock"], detail["stock"]) == (False, 0)


def test_a_category_moved_under_another_brings_its_products_to_the_parent_page(
    api_client, catalog, django_capture_on_commit_callbacks
):
    assert sorted(ids(api_client.get(URL, {"category": "electronics"}))) == ["CAM", "TRI"]

    with django_capture_on_commit_callbacks(execute=True):
        catalog["garden"].parent = catalog["electronics"]
        catalog["garden"].save()

    assert sorted(ids(api_client.get(URL, {"category": "electronics"}))) == ["CAM", "HOSE", "TRI"]
    parents = {item["slug"]: item["parent"] for item in api_client.get("/api/categories/").json()}
    assert parents["garden"] == "electronics"


def test_a_bulk_import_shows_on_the_cached_pages(api_client, catalog, tmp_path, django_capture_on_commit_callbacks):
    assert ids(api_client.get(URL, {"ordering": "price"})) == ["HOSE", "TRI", "CAM"]
    path = tmp_path / "products.csv"
    path.write_text(
        "product_id,title,category,description,price,img_url\n"
        "CAM,Pocket camera,Cameras,,19.00,\n"
        "NEW,Watering can,Garden,,5.00,\n"
    )

    with django_capture_on_commit_callbacks(execute=True):
        report = products_import(path=path)

    assert (report.created, report.updated) == (1, 1)
    response = api_client.get(URL, {"ordering": "price"})
    assert ids(response) == ["NEW", "CAM", "HOSE", "TRI"]
    assert prices(response)["CAM"] == "19.00"
    assert api_client.get(f"{URL}NEW/").status_code == 200


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["HOSE", "TRI", "CAM"]),  # newest first
        ({"ordering": "price"}, ["HOSE", "TRI", "CAM"]),
        ({"ordering": "-price"}, ["CAM", "TRI", "HOSE"]),
        ({"ordering": "title"}, ["HOSE", "CAM", "TRI"]),
        ({"category": "cameras", "ordering": "price"}, ["TRI", "CAM"]),
        ({"category": "garden"}, ["HOSE"]),
        ({"min_price": "30"}, ["TRI", "CAM"]),
        ({"search": "camera"}, ["CAM"]),
        ({"ordering": "price", "page_size": 2}, ["HOSE", "TRI"]),
        ({"ordering": "price", "page_size": 2, "page": 2}, ["CAM"]),
        ({"ordering": "price", "page_size": 2, "page": "last"}, ["CAM"]),
    ],
)
def test_each_query_gets_its_own_cached_page(api_client, catalog, params, expected):
    now = timezone.now()
    for days_ago, product_id in enumerate(["HOSE", "TRI", "CAM"]):
        Product.objects.filter(product_id=product_id).update(created_at=now - timedelta(days=days_ago))
    queries = [{}, {"ordering": "price"}, {"ordering": "-price"}, {"ordering": "title"}, {"category": "cameras", "ordering": "price"},
               {"category": "garden"}, {"min_price": "30"}, {"search": "camera"}, {"ordering": "price", "page_size": 2},
               {"ordering": "price", "page_size": 2, "page": 2}]  # fmt: skip
    for query in queries:  # every page cached before the one asked for
        api_client.get(URL, query)

    assert ids(api_client.get(URL, params)) == expected


def test_unknown_parameters_share_the_page_and_stay_in_its_links(api_client, catalog, django_assert_num_queries):
    api_client.get(URL, {"ordering": "price", "page_size": 1})

    with django_assert_num_queries(0):
        tagged = api_client.get(URL, {"ordering": "price", "page_size": 1, "utm_source": "mail"}).json()

    assert [item["product_id"] for item in tagged["results"]] == ["HOSE"]
    assert tagged["next"] == "http://testserver/api/products/?ordering=price&page=2&page_size=1&utm_source=mail"


def test_bad_parameters_are_refused_as_before_once_pages_are_cached(api_client, catalog):
    api_client.get(URL, {"ordering": "price", "page": 1})

    past_the_end = api_client.get(URL, {"ordering": "price", "page": 9})
    unknown_category = api_client.get(URL, {"ordering": "price", "category": "nope"})

    assert (past_the_end.status_code, past_the_end.json()["code"]) == (404, "page_out_of_range")
    assert (unknown_category.status_code, unknown_category.json()["code"]) == (400, "unknown_category")


def test_a_cached_page_is_the_same_for_every_shopper_and_names_none_of_them(api_client, token_client, staff_client, catalog):
    first = api_client.get(URL, {"ordering": "price"})
    visitor_id = first.cookies["visitor_id"].value.split(":")[0]
    newcomer = APIClient()

    answers = [client.get(URL, {"ordering": "price"}) for client in (newcomer, api_client, token_client, staff_client)]

    assert {response.content for response in answers} == {first.content}
    assert visitor_id.encode() not in first.content
    newcomer_cookie = answers[0].cookies["visitor_id"].value
    assert newcomer_cookie.split(":")[0] != visitor_id  # the newcomer got an id of its own with the shared page
    assert "csrftoken" in answers[0].cookies


def test_the_links_of_a_cached_page_name_the_host_that_asked(api_client, catalog, settings):
    settings.ALLOWED_HOSTS = ["shop.example", "www.shop.example"]
    api_client.get(URL, {"ordering": "price", "page_size": 1, "page": 2}, HTTP_HOST="shop.example")

    body = api_client.get(URL, {"ordering": "price", "page_size": 1, "page": 2}, HTTP_HOST="www.shop.example").json()

    assert body["next"] == "http://www.shop.example/api/products/?ordering=price&page=3&page_size=1"
    assert body["previous"] == "http://www.shop.example/api/products/?ordering=price&page_size=1"


@pytest.fixture
def later(monkeypatch):
    """Move the clocks the catalog cache reads forward by some seconds."""
    offset = [0.0]
    monotonic, wall = catalog_cache.clock, catalog_cache.wall_clock
    monkeypatch.setattr(catalog_cache, "clock", lambda: monotonic() + offset[0])
    monkeypatch.setattr(catalog_cache, "wall_clock", lambda: wall() + offset[0])

    def move(seconds: float) -> None:
        offset[0] += seconds

    return move


def test_popularity_pages_follow_new_events_within_the_popularity_window(api_client, catalog, settings, later):
    settings.CATALOG_POPULARITY_SECONDS = 60
    InteractionFactory(product=catalog["hose"], kind=Interaction.Kind.PURCHASE)
    assert ids(api_client.get(URL, {"ordering": "popularity"}))[0] == "HOSE"
    for _ in range(3):
        InteractionFactory(product=catalog["tripod"], kind=Interaction.Kind.PURCHASE)

    within = ids(api_client.get(URL, {"ordering": "popularity"}))
    later(61)
    after = ids(api_client.get(URL, {"ordering": "popularity"}))

    assert within[0] == "HOSE"  # events do not change the catalogue version: the page lives out its minute
    assert after[0] == "TRI"


def test_while_one_request_computes_the_next_page_the_others_answer_with_the_last(api_client, catalog, settings, later):
    settings.CATALOG_POPULARITY_SECONDS = 60
    InteractionFactory(product=catalog["hose"], kind=Interaction.Kind.PURCHASE)
    assert ids(api_client.get(URL, {"ordering": "popularity"}))[0] == "HOSE"
    for _ in range(3):
        InteractionFactory(product=catalog["tripod"], kind=Interaction.Kind.PURCHASE)
    later(61)
    lock = catalog_refresh_lock_key(catalog_cache_key(catalog_version(), "product-page", {"ordering": "popularity"}))
    cache.add(lock, 1, timeout=30)  # another worker has started computing the next page
    as_another_process()

    meanwhile = ids(api_client.get(URL, {"ordering": "popularity"}))
    cache.delete(lock)  # it failed to finish: the lock is gone, the next request computes
    then = ids(api_client.get(URL, {"ordering": "popularity"}))

    assert (meanwhile[0], then[0]) == ("HOSE", "TRI")


def test_another_process_s_change_shows_here_within_the_version_check_interval(api_client, catalog, settings, later):
    settings.CATALOG_VERSION_CHECK_SECONDS = 30
    assert prices(api_client.get(URL))["HOSE"] == "20.00"
    with connection.cursor() as cursor:  # another process's write, and its bump once committed
        cursor.execute("UPDATE shop_product SET price = 21.00 WHERE product_id = 'HOSE'")
    cache.set(CATALOG_VERSION_KEY, activity_token_new(), timeout=None)

    within = prices(api_client.get(URL))["HOSE"]
    later(31)
    after = prices(api_client.get(URL))["HOSE"]

    assert (within, after) == ("20.00", "21.00")


@pytest.mark.services
def test_with_redis_stopped_the_catalog_answers_from_the_database(api_client, catalog, own_redis, redis_server, settings):
    settings.CATALOG_VERSION_CHECK_SECONDS = 0
    assert api_client.get(URL, {"ordering": "price"}).status_code == 200
    redis_server.stop()
    as_another_process()

    responses = [api_client.get(URL, {"ordering": "price"}), api_client.get(f"{URL}TRI/"), api_client.get("/api/categories/")]

    assert [response.status_code for response in responses] == [200, 200, 200]
    assert ids(responses[0]) == ["HOSE", "TRI", "CAM"]
    assert responses[1].json()["price"] == "35.00"


@pytest.mark.services
def test_a_change_made_while_redis_hangs_shows_once_it_answers_again(
    api_client, catalog, own_redis, redis_server, settings, django_capture_on_commit_callbacks
):
    settings.CATALOG_VERSION_CHECK_SECONDS = 0
    settings.CACHE_CIRCUIT_OPEN_SECONDS = 0  # every call tries Redis: the test decides when it answers again
    assert prices(api_client.get(URL))["HOSE"] == "20.00"  # cached in Redis under the current version
    as_another_process()

    redis_server.hang()
    try:
        during = api_client.get(URL)
        with django_capture_on_commit_callbacks(execute=True):  # its bump cannot reach Redis
            catalog["hose"].price = Decimal("24.00")
            catalog["hose"].save()
        changed_during = api_client.get(URL)
    finally:
        redis_server.resume()
    as_another_process()
    after = api_client.get(URL)

    assert (during.status_code, prices(during)["HOSE"]) == (200, "20.00")
    assert (changed_during.status_code, prices(changed_during)["HOSE"]) == (200, "24.00")
    assert prices(after)["HOSE"] == "24.00"  # the page cached before the outage is not served again


def test_a_value_cached_in_another_format_is_never_read(monkeypatch):
    from shop import catalog_cache

    before = catalog_cache.catalog_cache_key("token", "product-page", {"page": "2"})
    monkeypatch.setattr(catalog_cache, "CATALOG_VALUE_FORMAT", catalog_cache.CATALOG_VALUE_FORMAT + 1)

    assert catalog_cache.catalog_cache_key("token", "product-page", {"page": "2"}) != before
