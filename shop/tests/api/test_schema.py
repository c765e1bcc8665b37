"""The OpenAPI schema is valid and documented, and the docs page serves its assets locally."""

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command


def test_the_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    schema = (tmp_path / "schema.yaml").read_text()
    assert "/api/interactions/:" in schema
    assert "/api/products/{product_id}/:" in schema


@pytest.mark.django_db
def test_schema_documents_the_error_responses(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()

    products = schema["paths"]["/api/products/"]["get"]["responses"]
    interactions = schema["paths"]["/api/interactions/"]["post"]["responses"]
    assert set(products) == {"200", "400", "401", "404", "414", "429", "431"}
    assert set(interactions) == {"201", "400", "401", "403", "413", "414", "429", "431"}
    error = {"$ref": "#/components/schemas/Error"}
    assert products["400"]["content"]["application/json"]["schema"] == error
    assert schema["paths"]["/api/products/{product_id}/"]["get"]["responses"]["404"]["content"]["application/json"]["schema"] == error
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"message", "code", "extra"}


@pytest.mark.django_db
def test_the_docs_page_uses_assets_served_by_this_site(api_client):
    response = api_client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
