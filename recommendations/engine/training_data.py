"""The ``build_matrix`` step: products and interactions frames mapped to integer indices and weighted matrices.

Frame columns: see :mod:`recommendations.engine.pipeline`.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .content import product_texts
from .interactions import EVENT_KINDS, interaction_matrix, kind_codes

PRODUCT_COLUMNS = ("item_id", "title", "category")
INTERACTION_COLUMNS = ("user_id", "item_id", "kind", "timestamp")


def timestamps_to_seconds(values: pd.Series) -> np.ndarray:
    """Return float seconds since the epoch from datetimes (naive = UTC), strings or numbers."""
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=np.float64)
    moments = values if pd.api.types.is_datetime64_any_dtype(values) else pd.to_datetime(values, utc=True, format="ISO8601")
    if moments.dt.tz is None:
        moments = moments.dt.tz_localize("UTC")
    return ((moments - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64)


def products_frame_texts(products: pd.DataFrame) -> list[str]:
    """Return each product's text for the content model: title, category as a shopper reads it, description."""
    # The category key may be a slug; ``category_name``, when given, is the name the text uses.
    category_column = "category_name" if "category_name" in products.columns else "category"
    descriptions = products["description"] if "description" in products.columns else None
    return product_texts(
        products["title"].fillna("").astype(str).tolist(),
        products[category_column].fillna("").astype(str).tolist(),
        None if descriptions is None else descriptions.fillna("").astype(str).tolist(),
    )


class TrainingData:
    """Products and interactions mapped to integer indices (the ``build_matrix`` step's output)."""

    def __init__(self, products: pd.DataFrame, interactions: pd.DataFrame, params: Mapping[str, Any]):
        missing = [c for c in PRODUCT_COLUMNS if c not in products.columns]
        if missing:
            raise ValueError(f"products frame lacks columns: {', '.join(missing)}")
        given = set(interactions.columns) | ({"item_id"} if "item_index" in interactions.columns else set())
        missing = [c for c in INTERACTION_COLUMNS if c not in given]
        if missing:
            raise ValueError(f"interactions frame lacks columns: {', '.join(missing)}")
        item_ids = products["item_id"].astype(str).to_numpy()
        if pd.Index(item_ids).has_duplicates:
            duplicated = pd.Index(item_ids)[pd.Index(item_ids).duplicated()][0]
            raise ValueError(f"products frame repeats item_id {duplicated!r}")
        self.item_ids = item_ids
        self.n_items = item_ids.size
        categories = products["category"].fillna("").astype(str)
        self.category_names, category_codes = _codes(categories.to_numpy(), skip="")
        self.item_categories = category_codes
        self.texts = products_frame_texts(products)
        if "available" in products.columns:
            self.available = products["available"].fillna(False).to_numpy(dtype=bool)
        else:
            self.available = np.ones(self.n_items, dtype=bool)

        if "item_index" in interactions.columns:
            # Positions already resolved by the reader (a database read maps keys without strings).
            item_position = interactions["item_index"].to_numpy(dtype=np.int64)
            item_position = np.where(item_position < self.n_items, item_position, -1)
        else:
            item_position = pd.Index(item_ids).get_indexer(interactions["item_id"].astype(str))
        known = item_position >= 0
        self.dropped_interactions = int((~known).sum())
        events = interactions if self.dropped_interactions == 0 else interactions.loc[known]
        self.items = item_position if self.dropped_interactions == 0 else item_position[known]
        # Users numbered in the order of their ids, so a seeded evaluation sample does not depend on row order.
        self.users, self.user_ids = _numbered_in_order(events["user_id"])
        self.n_users = self.user_ids.size
        kinds = events["kind"]
        self.kinds = kind_codes(kinds.to_numpy() if pd.api.types.is_integer_dtype(kinds) else kinds.astype(str).to_numpy())
        self.timestamps = timestamps_to_seconds(events["timestamp"])
        reference = params.get("reference_time")
        self.reference_time = float(reference) if reference is not None else (
            float(self.timestamps.max()) if self.timestamps.size else 0.0
        )
        self._whole_matrices: dict[tuple, sp.csr_matrix] = {}

    def matrix(self, mask=None, *, half_life_days=None, kinds=None, params: Mapping[str, Any], reference_time=None):
        """Return the weighted user x item matrix of the events selected by ``mask`` and ``kinds``.

        The matrix of all events (no mask) is remembered for :meth:`matrix_with_rows_rebuilt`.
        """
        reference = self.reference_time if reference_time is None else float(reference_time)
        columns = (self.users, self.items, self.kinds, self.timestamps)
        if mask is not None or kinds is not None:
            selected = np.ones(self.items.size, dtype=bool) if mask is None else mask.copy()
            if kinds is not None:
                selected &= np.isin(self.kinds, [EVENT_KINDS.index(k) for k in kinds])
            columns = tuple(column[selected] for column in columns)
        users, items, event_kinds, timestamps = columns
        matrix = interaction_matrix(
            users,
            items,
            n_users=self.n_users,
            n_items=self.n_items,
            kinds=event_kinds,
            timestamps=timestamps,
            event_weights=params["event_weights"],
            half_life_days=half_life_days,
            reference_time=reference,
        )
        if mask is None:
            self._whole_matrices[self._matrix_key(half_life_days, kinds, params, reference)] = matrix
        return matrix

    def matrix_with_rows_rebuilt(
        self, mask, users: np.ndarray, *, half_life_days=None, params: Mapping[str, Any], reference_time=None
    ) -> sp.csr_matrix:
        """Return ``matrix(mask, ...)`` where ``mask`` leaves out events of ``users`` only.

        Every other user's row is the remembered matrix of all events, as is (a row depends on
        its own events alone), so only the rows of ``users`` are built: an evaluation sample of a
        few thousand customers does not rebuild ten million events. Without a remembered matrix
        for these parameters, the whole matrix is built.
        """
        reference = self.reference_time if reference_time is None else float(reference_time)
        whole = self._whole_matrices.get(self._matrix_key(half_life_days, None, params, reference))
        if whole is None:
            return self.matrix(mask, half_life_days=half_life_days, params=params, reference_time=reference)
        rebuilt = np.zeros(self.n_users, dtype=bool)
        rebuilt[users] = True
        own = self.matrix(mask & rebuilt[self.users], half_life_days=half_life_days, params=params, reference_time=reference)
        others = sp.csr_matrix(sp.diags((~rebuilt).astype(np.float32)) @ whole)
        others.eliminate_zeros()
        return sp.csr_matrix(others + own)

    @staticmethod
    def _matrix_key(half_life_days, kinds, params: Mapping[str, Any], reference: float) -> tuple:
        weights = tuple(sorted(params["event_weights"].items()))
        return (half_life_days or None, None if kinds is None else tuple(kinds), weights, reference)

    def recency(self, mask=None) -> sp.csr_matrix:
        """Return the user x item matrix of each cell's newest event time (seconds)."""
        selected = np.ones(self.items.size, dtype=bool) if mask is None else mask
        frame = pd.DataFrame({"u": self.users[selected], "i": self.items[selected], "t": self.timestamps[selected]})
        newest = frame.groupby(["u", "i"], sort=False)["t"].max()
        users = newest.index.get_level_values(0).to_numpy()
        items = newest.index.get_level_values(1).to_numpy()
        # +1 so that an event at time 0 is still stored.
        return sp.csr_matrix((newest.to_numpy() + 1.0, (users, items)), shape=(self.n_users, self.n_items))


def _numbered_in_order(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return (int64 code per value, the distinct values ascending): codes number the values in order.

    Database keys (non-negative integers not far above their count) are numbered through a
    table indexed by key, in two passes over the values instead of a hash and a sort.
    """
    if pd.api.types.is_integer_dtype(values):
        keys = values.to_numpy(dtype=np.int64)
        if keys.size and keys.min() >= 0 and keys.max() < 4 * keys.size + 1_000_000:
            present = np.zeros(int(keys.max()) + 1, dtype=bool)
            present[keys] = True
            return (np.cumsum(present) - 1)[keys], np.flatnonzero(present)
    else:
        values = values.astype(str)
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), np.asarray(uniques)


def _codes(values: np.ndarray, skip: Optional[str] = None) -> tuple[np.ndarray, np.ndarray]:
    """Return (unique values, code per value); ``skip`` maps to -1."""
    keep = values != skip if skip is not None else np.ones(values.size, dtype=bool)
    names, inverse = np.unique(values[keep], return_inverse=True)
    codes = np.full(values.size, -1, dtype=np.int64)
    codes[keep] = inverse
    return names.astype(str), codes
