"""Statuses the experiments API answers are the ones its schema lists (found by schemathesis as a visitor)."""

import pytest

BAD_TOKEN = {"HTTP_AUTHORIZATION": "Token nope"}
OPERATIONS = [
    ("get", "/api/experiments/"),
    ("post", "/api/experiments/"),
    ("get", "/api/experiments/{key}/"),
    ("patch", "/api/experiments/{key}/"),
    ("post", "/api/experiments/{key}/start/"),
    ("post", "/api/experiments/{key}/pause/"),
    ("post", "/api/experiments/{key}/stop/"),
    ("get", "/api/experiments/{key}/results/"),
    ("post", "/api/impressions/"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_a_bad_token_is_a_401_that_the_schema_documents(api_client, method, path):
    response = api_client.generic(method.upper(), path.format(key="home-blend"), "{}", content_type="application/json", **BAD_TOKEN)

    assert (response.status_code, response.json()["code"]) == (401, "authentication_failed")
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    assert "401" in schema["paths"][path][method]["responses"]
