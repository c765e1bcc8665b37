"""One artifact per training run: every model, the item ids and the metadata in a single ``.npz``."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .base import FORMAT_VERSION, Recommendations, from_json_array, json_array, read_npz, write_npz
from .hybrid import HybridRecommender

BUNDLE_FORMAT = "recommendations.engine.bundle"


class BundleValidationError(ValueError):
    """A trained bundle is empty or degenerate and must not be activated."""


class ModelBundle:
    """The fitted hybrid (with its CF, content, also-bought and trending parts) plus id mappings.

    ``item_ids[i]`` is the store's product id of item index ``i``; ``category_names[c]`` the
    name of category index ``c``; ``metadata`` is JSON-able (counts, params, choices, metrics).
    """

    def __init__(
        self,
        hybrid: HybridRecommender,
        item_ids: Sequence[str],
        *,
        category_names: Optional[Sequence[str]] = None,
        metadata: Optional[dict[str, Any]] = None,
    ):
        self.hybrid = hybrid
        self.item_ids = np.asarray(item_ids, dtype=str)
        self.category_names = np.asarray(category_names if category_names is not None else [], dtype=str)
        self.metadata = dict(metadata or {})
        self._index: Optional[dict[str, int]] = None

    @property
    def n_items(self) -> int:
        return int(self.item_ids.size)

    def index_of(self, item_id: str) -> int:
        """Return the item index of a product id, -1 when the bundle does not know it."""
        if self._index is None:
            self._index = {item_id: position for position, item_id in enumerate(self.item_ids.tolist())}
        return self._index.get(str(item_id), -1)

    def indices_of(self, item_ids: Sequence[str]) -> np.ndarray:
        """Return item indices for product ids (-1 for unknown ones)."""
        return np.array([self.index_of(i) for i in item_ids], dtype=np.int64)

    def category_index(self, name: Optional[str]) -> Optional[int]:
        """Return the category index of a category name, None when unknown or None."""
        if name is None:
            return None
        matches = np.flatnonzero(self.category_names == str(name))
        return int(matches[0]) if matches.size else None

    def ids_of(self, recommendations: Recommendations) -> list[str]:
        """Return the product ids of recommended items."""
        return self.item_ids[recommendations.items].tolist()

    # -- persistence -------------------------------------------------------------------
    def save(self, path_or_file, *, compress: bool = False) -> None:
        """Write the bundle as one ``.npz`` to a path (exactly that name) or a binary file object."""
        arrays = {f"hybrid.{key}": value for key, value in self.hybrid.get_state().items()}
        arrays["item_ids"] = self.item_ids
        arrays["category_names"] = self.category_names
        arrays["bundle"] = json_array({"format": BUNDLE_FORMAT, "version": FORMAT_VERSION, "metadata": self.metadata})
        write_npz(path_or_file, arrays, compress=compress)

    @classmethod
    def load(cls, path_or_file) -> "ModelBundle":
        """Read a bundle written by :meth:`save` (``allow_pickle=False``); ValueError if it is not one."""
        arrays = read_npz(path_or_file)
        if "bundle" not in arrays:
            raise ValueError("not a model bundle (no 'bundle' header)")
        header = from_json_array(arrays["bundle"])
        if header.get("format") != BUNDLE_FORMAT or header.get("version") != FORMAT_VERSION:
            raise ValueError(f"unsupported bundle format {header.get('format')} v{header.get('version')}")
        state = {key[len("hybrid.") :]: value for key, value in arrays.items() if key.startswith("hybrid.")}
        hybrid = HybridRecommender.from_state(state)
        return cls(hybrid, arrays["item_ids"], category_names=arrays["category_names"], metadata=header["metadata"])


def validate_bundle(bundle: ModelBundle, *, require_cf: bool = True) -> None:
    """Raise :class:`BundleValidationError` with the reason if the bundle must not be activated.

    Rejected: no items; ids not unique or not matching the models; a missing trending part;
    no neighbour list at all (content and CF both empty); a CF model without a single
    neighbour (when ``require_cf``); NaN or infinite scores; NaN metrics.
    """
    hybrid = bundle.hybrid
    if bundle.n_items == 0:
        raise BundleValidationError("the bundle has no items")
    if np.unique(bundle.item_ids).size != bundle.n_items:
        raise BundleValidationError("item ids are not unique")
    if not hybrid.is_fitted:
        raise BundleValidationError("the hybrid model is not fitted")
    if hybrid.n_items_ != bundle.n_items:
        raise BundleValidationError(f"models know {hybrid.n_items_} items, the bundle lists {bundle.n_items}")
    parts = hybrid.components()
    if parts["trending"] is None:
        raise BundleValidationError("no trending model: the cold-start fallback would be empty")
    if not np.isfinite(parts["trending"].scores_).all():
        raise BundleValidationError("trending scores contain NaN or infinity")
    total_neighbors = 0
    for name in ("cf", "content", "also_bought"):
        model = parts[name]
        if model is None:
            continue
        if not np.isfinite(model.neighbor_scores_).all():
            raise BundleValidationError(f"{name} neighbour scores contain NaN or infinity")
        if model.neighbors_.size and (model.neighbors_.max() >= bundle.n_items or model.neighbors_.min() < -1):
            raise BundleValidationError(f"{name} neighbour indices out of range")
        total_neighbors += int((model.neighbors_ >= 0).sum())
    if total_neighbors == 0:
        raise BundleValidationError("no item has a single neighbour (content and CF are both empty)")
    if require_cf:
        cf = parts["cf"]
        if cf is None or not (cf.neighbors_ >= 0).any():
            raise BundleValidationError("the CF model has no neighbours (too few interactions?)")
    for name, value in _numbers(bundle.metadata.get("metrics") or {}, "metrics"):
        if not np.isfinite(value):
            raise BundleValidationError(f"{name} is {value}")


def _numbers(value: Any, name: str):
    """Yield (dotted name, number) for every float nested in dicts and lists."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, f"{name}.{key}")
    elif isinstance(value, (list, tuple)):
        for position, item in enumerate(value):
            yield from _numbers(item, f"{name}[{position}]")
    elif isinstance(value, float):
        yield name, value
