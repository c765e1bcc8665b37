"""Cached recommendation lists: keys that name every input, Redis, and a per-process LRU in front of it.

A key names the model version and everything the list depends on, e.g.
``rec:v12:similar:P001:k10:x-:a3f9c01d2e``, so activating a model or a product going out
of stock changes the keys and nothing is ever swept (see ``docs/serving.md``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache

from recommendations.rendering import SOURCE_CACHE, RecommendationList
from recommendations.tracing import active_trace

DEFAULT_CACHE_TIMEOUT = 300
DEFAULT_LOCAL_CACHE_SIZE = 2048  # lists kept in each process (a list is ~3 KB)
LOCAL_CACHE_SECONDS = 60  # at most: an entry read from Redis late in its life outlives it by this much
MAX_KEY_LENGTH = 200

clock: Callable[[], float] = time.monotonic


def cache_timeout() -> int:
    return int(getattr(settings, "RECOMMENDATION_CACHE_TIMEOUT", DEFAULT_CACHE_TIMEOUT))


def local_cache_size() -> int:
    return int(getattr(settings, "RECOMMENDATION_LOCAL_CACHE_SIZE", DEFAULT_LOCAL_CACHE_SIZE))


class LocalListCache:
    """A small per-process LRU of cached lists in front of Redis, for the hottest keys.

    Safe because a key names everything its list depends on (model version, parameters,
    availability, the customer's activity token): an entry can only be as stale as the same
    entry in Redis, and lives no longer than the cache TTL. Values are shared: never mutate one.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, dict]] = OrderedDict()

    def get(self, key: str) -> dict | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def set(self, key: str, value: dict, *, timeout: float) -> None:
        size = local_cache_size()
        if size <= 0 or timeout <= 0:
            return
        with self._lock:
            self._entries[key] = (clock() + min(timeout, LOCAL_CACHE_SECONDS), value)
            self._entries.move_to_end(key)
            while len(self._entries) > size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


local_list_cache = LocalListCache()


def cached_list(key: str, compute: Callable[[], RecommendationList]) -> RecommendationList:
    """Return the list cached under ``key`` (this process's LRU, then Redis), or compute, cache (JSON) and return it.

    An explained list (:mod:`recommendations.tracing`) is computed afresh and never stored.
    """
    if active_trace() is not None:
        return compute()
    stored = local_list_cache.get(key)
    if stored is None:
        stored = cache.get(key)
        if isinstance(stored, dict) and {"results", "strategy", "model_version"} <= stored.keys():
            local_list_cache.set(key, stored, timeout=cache_timeout())
        else:
            stored = None
    if stored is not None:
        return RecommendationList(stored["results"], stored["strategy"], stored["model_version"], source=SOURCE_CACHE)
    listing = compute()
    value = {"results": listing.results, "strategy": listing.strategy, "model_version": listing.model_version}
    cache.set(key, value, timeout=cache_timeout())
    local_list_cache.set(key, value, timeout=cache_timeout())
    return listing


def list_key(
    model_version: int | None,
    *parts: object,
    k: int,
    exclude: Sequence[str],
    availability_digest: str,
    variant_digest: str | None = None,
) -> str:
    """Return the key of a list: model version (``none`` without a model), the list's own parts, then the common ones."""
    return cache_key(
        "none" if model_version is None else f"v{model_version}",
        *parts,
        f"k{k}",
        exclude_part(exclude),
        f"a{availability_digest}",
        *variant_part(variant_digest),
    )


def variant_part(variant_digest: str | None) -> tuple[str, ...]:
    """Return the key part naming an experiment variant's serving config (none outside experiments)."""
    return (f"e{variant_digest}",) if variant_digest else ()


def exclude_part(exclude: Sequence[str]) -> str:
    return f"x{ids_digest(sorted(set(exclude)))}" if exclude else "x-"


def cache_key(*parts: object) -> str:
    """Return ``rec:<part>:<part>...`` with every part made key-safe; long keys end in a digest."""
    key = "rec:" + ":".join(quote(str(part), safe="-_.,~") for part in parts)
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return key[: MAX_KEY_LENGTH - 21] + "~" + hashlib.blake2b(key.encode(), digest_size=10).hexdigest()


def ids_digest(values) -> str:
    """Return a short digest of a sequence of ids (a history window, an exclude list)."""
    return hashlib.blake2b(",".join(str(value) for value in values).encode(), digest_size=6).hexdigest()
