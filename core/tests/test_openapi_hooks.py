"""The schema documents the HTTP server's own refusals, which no view can."""

import pytest


@pytest.mark.django_db
def test_every_operation_documents_the_servers_414_and_431(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()

    operations = {
        f"{method.upper()} {path}": operation["responses"]
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }
    assert "GET /api/products/" in operations
    for name, responses in operations.items():
        assert {"414", "431"} <= set(responses), name
        assert "limit_request_line" in responses["414"]["description"], name
        assert "content" not in responses["414"], name  # gunicorn's HTML page, not the API's JSON
