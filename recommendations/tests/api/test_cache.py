"""The list cache: hits answer the same list, keys follow the model version, Redis trouble is a miss."""

import json
import os
import signal

import pytest
from django.core.cache import cache

from recommendations import serving, serving_cache
from recommendations.models import ModelVersion
from recommendations.selectors import recommendations_similar
from recommendations.tests.api.conftest import activate_trained_model, result_ids

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/recommendations/similar/CAM0/",
    "/api/recommendations/also-bought/CAM0/",
    "/api/recommendations/for-you/",
    "/api/recommendations/hybrid/?w_content=0.5&w_cf=0.5",
    "/api/recommendations/trending/?category=books",
]


@pytest.mark.parametrize("url", LISTS)
def test_a_second_request_is_a_cache_hit_with_the_same_list(active_model, api_client, url):
    first = api_client.get(url).json()
    second = api_client.get(url).json()

    assert (first["source"], second["source"]) == ("model", "cache")
    assert second["results"] == first["results"]
    assert (second["strategy"], second["model_version"]) == (first["strategy"], first["model_version"])
    assert second["request_id"] != first["request_id"]


def test_every_parameter_is_part_of_the_key(active_model, api_client):
    api_client.get("/api/recommendations/similar/CAM0/", {"k": 3})

    for params in ({"k": 4}, {"k": 3, "exclude": "CAM1"}):
        assert api_client.get("/api/recommendations/similar/CAM0/", params).json()["source"] == "model", params
    assert api_client.get("/api/recommendations/similar/CAM1/", {"k": 3}).json()["source"] == "model"
    assert api_client.get("/api/recommendations/also-bought/CAM0/", {"k": 3}).json()["source"] == "model"


def test_keys_name_the_model_version_and_every_input(active_model):
    availability = serving.availability_tracker.current()

    key = serving_cache.cache_key(f"v{active_model.pk}", "similar", "P 1/2", "k10", "x-", f"a{availability.digest}")

    assert key == f"rec:v{active_model.pk}:similar:P%201%2F2:k10:x-:a{availability.digest}"
    assert len(serving_cache.cache_key("v1", "x" * 500)) == serving_cache.MAX_KEY_LENGTH


def test_a_newly_activated_model_is_never_served_from_old_entries(active_model, api_client):
    url = "/api/recommendations/similar/CAM0/"
    old = api_client.get(url).json()
    assert api_client.get(url).json()["source"] == "cache"

    new_version = activate_trained_model()
    response = api_client.get(url).json()

    assert new_version.pk != active_model.pk
    assert (response["model_version"], response["source"]) == (new_version.pk, "model")
    assert old["model_version"] == active_model.pk
    assert api_client.get(url).json()["source"] == "cache"


def test_a_process_picks_up_a_new_model_within_the_check_interval(active_model, api_client, settings, monkeypatch):
    settings.RECOMMENDATION_MODEL_CHECK_SECONDS = 5
    now = [1000.0]
    monkeypatch.setattr(serving, "clock", lambda: now[0])
    url = "/api/recommendations/trending/"
    assert api_client.get(url).json()["model_version"] == active_model.pk

    new_version = activate_trained_model()
    now[0] += 4.9
    still_old = api_client.get(url).json()
    now[0] += 0.2
    picked_up = api_client.get(url).json()

    assert still_old["model_version"] == active_model.pk
    assert (picked_up["model_version"], picked_up["source"]) == (new_version.pk, "model")


def test_rolling_back_serves_the_older_version_again(active_model, api_client):
    from recommendations.services import model_activate

    newer = activate_trained_model()
    assert api_client.get("/api/recommendations/trending/").json()["model_version"] == newer.pk

    model_activate(version=ModelVersion.objects.get(pk=active_model.pk))

    assert api_client.get("/api/recommendations/trending/").json()["model_version"] == active_model.pk


def test_a_list_read_from_redis_is_kept_in_the_process(active_model, api_client, settings, monkeypatch):
    url = "/api/recommendations/trending/"
    api_client.get(url)
    serving_cache.local_list_cache.clear()  # as in another process: only Redis has it
    reads = []
    real_get = cache.get
    monkeypatch.setattr(cache, "get", lambda key, default=None: reads.append(key) or real_get(key, default))

    sources = [api_client.get(url).json()["source"] for _ in range(3)]

    assert sources == ["cache"] * 3
    assert len([key for key in reads if ":trending:" in key]) == 1


def test_the_ttl_comes_from_settings(active_model, settings, monkeypatch):
    settings.RECOMMENDATION_CACHE_TIMEOUT = 42
    timeouts = []
    real_set = cache.set
    monkeypatch.setattr(cache, "set", lambda key, value, timeout=None: timeouts.append((key, timeout)) or real_set(key, value, timeout))

    recommendations_similar(product_id="CAM0", k=5)

    assert [timeout for key, timeout in timeouts if ":similar:" in key] == [42]


@pytest.mark.services
def test_redis_holds_lists_as_json(active_model, api_client):
    from django_redis import get_redis_connection

    api_client.get("/api/recommendations/similar/CAM0/", {"k": 2})

    redis = get_redis_connection("default")
    keys = [key.decode() for key in redis.keys(cache.make_key("rec:*"))]
    key = next(key for key in keys if ":similar:CAM0:k2:" in key)
    stored = json.loads(redis.get(key))
    assert stored["model_version"] == active_model.pk
    assert [item["product_id"] for item in stored["results"]] == result_ids(api_client.get("/api/recommendations/similar/CAM0/", {"k": 2}))
    assert 0 < redis.ttl(key) <= 300


@pytest.mark.services
def test_with_redis_stopped_lists_still_answer_from_the_model(active_model, api_client, own_redis, settings):
    settings.RECOMMENDATION_LOCAL_CACHE_SIZE = 0  # every hit below is Redis's, none this process's
    url = "/api/recommendations/similar/CAM0/"
    assert api_client.get(url).json()["source"] == "model"
    cached = api_client.get(url).json()
    assert cached["source"] == "cache"

    own_redis.terminate()
    own_redis.wait(timeout=10)

    for list_url in LISTS:
        response = api_client.get(list_url)
        assert response.status_code == 200, list_url
        assert response.json()["source"] == "model", list_url
    assert api_client.get(url).json()["results"] == cached["results"]
    assert api_client.get("/api/health/").json()["cache"]["status"] == "unavailable"


@pytest.mark.services
def test_with_redis_hung_lists_still_answer_from_the_model(active_model, api_client, own_redis, settings):
    settings.RECOMMENDATION_LOCAL_CACHE_SIZE = 0
    url = "/api/recommendations/for-you/"
    api_client.get(url)
    assert api_client.get(url).json()["source"] == "cache"

    os.kill(own_redis.pid, signal.SIGSTOP)  # accepts connections, answers nothing
    try:
        response = api_client.get(url)
        trending = api_client.get("/api/recommendations/trending/")
    finally:
        os.kill(own_redis.pid, signal.SIGCONT)

    assert response.status_code == trending.status_code == 200
    assert response.json()["source"] == trending.json()["source"] == "model"


@pytest.mark.services
def test_with_redis_stopped_this_process_still_serves_its_hottest_lists(active_model, api_client, own_redis):
    url = "/api/recommendations/similar/CAM0/"
    first = api_client.get(url).json()

    own_redis.terminate()
    own_redis.wait(timeout=10)
    again = api_client.get(url).json()

    assert (again["source"], again["results"]) == ("cache", first["results"])


@pytest.mark.services
def test_with_redis_stopped_for_you_reads_the_database_and_never_serves_a_stale_list(
    active_model, api_client, own_redis, django_capture_on_commit_callbacks
):
    url = "/api/recommendations/for-you/"
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post("/api/interactions/", {"product_id": "BOO0", "kind": "view"}, format="json")
    books = api_client.get(url, {"k": 6}).json()
    assert api_client.get(url, {"k": 6}).json()["source"] == "cache"  # held by Redis and this process

    own_redis.terminate()
    own_redis.wait(timeout=10)
    with django_capture_on_commit_callbacks(execute=True):  # the activity token cannot change now
        posted = api_client.post("/api/interactions/", {"product_id": "CAM0", "kind": "view"}, format="json")
    responses = [api_client.get(url, {"k": 6}) for _ in range(2)]

    assert posted.status_code == 201
    assert [response.status_code for response in responses] == [200, 200]
    assert [response.json()["source"] for response in responses] == ["model", "model"]  # kept nowhere meanwhile
    assert {"CAM1", "CAM2", "CAM3"} & set(result_ids(responses[0]))
    assert responses[0].json()["results"] != books["results"]
