"""A hung Redis under recommendation traffic: one socket timeout per few seconds, not one per cache call.

The fault is real: the cache points at this test's own redis-server, paused with SIGSTOP (it
accepts connections and answers nothing). Attempts are counted by Redis itself: every attempt
after a timeout needs a new connection, and the server's connection counter, read once it runs
again, says how many were made. Redis stopped outright, and hung without counting, are covered by
recommendations/tests/api/test_cache.py (lists still answer from the model, hottest lists from the
process) and core/tests/test_cache_breaker.py (the breaker on its own).
"""

import logging

import pytest
from django_redis import get_redis_connection

from core import cache as breaker_module

pytestmark = [pytest.mark.services, pytest.mark.django_db]

REQUESTS = 12
FOR_YOU = "/api/recommendations/for-you/"


def test_a_hung_redis_costs_one_connection_attempt_for_a_dozen_requests_and_one_log_line(
    active_model, api_client, own_redis, redis_server, settings, django_capture_on_commit_callbacks, caplog, monkeypatch
):
    now = [1000.0]
    monkeypatch.setattr(breaker_module, "clock", lambda: now[0])
    settings.CACHE_CIRCUIT_OPEN_SECONDS = 5
    settings.RECOMMENDATION_LOCAL_CACHE_SIZE = 0  # every list comes from Redis or the model, none from this process
    with django_capture_on_commit_callbacks(execute=True):  # a visitor with history: the list is personal
        api_client.post("/api/interactions/", {"product_id": "CAM0", "kind": "view"}, format="json")
    assert api_client.get(FOR_YOU).json()["source"] == "model"
    cached = api_client.get(FOR_YOU).json()
    assert cached["source"] == "cache"
    get_redis_connection("default").connection_pool.disconnect()  # from here on, each attempt opens a connection
    before = redis_server.connections_received()

    redis_server.hang()
    try:
        responses = [api_client.get(FOR_YOU) for _ in range(REQUESTS)]
        health = api_client.get("/api/health/")
    finally:
        redis_server.resume()
    attempts = redis_server.connections_received() - before
    now[0] += 5.1  # the open period is over: the next call tries Redis, which answers again
    recovered = api_client.get(FOR_YOU).json()

    assert [response.status_code for response in responses] == [200] * REQUESTS
    assert {response.json()["source"] for response in responses} == {"model"}
    assert {tuple(item["product_id"] for item in response.json()["results"]) for response in responses} == {
        tuple(item["product_id"] for item in cached["results"])
    }
    assert attempts == 1  # without the breaker: several per request, each waiting for the socket timeout
    assert health.json()["cache"]["status"] == "unavailable"
    assert (recovered["source"], recovered["results"]) == ("cache", cached["results"])
    outage_lines = [record for record in caplog.records if record.name == "core.cache" and record.levelno == logging.WARNING]
    assert len(outage_lines) == 1
    assert not [record for record in caplog.records if record.exc_info]  # no traceback per request
