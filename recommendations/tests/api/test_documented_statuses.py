"""Statuses the recommendation API answers are the ones its schema lists (found by schemathesis as a visitor)."""

import pytest


@pytest.mark.django_db
def test_a_visitor_choosing_a_variant_of_trending_gets_the_403_that_the_schema_documents(api_client):
    response = api_client.get("/api/recommendations/trending/", {"variant": "home-blend:treatment"})

    assert (response.status_code, response.json()["code"]) == (403, "variant_not_allowed")
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    assert "403" in schema["paths"]["/api/recommendations/trending/"]["get"]["responses"]
