"""Each process loads the active model once, follows activations, and falls back when there is none."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from recommendations import serving
from recommendations.models import ModelVersion
from recommendations.tests.api.conftest import result_ids
from shop.models import Interaction, Product

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/recommendations/similar/CAM0/",
    "/api/recommendations/also-bought/CAM0/",
    "/api/recommendations/for-you/",
    "/api/recommendations/hybrid/?product_id=CAM0",
    "/api/recommendations/trending/",
    "/api/recommendations/trending/?category=books",
]


@pytest.mark.parametrize("url", LISTS)
def test_without_an_active_model_every_list_falls_back_to_popular_products(small_store, api_client, url):
    response = api_client.get(url)

    assert response.status_code == 200
    body = response.json()
    assert (body["strategy"], body["model_version"], body["source"]) == ("popular", None, "model")
    assert body["results"]
    if "CAM0" in url:
        assert "CAM0" not in result_ids(response)
    assert api_client.get(url).json()["source"] == "cache"


def test_the_popular_fallback_ranks_by_recent_weighted_events_within_the_category(small_store, api_client):
    ranked = result_ids(api_client.get("/api/recommendations/similar/BOO0/", {"k": 3}))
    body = api_client.get("/api/recommendations/trending/", {"category": "books"}).json()

    assert set(ranked) == {"BOO1", "BOO2", "BOO3"}
    assert {item["reason"] for item in body["results"]} == {"Popular in Books"}
    scores = [item["score"] for item in body["results"]]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0


def test_without_a_model_or_any_interaction_the_newest_products_come_first(small_store, api_client):
    Interaction.objects.all().delete()
    Product.objects.filter(product_id="MEM3").update(created_at=timezone.now() + timedelta(hours=1))

    response = api_client.get("/api/recommendations/trending/", {"k": 1})

    assert result_ids(response) == ["MEM3"]


def test_without_a_model_unknown_products_are_still_404(small_store, api_client):
    assert api_client.get("/api/recommendations/similar/NOPE/").status_code == 404
    assert api_client.get("/api/recommendations/for-you/", {"product_id": "NOPE"}).status_code == 404


def test_an_artifact_that_cannot_be_read_leaves_the_fallback_serving(small_store, api_client, monkeypatch):
    logged = []
    monkeypatch.setattr(serving.logger, "exception", lambda message, *args: logged.append(message % args))
    version = ModelVersion.objects.create(run_key="broken", status=ModelVersion.Status.ACTIVE, artifact="models/missing.npz")

    response = api_client.get("/api/recommendations/similar/CAM0/")

    assert response.status_code == 200
    assert response.json()["strategy"] == "popular"
    assert logged == [f"Could not load model v{version.pk} (models/missing.npz); still serving the fallback"]


def test_a_broken_new_version_keeps_the_previous_model_serving(active_model, api_client):
    assert api_client.get("/api/recommendations/trending/").json()["model_version"] == active_model.pk
    ModelVersion.objects.filter(pk=active_model.pk).update(status=ModelVersion.Status.RETIRED)
    ModelVersion.objects.create(run_key="broken", status=ModelVersion.Status.ACTIVE, artifact="models/missing.npz")

    response = api_client.get("/api/recommendations/trending/")

    assert response.status_code == 200
    assert response.json()["model_version"] == active_model.pk


def test_the_model_is_loaded_once_per_process_however_many_threads_ask(active_model, settings, monkeypatch):
    settings.RECOMMENDATION_MODEL_CHECK_SECONDS = 60
    pointer = serving.active_version_pointer()
    loaded = serving.serving_model_load(pointer)  # here: test data is not visible to other threads' connections
    loads = []
    release = threading.Event()

    def slow_load(pointer):
        loads.append(pointer.version_id)
        release.wait(5)
        return loaded

    monkeypatch.setattr(serving, "active_version_pointer", lambda: pointer)
    monkeypatch.setattr(serving, "serving_model_load", slow_load)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(serving.serving_model())) for _ in range(8)]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(timeout=30)

    assert loads == [active_model.pk]
    assert len(seen) == 8 and all(model is seen[0] and model.version_id == active_model.pk for model in seen)


def test_while_one_thread_loads_a_new_version_the_others_keep_serving_the_old_one(active_model, settings, monkeypatch):
    settings.RECOMMENDATION_MODEL_CHECK_SECONDS = 5
    now = [0.0]
    monkeypatch.setattr(serving, "clock", lambda: now[0])
    old = serving.serving_model()
    loading, release = threading.Event(), threading.Event()
    newer = serving.ActiveVersionPointer(version_id=old.version_id + 1, artifact_name=serving.active_version_pointer().artifact_name,
                                         activated_at=None, exclude_purchased=True)  # fmt: skip
    newer_model = serving.serving_model_load(newer)

    def slow_load(pointer):
        loading.set()
        release.wait(5)
        return newer_model

    monkeypatch.setattr(serving, "active_version_pointer", lambda: newer)
    monkeypatch.setattr(serving, "serving_model_load", slow_load)
    now[0] += 10
    loader = threading.Thread(target=serving.serving_model)
    loader.start()
    assert loading.wait(5)
    served_meanwhile = serving.serving_model()
    release.set()
    loader.join(timeout=30)

    assert served_meanwhile is old
    assert serving.serving_model().version_id == old.version_id + 1


def test_while_the_database_is_unreachable_cached_lists_still_answer(active_model, api_client, monkeypatch):
    from django.db import OperationalError

    url = "/api/recommendations/similar/CAM0/"
    first = api_client.get(url).json()

    def unreachable():
        raise OperationalError("connection refused")

    monkeypatch.setattr(serving, "active_version_pointer", unreachable)
    monkeypatch.setattr(serving, "unavailable_product_ids", unreachable)
    response = api_client.get(url)

    assert response.status_code == 200
    assert (response.json()["source"], response.json()["results"]) == ("cache", first["results"])
