"""An unexpected exception is a 500 in the API's error shape on API paths, Django's HTML page elsewhere."""

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

with_boom_urls = override_settings(ROOT_URLCONF="core.tests.urls_boom")


@pytest.fixture
def client_500():
    return Client(raise_request_exception=False)


@with_boom_urls
@pytest.mark.parametrize("url", ["/api/boom/", "/recommend/boom", "/feedback"])
def test_api_paths_answer_a_500_in_the_api_error_shape(client_500, url):
    response = client_500.get(url)

    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"message", "code", "extra"}
    assert body["code"] == "server_error"
    assert body["extra"] == {"fields": {}}
    assert body["message"] and "secret internal detail" not in body["message"]


@with_boom_urls
@pytest.mark.parametrize("url", ["/boom/", "/apiary/boom/"])
def test_other_paths_answer_django_html_500_page(client_500, url):
    response = client_500.get(url)

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "secret internal detail" not in response.content.decode()


@override_settings(ROOT_URLCONF="config.urls")
def test_the_project_urlconf_names_a_500_handler():
    from django.urls import get_resolver

    from config import urls

    assert getattr(urls, "handler500", None) is not None
    handler = get_resolver("config.urls").resolve_error_handler(500)
    assert handler.__module__.startswith("core.")
