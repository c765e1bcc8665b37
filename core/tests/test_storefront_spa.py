"""The storefront SPA served by Django: index.html for storefront routes, Django's own paths untouched."""

import pytest
from django.test import Client

from config.settings import whitenoise_immutable_file

INDEX = "<!doctype html><html><body><div id=app></div><script src=/static/assets/index-AhMg7uRA.js></script></body></html>"


@pytest.fixture
def built_storefront(settings, tmp_path):
    (tmp_path / "index.html").write_text(INDEX)
    settings.FRONTEND_DIST_DIR = tmp_path
    return tmp_path


@pytest.mark.parametrize("path", ["/", "/catalog?q=lamp&page=2", "/products/P00001", "/cart", "/orders/LM-1", "/no/such/page"])
def test_storefront_routes_answer_with_the_spa_index_and_a_csrf_cookie(client: Client, built_storefront, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response.content.decode() == INDEX
    assert "no-cache" in response["Cache-Control"]
    assert response.cookies["csrftoken"].value


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "status", "content_type"),
    [
        ("/api/no-such-endpoint/", 404, None),
        ("/api/categories/", 200, "application/json"),
        ("/admin/", 302, None),
        ("/images/products/P404.svg", 404, None),
    ],
)
def test_django_paths_never_fall_through_to_the_spa(client: Client, built_storefront, path, status, content_type):
    response = client.get(path)

    assert response.status_code == status
    assert INDEX.encode() not in response.content
    if content_type:
        assert response["Content-Type"].startswith(content_type)


def test_a_rebuilt_index_is_served_without_a_restart(client: Client, built_storefront):
    client.get("/")
    (built_storefront / "index.html").write_text("<!doctype html><p>rebuilt</p>")
    import os

    os.utime(built_storefront / "index.html", (1, 1))

    assert client.get("/").content == b"<!doctype html><p>rebuilt</p>"


def test_an_unbuilt_storefront_says_how_to_build_it(client: Client, settings, tmp_path):
    settings.FRONTEND_DIST_DIR = tmp_path / "missing"

    response = client.get("/")

    assert response.status_code == 503
    assert "make run" in response.content.decode()


def test_only_safe_methods_reach_the_index(client: Client, built_storefront):
    assert client.post("/catalog").status_code in {403, 405}


@pytest.mark.parametrize(
    ("url", "immutable"),
    [
        ("/static/assets/index-AhMg7uRA.js", True),
        ("/static/assets/CartView-CxJE79_-.css", True),
        ("/static/admin/css/base.3f2a9c1b7d4e.css", True),
        ("/static/favicon.svg", False),
        ("/static/index.html", False),
        ("/static/admin/css/base.css", False),
    ],
)
def test_hashed_assets_are_cached_forever(url, immutable):
    assert whitenoise_immutable_file("", url) is immutable
