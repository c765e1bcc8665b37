"""Per-process serving state: the active model and the current product availability, safe from many threads.

The model is re-checked every ``RECOMMENDATION_MODEL_CHECK_SECONDS`` and reloaded when another
version is active; availability, re-read every ``RECOMMENDATION_AVAILABILITY_SECONDS``, becomes
a mask over the model's items whose digest names every cache key (``docs/serving.md``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import DatabaseError
from django.db.models import Q

from recommendations.engine import EVENT_KINDS, HybridRecommender, ModelBundle, Recommendations, user_history
from recommendations.engine.groups import NO_GROUP, candidates_for, distinct_group_prefix
from recommendations.models import ModelVersion, RecommenderSettings
from recommendations.serving_cache import local_list_cache
from recommendations.store import HistoryEvent
from shop.models import Product

logger = logging.getLogger(__name__)

DEFAULT_MODEL_CHECK_SECONDS = 5.0
DEFAULT_AVAILABILITY_SECONDS = 5.0

FAILED_LOAD_RETRY_SECONDS = 60.0
_KIND_CODES = {kind: code for code, kind in enumerate(EVENT_KINDS)}

UNAVAILABLE_CACHE_KEY = "rec:unavailable"

clock: Callable[[], float] = time.monotonic  # tests move time forward by replacing this


def model_check_seconds() -> float:
    return float(getattr(settings, "RECOMMENDATION_MODEL_CHECK_SECONDS", DEFAULT_MODEL_CHECK_SECONDS))


def availability_seconds() -> float:
    return float(getattr(settings, "RECOMMENDATION_AVAILABILITY_SECONDS", DEFAULT_AVAILABILITY_SECONDS))


@dataclass
class ServingModel:
    """One loaded model version and the request-time variants built from it."""

    version_id: int
    activated_at: datetime | None
    bundle: ModelBundle
    similar: HybridRecommender  # content neighbours only, filled from the product's category
    item_of_product_pk: dict[int, int]  # the store's primary key -> item index, for history rows
    item_groups: np.ndarray  # group number per item (-1: no variants), as the store said when the model loaded
    largest_group: int
    _blends: dict[tuple[float, float], HybridRecommender] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_bundle(cls, bundle: ModelBundle, *, version_id: int, activated_at: datetime | None = None) -> ServingModel:
        """Wrap a loaded bundle; reads every product's (pk, product_id, item_group_id) once (one query)."""
        bundle.index_of("")  # build the id -> index map now, not in the first request
        item_of_product_pk: dict[int, int] = {}
        item_groups = np.full(bundle.n_items, NO_GROUP, dtype=np.int64)
        group_numbers: dict[str, int] = {}
        rows = Product.objects.order_by().values_list("pk", "product_id", "item_group_id").iterator(chunk_size=10_000)
        for pk, product_id, group_id in rows:
            if (item := bundle.index_of(product_id)) >= 0:
                item_of_product_pk[pk] = item
                if group_id:
                    item_groups[item] = group_numbers.setdefault(group_id, len(group_numbers))
        grouped = item_groups[item_groups != NO_GROUP]
        return cls(
            version_id=version_id,
            activated_at=activated_at,
            bundle=bundle,
            similar=_blend_of(bundle.hybrid, 1.0, 0.0),
            item_of_product_pk=item_of_product_pk,
            item_groups=item_groups,
            largest_group=int(np.bincount(grouped).max()) if grouped.size else 1,
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

    def candidate_count(self, n: int) -> int:
        """Return how many candidates to ask the engine for so that ``n`` groups remain (see engine.groups)."""
        return candidates_for(n, self.largest_group, self.bundle.n_items)

    def one_per_group(self, found: Recommendations, n: int, *, current_item: int = -1) -> Recommendations:
        """Return the ranked candidates holding ``n`` groups, without the current product's group."""
        hidden = int(self.item_groups[current_item]) if current_item >= 0 else NO_GROUP
        return distinct_group_prefix(found, self.item_groups, n, hidden_group=hidden)

    def items_of(self, product_ids: Sequence[str]) -> np.ndarray:
        """Return the item indices of these products, leaving out the ones the model does not know."""
        if not product_ids:
            return np.zeros(0, dtype=np.int64)
        indices = self.bundle.indices_of(list(product_ids))
        return indices[indices >= 0]

    def history_of(self, events: Sequence[HistoryEvent]) -> tuple[np.ndarray, np.ndarray]:
        """Return a customer's (items, weights) as the model sees them: known products only, weighted and decayed."""
        known = [(self.item_of_product_pk.get(event.product_pk, -1), event) for event in events]
        known = [(item, event) for item, event in known if item >= 0]
        if not known:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        found = user_history(
            np.array([item for item, _ in known], dtype=np.int64),
            kinds=np.array([_KIND_CODES.get(event.kind, 0) for _, event in known], dtype=np.int8),
            timestamps=np.array([event.seconds for _, event in known], dtype=np.float64),
            event_weights=self.params.get("event_weights"),
            half_life_days=self.params.get("half_life_days"),
            reference_time=time.time(),
        )
        return found.items, found.weights

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


def item_group_key(product_id: str) -> tuple[str, object]:
    """Return what names a product's item group in the loaded model, the product itself without one (no query)."""
    model = active_model_holder.model
    item = model.bundle.index_of(product_id) if model is not None else -1
    group = int(model.item_groups[item]) if item >= 0 else NO_GROUP
    return ("group", group) if group != NO_GROUP else ("product", product_id)


def serving_exclude_purchased() -> bool:
    """Whether personal lists leave out what the customer bought (staff switch, read with the model check)."""
    active_model_holder.get()
    pointer = active_model_holder.pointer
    return True if pointer is None else pointer.exclude_purchased


serving_reset_hooks: list[Callable[[], None]] = []  # other per-process serving state (the experiments app's)


def serving_reset() -> None:
    """Forget the loaded model, availability, local lists and registered state (tests; a process never needs it)."""
    active_model_holder.reset()
    availability_tracker.reset()
    local_list_cache.clear()
    for hook in serving_reset_hooks:
        hook()
