"""The cache circuit breaker: a Redis that timed out or refused is skipped for a while, then tried again.

Each fault is real: a loopback port that accepts connections and never answers (a hung Redis),
a port nobody listens on (a dead one), or this test's own redis-server paused with SIGSTOP.
"""

import logging

import pytest
from django.utils.module_loading import import_string

from config.settings import redis_cache
from core import cache as breaker_module
from tests.fault_servers import refused_url

CALLS = 10


def make_cache(url: str):
    """A django-redis cache configured as production's, on this URL."""
    config = redis_cache(url, socket_timeout=0.25)
    backend = import_string(config.pop("BACKEND"))
    return backend(config.pop("LOCATION"), config)


def breaker_of(cache):
    return breaker_module.breaker_for(cache.client.get_client().connection_pool)


def warnings_logged(caplog) -> list[str]:
    return [
        record.getMessage() for record in caplog.records if record.name == "core.cache" and record.levelno >= logging.WARNING
    ]


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(breaker_module, "clock", lambda: now[0])
    return now


def test_a_hung_redis_costs_one_timeout_then_is_skipped_until_the_open_period_ends(
    silent_listener, settings, clock, caplog
):
    settings.CACHE_CIRCUIT_OPEN_SECONDS = 5
    cache = make_cache(silent_listener.url())

    with caplog.at_level(logging.INFO):
        reads = [cache.get(f"key-{index}", default="miss") for index in range(CALLS)]
        cache.set("key", "value")
        after_writes = len(silent_listener.accepted)
        clock[0] += 5.1
        probe = cache.get("key", default="miss")

    assert reads == ["miss"] * CALLS
    assert after_writes == 1  # one connection waited for its timeout; every later call skipped Redis
    assert (probe, len(silent_listener.accepted)) == ("miss", 2)  # once the period is over, one call tries again
    assert breaker_of(cache).is_open
    assert len(warnings_logged(caplog)) == 1  # one line for the outage, none per call and no traceback
    assert "is unreachable (TimeoutError" in warnings_logged(caplog)[0]
    assert not [record for record in caplog.records if record.exc_info]


def test_a_refused_connection_opens_the_breaker_too(settings, caplog):
    settings.CACHE_CIRCUIT_OPEN_SECONDS = 5
    cache = make_cache(refused_url())

    with caplog.at_level(logging.INFO):
        results = [cache.get("key", default="miss") for _ in range(CALLS)]

    assert results == ["miss"] * CALLS
    assert breaker_of(cache).is_open
    assert breaker_of(cache).openings == 1
    assert len(warnings_logged(caplog)) == 1
    assert "ConnectionError" in warnings_logged(caplog)[0]


def test_with_the_breaker_off_every_call_waits_for_redis(silent_listener, settings):
    settings.CACHE_CIRCUIT_OPEN_SECONDS = 0
    cache = make_cache(silent_listener.url())

    results = [cache.get("key", default="miss") for _ in range(3)]

    assert results == ["miss"] * 3
    assert len(silent_listener.accepted) == 3
    assert not breaker_of(cache).is_open


@pytest.mark.services
def test_the_breaker_closes_once_redis_answers_again(redis_server, settings, clock, caplog):
    caplog.set_level(logging.INFO, logger="core.cache")
    settings.CACHE_CIRCUIT_OPEN_SECONDS = 5
    cache = make_cache(redis_server.url(0))
    cache.set("key", "value")

    redis_server.hang()
    try:
        during = [cache.get("key", default="miss") for _ in range(3)]
    finally:
        redis_server.resume()
    still_skipped = cache.get("key", default="miss")  # Redis answers, but the open period is not over
    clock[0] += 5.1
    after = [cache.get("key", default="miss") for _ in range(3)]

    assert during == ["miss"] * 3
    assert still_skipped == "miss"
    assert after == ["value"] * 3
    assert not breaker_of(cache).is_open
    location = f"127.0.0.1:{redis_server.port}/0"
    logged = [
        (record.levelname, record.getMessage().split(" (")[0]) for record in caplog.records if record.name == "core.cache"
    ]
    assert logged == [
        ("WARNING", f"Redis cache at {location} is unreachable"),
        ("INFO", f"Redis cache at {location} answers again; using the cache"),
    ]


@pytest.mark.services
def test_locks_and_pipelines_go_through_the_breaker(redis_server, settings):
    settings.CACHE_CIRCUIT_OPEN_SECONDS = 5
    cache = make_cache(redis_server.url(0))
    cache.set_many({"a": 1, "b": 2})  # a pipeline

    redis_server.stop()
    cache.set_many({"a": 3, "b": 4})

    assert breaker_of(cache).is_open
    with pytest.raises(breaker_module.CacheCircuitOpen):
        cache.lock("some-lock", timeout=1).acquire(blocking=False)
