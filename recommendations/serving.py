"""Per-process serving state: the active model, current product availability, cache keys.

A web process loads the active version's artifact once (through Django's storage) and
looks for a newly activated version at most every ``RECOMMENDATION_MODEL_CHECK_SECONDS``
(one small query), reloading when the active id changed; threads keep serving the model
they have while one of them loads the next. The same check re-reads the serving switches
staff edit (``RecommenderSettings.exclude_purchased``).

Availability (active and in stock) is the database's current state, not the training
run's: the ids of unavailable products are read at most every
``RECOMMENDATION_AVAILABILITY_SECONDS``, shared between processes through the cache, and
turned into a boolean mask over the model's items. The mask's digest is part of every
cache key, so a product going out of stock changes the keys instead of needing a sweep.
Results are checked once more against the product rows fetched to render them.

Cached lists live in Redis (shared) and, for the hottest keys, in a small per-process LRU
in front of it (``RECOMMENDATION_LOCAL_CACHE_SIZE`` lists, 0 to turn it off).

Everything here is safe to call from several threads at once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import DatabaseError
from django.db.models import Q

from recommendations.engine import HybridRecommender, ModelBundle
from recommendations.models import ModelVersion, RecommenderSettings
from shop.models import Product

logger = logging.getLogger(__name__)

DEFAULT_MODEL_CHECK_SECONDS = 5.0
DEFAULT_AVAILABILITY_SECONDS = 5.0
DEFAULT_CACHE_TIMEOUT = 300
DEFAULT_LOCAL_CACHE_SIZE = 2048  # lists kept in each process (a list is ~3 KB)
LOCAL_CACHE_SECONDS = 60  # at most: an entry read from Redis late in its life outlives it by this much

FAILED_LOAD_RETRY_SECONDS = 60.0

UNAVAILABLE_CACHE_KEY = "rec:unavailable"
MAX_KEY_LENGTH = 200

clock: Callable[[], float] = time.monotonic  # tests move time forward by replacing this


def model_check_seconds() -> float:
    return float(getattr(settings, "RECOMMENDATION_MODEL_CHECK_SECONDS", DEFAULT_MODEL_CHECK_SECONDS))


def availability_seconds() -> float:
    return float(getattr(settings, "RECOMMENDATION_AVAILABILITY_SECONDS", DEFAULT_AVAILABILITY_SECONDS))


def cache_timeout() -> int:
    return int(getattr(settings, "RECOMMENDATION_CACHE_TIMEOUT", DEFAULT_CACHE_TIMEOUT))


def local_cache_size() -> int:
    return int(getattr(settings, "RECOMMENDATION_LOCAL_CACHE_SIZE", DEFAULT_LOCAL_CACHE_SIZE))


@dataclass
class ServingModel:
    """One loaded model version and the request-time variants built from it."""

    version_id: int
    activated_at: datetime | None
    bundle: ModelBundle
    similar: HybridRecommender  # content neighbours only, filled from the product's category
    item_of_product_pk: dict[int, int]  # the store's primary key -> item index, for history rows
    _blends: dict[tuple[float, float], HybridRecommender] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_bundle(cls, bundle: ModelBundle, *, version_id: int, activated_at: datetime | None = None) -> ServingModel:
        """Wrap a loaded bundle; reads every product's (pk, product_id) once (one query)."""
        bundle.index_of("")  # build the id -> index map now, not in the first request
        item_of_product_pk = {
            pk: item
            for pk, product_id in Product.objects.order_by().values_list("pk", "product_id").iterator(chunk_size=10_000)
            if (item := bundle.index_of(product_id)) >= 0
        }
        return cls(
            version_id=version_id,
            activated_at=activated_at,
            bundle=bundle,
            similar=_blend_of(bundle.hybrid, 1.0, 0.0),
            item_of_product_pk=item_of_product_pk,
        )

    @property
    def hybrid(self) -> HybridRecommender:
        return self.bundle.hybrid

    @property
    def params(self) -> dict:
        return self.bundle.metadata.get("params") or {}

    def blend(self, w_content: float, w_cf: float) -> HybridRecommender:
        """Return the hybrid with these weights (the trained one when they are its own)."""
        if (w_content, w_cf) == (float(self.hybrid.w_content), float(self.hybrid.w_cf)):
            return self.hybrid
        with self._lock:
            blended = self._blends.get((w_content, w_cf))
            if blended is None:
                if len(self._blends) >= 64:
                    self._blends.clear()
                blended = self._blends[(w_content, w_cf)] = _blend_of(self.hybrid, w_content, w_cf)
            return blended

    def items_of_product_pks(self, product_pks) -> np.ndarray:
        """Return the item indices of products given by primary key, leaving out those the model does not know."""
        items = [self.item_of_product_pk.get(pk, -1) for pk in product_pks]
        return np.array([item for item in items if item >= 0], dtype=np.int64)

    def category_of(self, item: int) -> int | None:
        trending = self.hybrid.trending_
        if trending is None or item < 0:
            return None
        category = int(trending.item_categories_[item])
        return category if category >= 0 else None


def _blend_of(hybrid: HybridRecommender, w_content: float, w_cf: float) -> HybridRecommender:
    """Return a hybrid sharing the fitted parts of ``hybrid`` with other weights."""
    params = {**hybrid.get_params(), "w_content": w_content, "w_cf": w_cf}
    parts = hybrid.components()
    return HybridRecommender(**params).fit(
        cf=parts["cf"], content=parts["content"], trending=parts["trending"], also_bought=parts["also_bought"]
    )


@dataclass(frozen=True)
class ActiveVersionPointer:
    """What the registry says should serve: the active version (if any) and the serving switches."""

    version_id: int | None
    artifact_name: str
    activated_at: datetime | None
    exclude_purchased: bool


def active_version_pointer() -> ActiveVersionPointer:
    """Read the active version's id and artifact name, and the serving switches (two small queries)."""
    row = (
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE)
        .order_by()
        .values_list("pk", "artifact", "activated_at")
        .first()
    )
    exclude_purchased = RecommenderSettings.objects.filter(pk=1).values_list("exclude_purchased", flat=True).first()
    version_id, artifact_name, activated_at = row if row else (None, "", None)
    return ActiveVersionPointer(
        version_id=version_id,
        artifact_name=artifact_name or "",
        activated_at=activated_at,
        exclude_purchased=True if exclude_purchased is None else bool(exclude_purchased),
    )


def serving_model_load(pointer: ActiveVersionPointer) -> ServingModel:
    """Load the pointed-to artifact through Django's storage (``.npz``, no pickle)."""
    with default_storage.open(pointer.artifact_name, "rb") as handle:
        bundle = ModelBundle.load(handle)
    return ServingModel.from_bundle(bundle, version_id=pointer.version_id, activated_at=pointer.activated_at)


class ActiveModelHolder:
    """The process's loaded model, re-checked against the registry at most every few seconds."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.model: ServingModel | None = None
        self.pointer: ActiveVersionPointer | None = None
        self._checked_at: float | None = None
        self._failed: tuple[int, float] | None = None  # (version id, when its load failed)

    def get(self) -> ServingModel | None:
        """Return the model to serve with, None when no version is active (or none could be loaded)."""
        if self._checked_at is not None and clock() - self._checked_at < model_check_seconds():
            return self.model
        # One thread checks; the others keep serving what is loaded (or wait, when nothing is).
        if not self._lock.acquire(blocking=self._checked_at is None):
            return self.model
        try:
            if self._checked_at is None or clock() - self._checked_at >= model_check_seconds():
                self._refresh()
        finally:
            self._lock.release()
        return self.model

    def _refresh(self) -> None:
        try:
            pointer = active_version_pointer()
        except DatabaseError:
            if self.model is None:
                raise
            # Keep serving what is loaded (cached lists still answer); look again after the interval.
            logger.warning("Could not read the active model version; still serving v%s", self.model.version_id)
            self._checked_at = clock()
            return
        self.pointer = pointer
        try:
            self._follow(pointer)
        finally:
            # Only now: until the first load is done, other threads wait rather than serve nothing.
            self._checked_at = clock()

    def _follow(self, pointer: ActiveVersionPointer) -> None:
        if pointer.version_id is None:
            if self.model is not None:
                logger.warning("No model version is active any more; serving the popularity fallback.")
            self.model = None
            return
        if self.model is not None and self.model.version_id == pointer.version_id:
            return
        if self._failed and self._failed[0] == pointer.version_id and clock() - self._failed[1] < FAILED_LOAD_RETRY_SECONDS:
            return
        try:
            started = time.perf_counter()
            self.model = serving_model_load(pointer)
            logger.info("Loaded model v%s in %.2f s", pointer.version_id, time.perf_counter() - started)
        except Exception:
            self._failed = (pointer.version_id, clock())
            logger.exception(
                "Could not load model v%s (%s); still serving %s",
                pointer.version_id, pointer.artifact_name, f"v{self.model.version_id}" if self.model else "the fallback",
            )  # fmt: skip


@dataclass(frozen=True)
class Availability:
    """Products that may not be recommended now, and a short digest naming that set."""

    unavailable_ids: frozenset[str]
    digest: str


def unavailable_product_ids() -> list[str]:
    """Return the ids of inactive or sold-out products, sorted (one query)."""
    rows = Product.objects.filter(Q(is_active=False) | Q(stock=0)).order_by().values_list("product_id", flat=True)
    return sorted(rows)


def availability_digest(product_ids: list[str]) -> str:
    if not product_ids:
        return "0"
    return hashlib.blake2b("\n".join(product_ids).encode(), digest_size=5).hexdigest()


class AvailabilityTracker:
    """The current set of unavailable products, refreshed every few seconds and shared through the cache."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.availability: Availability | None = None
        self._read_at: float | None = None
        self._masks: dict[tuple[int, str], np.ndarray] = {}

    def current(self) -> Availability:
        if self._read_at is not None and clock() - self._read_at < availability_seconds():
            return self.availability
        if not self._lock.acquire(blocking=self.availability is None):
            return self.availability
        try:
            if self._read_at is None or clock() - self._read_at >= availability_seconds():
                try:
                    self.availability = self._read()
                except DatabaseError:
                    if self.availability is None:
                        raise
                    logger.warning("Could not read product availability; keeping the last known state")
                self._read_at = clock()
        finally:
            self._lock.release()
        return self.availability

    def _read(self) -> Availability:
        lifetime = availability_seconds()
        shared = cache.get(UNAVAILABLE_CACHE_KEY) if lifetime > 0 else None
        if isinstance(shared, dict) and isinstance(shared.get("ids"), list) and isinstance(shared.get("digest"), str):
            return Availability(frozenset(shared["ids"]), shared["digest"])
        ids = unavailable_product_ids()
        digest = availability_digest(ids)
        if lifetime > 0:
            cache.set(UNAVAILABLE_CACHE_KEY, {"ids": ids, "digest": digest}, timeout=max(1, round(lifetime)))
        return Availability(frozenset(ids), digest)

    def mask_for(self, model: ServingModel, availability: Availability) -> np.ndarray:
        """Return the boolean mask over the model's items: False for every unavailable product."""
        key = (model.version_id, availability.digest)
        mask = self._masks.get(key)
        if mask is None:
            mask = np.ones(model.bundle.n_items, dtype=bool)
            indices = model.bundle.indices_of(sorted(availability.unavailable_ids))
            mask[indices[indices >= 0]] = False
            self._masks = {key: mask}  # one model and one availability state at a time
        return mask


active_model_holder = ActiveModelHolder()
availability_tracker = AvailabilityTracker()


def serving_model() -> ServingModel | None:
    """Return this process's model for the active version, None when there is none."""
    return active_model_holder.get()


def serving_exclude_purchased() -> bool:
    """Whether personal lists leave out what the customer bought (staff switch, read with the model check)."""
    active_model_holder.get()
    pointer = active_model_holder.pointer
    return True if pointer is None else pointer.exclude_purchased


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


serving_reset_hooks: list[Callable[[], None]] = []  # other per-process serving state (the experiments app's)


def serving_reset() -> None:
    """Forget the loaded model, availability, local lists and registered state (tests; a process never needs it)."""
    active_model_holder.reset()
    availability_tracker.reset()
    local_list_cache.clear()
    for hook in serving_reset_hooks:
        hook()


def cache_key(*parts: object) -> str:
    """Return ``rec:<part>:<part>...`` with every part made key-safe; long keys end in a digest."""
    key = "rec:" + ":".join(quote(str(part), safe="-_.,~") for part in parts)
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return key[: MAX_KEY_LENGTH - 21] + "~" + hashlib.blake2b(key.encode(), digest_size=10).hexdigest()


def ids_digest(values) -> str:
    """Return a short digest of a sequence of ids (a history window, an exclude list)."""
    return hashlib.blake2b(",".join(str(value) for value in values).encode(), digest_size=6).hexdigest()
