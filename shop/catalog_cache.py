"""The catalogue version, and whole catalog responses cached under it.

A catalog response (a product list page, a product's page, the category list) is the same for
every shopper: it names no visitor, and the links that name the request's host are added per
request. So one cached copy serves everyone, keyed by the catalogue version and the query.

The version is a token in the cache that changes whenever a product or category row does: a
save or delete (signal receivers in ``shop.receivers``) or a bulk write through the models'
querysets (``update``, ``bulk_create``: the CSV import, admin actions, checkout taking stock).
It changes once the write has committed, so a reader that sees the new token and then reads
the database sees the new rows; what was cached under the old token is never read again and
expires with its TTL, so no delete sweep is needed. A process reads the token at most every
``CATALOG_VERSION_CHECK_SECONDS`` (1 s by default; 0 reads it on every request) and learns its
own bumps at once: a change shows on the next request in the process that made it, and within
that second in every other. Checkout never reads these pages: it charges the database's price.

Tokens are fresh values (as in ``shop.activity``), never a counter: a lost token (evicted,
Redis restarted empty) is seeded with a new one that nothing was cached under. When the cache
cannot be read (Redis down or hung: django-redis's ``IGNORE_EXCEPTIONS`` turns errors into
misses), :func:`catalog_version` says None and responses come from the database. A bump the
cache could not store is tried again before this process next reads the version.

Values live in the shared cache and, for the hottest keys, in a small per-process LRU in front
of it (``CATALOG_LOCAL_CACHE_SIZE`` values, 0 to turn it off). Popularity follows interactions,
which do not change the version: pages in popularity order are fresh for at most
``CATALOG_POPULARITY_SECONDS`` (60 s by default), so new events reorder them within that time
(and the moments one request takes to compute the next page, while the others still get the
last). Everything else is fresh for at most ``CATALOG_CACHE_TIMEOUT`` (300 s) or until the next
version.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from cachetools import TLRUCache
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from shop.activity import activity_token_new

CATALOG_VERSION_KEY = "catalog:version"
DEFAULT_CACHE_TIMEOUT = 300
DEFAULT_POPULARITY_SECONDS = 60
DEFAULT_LOCAL_CACHE_SIZE = 512  # values kept in each process (a list page is ~12 KB of JSON)
DEFAULT_VERSION_CHECK_SECONDS = 1.0
REFRESH_LOCK_SECONDS = 30  # at most this long, other requests answer with a value past its time while one computes

# Tests move time forward by replacing these: the version check's clock, and the one cached values expire by.
clock: Callable[[], float] = time.monotonic
wall_clock: Callable[[], float] = time.time


def catalog_cache_timeout() -> int:
    return int(getattr(settings, "CATALOG_CACHE_TIMEOUT", DEFAULT_CACHE_TIMEOUT))


def catalog_popularity_seconds() -> int:
    return int(getattr(settings, "CATALOG_POPULARITY_SECONDS", DEFAULT_POPULARITY_SECONDS))


def local_cache_size() -> int:
    return int(getattr(settings, "CATALOG_LOCAL_CACHE_SIZE", DEFAULT_LOCAL_CACHE_SIZE))


def version_check_seconds() -> float:
    return float(getattr(settings, "CATALOG_VERSION_CHECK_SECONDS", DEFAULT_VERSION_CHECK_SECONDS))


class VersionState:
    """This process's view of the version: the token last read or written, and a bump it still owes the cache."""

    seen: tuple[str, float] | None = None  # (token, when it was read); one tuple, so threads never see half of it
    bump_pending = False  # a bump the cache could not store (Redis unreachable), tried again before the next read


def catalog_version_bump() -> None:
    """Give the catalogue a new version now: every cached catalog response is out of date."""
    token = activity_token_new()
    cache.set(CATALOG_VERSION_KEY, token, timeout=None)
    # Read back: with IGNORE_EXCEPTIONS a write to an unreachable Redis fails silently. Another
    # process's newer token reads as a failure too, which costs one more bump, never a stale page.
    stored = cache.get(CATALOG_VERSION_KEY) == token
    VersionState.bump_pending = not stored
    VersionState.seen = (token, clock()) if stored else None


def catalog_changed(*, using: str | None = None) -> None:
    """Bump the catalogue version once the current transaction commits (at once outside one; never if it rolls back).

    Bumping never fails the write: the rows are committed by then. A bump the cache could not
    store is tried again before this process next reads the version.
    """
    transaction.on_commit(catalog_version_bump, using=using, robust=True)


def catalog_version() -> str | None:
    """Return the catalogue's current version token; None when the cache cannot say (cache nothing then).

    A missing token is seeded before the caller reads the database, so whatever the caller
    caches under it was read after the token existed.
    """
    if VersionState.bump_pending:
        catalog_version_bump()
        if VersionState.bump_pending:
            return None
    seen = VersionState.seen
    if seen is not None and clock() - seen[1] < version_check_seconds():
        return seen[0]
    token = _catalog_version_read()
    VersionState.seen = None if token is None else (token, clock())
    return token


def _catalog_version_read() -> str | None:
    token = cache.get(CATALOG_VERSION_KEY)
    if isinstance(token, str):
        return token
    token = activity_token_new()
    added = cache.add(CATALOG_VERSION_KEY, token, timeout=None)
    if added:
        return token
    if added is None:  # django-redis ignored an error (IGNORE_EXCEPTIONS); Django's backends say True or False
        return None
    stored = cache.get(CATALOG_VERSION_KEY)  # someone else seeded or bumped it meanwhile: theirs is current
    return stored if isinstance(stored, str) else None


# Bump when the shape of a cached value changes, so a release never reads what the previous one cached.
CATALOG_VALUE_FORMAT = 1


def catalog_cache_key(version: str, kind: str, params: dict) -> str:
    """Return ``catalog:v<format>:<version>:<kind>:<digest of the params>``; params are plain values (str() for the rest)."""
    canonical = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    digest = hashlib.blake2b(canonical.encode(), digest_size=12).hexdigest()
    return f"catalog:v{CATALOG_VALUE_FORMAT}:{version}:{kind}:{digest}"


def catalog_refresh_lock_key(key: str) -> str:
    """Return the key of the lock held by the request computing the next value of ``key``."""
    return f"{key}:refresh"


class LocalCatalogCache:
    """A small per-process LRU of catalog values in front of the shared cache, for the hottest keys.

    Safe because a key names the catalogue version: an entry can only be as stale as the same
    entry in the shared cache, and lives no longer than its TTL. Values are shared: never mutate one.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: TLRUCache | None = None

    def get(self, key: str) -> Any:
        with self._lock:
            entry = self._entries.get(key) if self._entries is not None else None
        return None if entry is None else entry[1]

    def set(self, key: str, value: Any, *, expires_at: float) -> None:
        size = local_cache_size()
        if size <= 0 or expires_at <= wall_clock():
            return
        with self._lock:
            if self._entries is None or self._entries.maxsize != size:
                self._entries = TLRUCache(maxsize=size, ttu=lambda _key, entry, _now: entry[0], timer=lambda: wall_clock())
            self._entries[key] = (expires_at, value)

    def clear(self) -> None:
        with self._lock:
            self._entries = None


local_catalog_cache = LocalCatalogCache()


def catalog_cache_reset() -> None:
    """Forget this process's version and local values (tests; a process never needs it)."""
    VersionState.seen = None
    VersionState.bump_pending = False
    local_catalog_cache.clear()


def catalog_cached(
    *, version: str | None, kind: str, params: dict, compute: Callable[[], Any], timeout: int | None = None
) -> Any:
    """Return ``compute()`` for this catalogue version and these params, from a cache when one has it.

    The value must be JSON-able (the shared cache serialises with JSON) and is shared between
    requests: never mutate it. An exception from ``compute`` (a 400 or 404) is raised as is and
    nothing is cached. ``version`` None (the cache cannot say) always computes.

    A value is fresh for ``timeout`` seconds (up to a fifth less) and kept as long again. Once it
    is no longer fresh, one request computes the next (it holds a lock in the cache for up to
    REFRESH_LOCK_SECONDS) while the others answer with the last one, so the storefront's busiest
    page expiring does not send every request that asks for it to the database at once.
    """
    if version is None:
        return compute()
    key = catalog_cache_key(version, kind, params)
    value = local_catalog_cache.get(key)
    if value is not None:
        return value
    # The deadline travels with the value, so a process's copy expires with the shared one.
    stored = cache.get(key)
    refresh_lock = None
    if isinstance(stored, list) and len(stored) == 2:
        fresh_until, value = stored
        if fresh_until > wall_clock():
            local_catalog_cache.set(key, value, expires_at=fresh_until)
            return value
        refresh_lock = catalog_refresh_lock_key(key)
        if not cache.add(refresh_lock, 1, timeout=REFRESH_LOCK_SECONDS):
            return value  # another request is computing the next one
    timeout = catalog_cache_timeout() if timeout is None else timeout
    value = compute()
    # Up to a fifth less, at random: values cached together (after a new version, a warm-up) expire apart.
    fresh_until = wall_clock() + timeout * random.uniform(0.8, 1.0)
    cache.set(key, [fresh_until, value], timeout=2 * timeout)
    if refresh_lock is not None:
        cache.delete(refresh_lock)
    local_catalog_cache.set(key, value, expires_at=fresh_until)
    return value
