"""GET /api/health/: every dependency's state; 503 only when the database is unreachable."""

import pytest
from django.db import OperationalError, connection

pytestmark = pytest.mark.django_db

URL = "/api/health/"


def test_health_reports_every_dependency_and_the_active_model(active_model, api_client):
    api_client.get("/api/recommendations/trending/")  # this process loads the model

    response = api_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "database", "cache", "broker", "model", "checked_at"}
    assert body["database"] == {"status": "ok", "error": ""}
    assert body["cache"] == {"status": "ok", "error": ""}
    assert body["broker"]["status"] in {"ok", "not_configured"}
    assert body["status"] == "ok"
    model = body["model"]
    assert (model["status"], model["version"], model["loaded_version"]) == ("ok", active_model.pk, active_model.pk)
    assert 0 <= model["age_seconds"] < 3600
    assert response["Cache-Control"] == "no-store"


def test_health_without_a_model_is_degraded_but_up(db, api_client):
    response = api_client.get(URL)

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["model"] == {
        "status": "missing", "version": None, "activated_at": None, "age_seconds": None, "loaded_version": None,
    }  # fmt: skip


def test_health_is_503_when_the_database_is_unreachable(db, api_client, monkeypatch):
    def refuse():
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "ensure_connection", refuse)

    response = api_client.get(URL)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == {"status": "unavailable", "error": "OperationalError"}
    assert body["model"]["status"] == "unknown"


def test_an_unreachable_broker_degrades_health(db, api_client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    body = api_client.get(URL).json()

    assert body["broker"] == {"status": "unavailable", "error": "OperationalError"}
    assert body["status"] == "degraded"


@pytest.mark.services
def test_health_reaches_the_real_broker(db, api_client):
    assert api_client.get(URL).json()["broker"] == {"status": "ok", "error": ""}
