"""A circuit breaker for the Redis cache: a Redis that just failed is skipped for a few seconds.

With ``IGNORE_EXCEPTIONS`` a dead or hung Redis is a cache miss, but each cache call still
waits for its socket timeout first: a request making four cache calls waits four times. After a
call fails to connect or times out, this process skips Redis for ``CACHE_CIRCUIT_OPEN_SECONDS``
(each skipped call fails at once, which django-redis turns into a miss), then lets one call
through to see whether Redis answers again. A hung Redis so costs one timeout per few seconds
per process, not one per call, and is logged once when the breaker opens (and once when it
closes), not with a traceback per request.

The breaker sits in the Redis client django-redis creates (``OPTIONS["REDIS_CLIENT_CLASS"]``),
so every cache user goes through it: lists, throttling, locks, anything cached later. It decides
once per round trip to Redis (a command or a pipeline), which is where a timeout happens.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable

from django.conf import settings
from redis import Redis
from redis.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

DEFAULT_OPEN_SECONDS = 5.0

clock: Callable[[], float] = time.monotonic  # tests move time forward by replacing this


def open_seconds() -> float:
    return float(getattr(settings, "CACHE_CIRCUIT_OPEN_SECONDS", DEFAULT_OPEN_SECONDS))


class CacheCircuitOpen(RedisConnectionError):
    """Redis is being skipped: it failed moments ago (django-redis reads this as a cache miss)."""


# Errors that say Redis is unreachable or hung. A ResponseError (a wrong type, an OOM refusal)
# comes from a Redis that answers, and does not open the breaker.
UNREACHABLE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)


class CircuitBreaker:
    """Closed: every call goes to Redis. Open: calls are refused until ``retry_at``, then one goes through."""

    def __init__(self, location: str):
        self.location = location
        self.retry_at: float | None = None  # None while closed
        self.openings = 0
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self.retry_at is not None

    def admit(self) -> bool:
        """Whether a call may go to Redis now; once the open period is over, admit one probe per period."""
        if self.retry_at is None:
            return True
        seconds = open_seconds()
        with self._lock:
            if self.retry_at is None:
                return True
            now = clock()
            if now < self.retry_at:
                return False
            self.retry_at = now + seconds  # the others keep skipping while this call finds out
            return True

    def record_failure(self, error: BaseException) -> None:
        seconds = open_seconds()
        if seconds <= 0:
            return
        with self._lock:
            opening = self.retry_at is None
            self.retry_at = clock() + seconds
            if opening:
                self.openings += 1
        if opening:
            logger.warning(
                "Redis cache at %s is unreachable (%s: %s); serving without the cache, trying it again every %g s",
                self.location, type(error).__name__, error, seconds,
            )  # fmt: skip

    def record_success(self) -> None:
        if self.retry_at is None:
            return
        with self._lock:
            closing = self.retry_at is not None
            self.retry_at = None
        if closing:
            logger.info("Redis cache at %s answers again; using the cache", self.location)


_breakers: weakref.WeakKeyDictionary[object, CircuitBreaker] = weakref.WeakKeyDictionary()
_breakers_lock = threading.Lock()


def breaker_for(connection_pool) -> CircuitBreaker:
    """Return the breaker of a connection pool: one per Redis location and process (django-redis shares pools)."""
    breaker = _breakers.get(connection_pool)
    if breaker is None:
        with _breakers_lock:
            breaker = _breakers.get(connection_pool)
            if breaker is None:
                kwargs = connection_pool.connection_kwargs
                location = kwargs.get("path") or f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
                breaker = _breakers[connection_pool] = CircuitBreaker(f"{location}/{kwargs.get('db', 0)}")
    return breaker


def _guarded(breaker: CircuitBreaker, call: Callable, *args, **kwargs):
    if not breaker.admit():
        raise CacheCircuitOpen(f"skipping Redis at {breaker.location} for a few seconds after a failure")
    try:
        result = call(*args, **kwargs)
    except UNREACHABLE_ERRORS as error:
        breaker.record_failure(error)
        raise
    breaker.record_success()
    return result


class CircuitBreakingPipeline(Pipeline):
    """A pipeline whose round trip (``execute``) goes through its pool's breaker."""

    def execute(self, raise_on_error: bool = True):
        if not self.command_stack and not self.watching:
            return []
        return _guarded(breaker_for(self.connection_pool), super().execute, raise_on_error)


class CircuitBreakingRedis(Redis):
    """The Redis client for django-redis (``REDIS_CLIENT_CLASS``): every command goes through the breaker."""

    def execute_command(self, *args, **options):
        return _guarded(breaker_for(self.connection_pool), super().execute_command, *args, **options)

    def pipeline(self, transaction: bool = True, shard_hint=None) -> Pipeline:
        return CircuitBreakingPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


def breakers_reset() -> None:
    """Close every breaker of this process (tests; a process never needs it)."""
    with _breakers_lock:
        for breaker in list(_breakers.values()):
            breaker.retry_at = None

