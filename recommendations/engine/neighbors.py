"""Models whose learned state is a top-K neighbour list per item, and request-time scoring from those lists.

The lists are computed in sparse blocks by :mod:`.topk` (re-exported here).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import scipy.sparse as sp

from .base import (
    REASON_CF,
    BaseRecommender,
    Recommendations,
    as_history,
    as_index_array,
    top_n,
)
from .topk import (  # noqa: F401 (importable from here as before)
    DEFAULT_BLOCK_NNZ,
    BlockTransform,
    ProductBuffers,
    blocked_top_k,
    plan_blocks,
    sparse_product,
    top_k_dense_rows,
    top_k_sparse_rows,
)


def neighbors_to_csr(neighbors: np.ndarray, scores: np.ndarray, n_cols: int) -> sp.csr_matrix:
    """Return the sparse (n_items x n_cols) matrix holding the neighbour lists."""
    valid = neighbors >= 0
    counts = valid.sum(axis=1)
    indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return sp.csr_matrix((scores[valid], neighbors[valid], indptr), shape=(neighbors.shape[0], n_cols))


def _filter_mask(items: np.ndarray, banned: np.ndarray, available: Optional[np.ndarray]) -> np.ndarray:
    keep = items >= 0
    if banned.size:
        keep &= ~np.isin(items, banned)
    if available is not None:
        keep &= np.asarray(available, dtype=bool)[np.maximum(items, 0)]
    return keep


def aggregate_by_item(
    items: np.ndarray, values: np.ndarray, sources: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(unique items, summed values, source of the largest value)`` per item.

    Ties for the largest value go to the source listed last (the more recent history item).
    """
    order = np.argsort(items, kind="stable")
    items, values, sources = items[order], values[order], sources[order]
    starts = np.flatnonzero(np.concatenate(([True], items[1:] != items[:-1])))
    totals = np.add.reduceat(values, starts).astype(np.float32)
    group_max = np.maximum.reduceat(values, starts)
    lengths = np.diff(np.append(starts, items.size))
    is_max = values == np.repeat(group_max, lengths)
    # Last position holding the maximum in each group.
    positions = np.where(is_max, np.arange(items.size), -1)
    last = np.maximum.reduceat(positions, starts)
    return items[starts], totals, sources[last]


class NeighborModel(BaseRecommender):
    """A model whose learned state is a top-K neighbour list per item.

    A customer's score for item j is ``sum_i weight_i * sim(i, j)`` over their history items i;
    each recommended item's anchor is the history item that contributed most to it.
    """

    _state_arrays = ("neighbors_", "neighbor_scores_")
    reason = REASON_CF

    def _n_items(self) -> int:
        return self.neighbors_.shape[0]

    def _set_neighbors(self, neighbors: np.ndarray, scores: np.ndarray) -> None:
        self.neighbors_ = np.ascontiguousarray(neighbors, dtype=np.int32)
        self.neighbor_scores_ = np.ascontiguousarray(scores, dtype=np.float32)
        self._similarity = None

    def _after_load(self) -> None:
        self._similarity = None

    def similarity_matrix(self) -> sp.csr_matrix:
        """Return the neighbour lists as a sparse item x item matrix (built once, cached)."""
        self._check_fitted()
        if getattr(self, "_similarity", None) is None:
            self._similarity = neighbors_to_csr(self.neighbors_, self.neighbor_scores_, self._n_items())
        return self._similarity

    def score_history(self, items: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(candidates, scores, anchors)`` from the neighbour lists of ``items``.

        Work is proportional to ``len(items) * K``, never to the catalogue size.
        """
        self._check_fitted()
        items = np.asarray(items, dtype=np.int64)
        if items.size == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, np.zeros(0, dtype=np.float32), empty
        neighbors = self.neighbors_[items]
        contributions = self.neighbor_scores_[items] * np.asarray(weights, dtype=np.float32)[:, None]
        sources = np.broadcast_to(items[:, None], neighbors.shape)
        valid = neighbors >= 0
        candidates = neighbors[valid].astype(np.int64)
        contributions = contributions[valid]
        sources = sources[valid]
        if candidates.size == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, np.zeros(0, dtype=np.float32), empty
        return aggregate_by_item(candidates, contributions, sources)

    def recommend(self, user=None, n: int = 10, *, exclude=None, available=None) -> Recommendations:
        """Return the top ``n`` items for a customer's history, never an item already in it.

        ``user``: see :func:`~recommendations.engine.base.as_history`. ``exclude``: item indices
        never to return. ``available``: boolean mask over items; False items are never returned.
        """
        self._check_fitted()
        items, weights = as_history(user, self._n_items())
        candidates, scores, anchors = self.score_history(items, weights)
        banned = np.concatenate((as_index_array(exclude), items))
        keep = _filter_mask(candidates, banned, available) & (scores > 0)
        candidates, scores, anchors = candidates[keep], scores[keep], anchors[keep]
        best = top_n(scores, n)
        return Recommendations.build(candidates[best], scores[best], self.reason, anchors[best])

    def similar_items(self, item: int, n: int = 10, *, exclude=None, available=None) -> Recommendations:
        """Return up to ``n`` neighbours of ``item`` (never the item itself), best first."""
        self._check_fitted()
        item = int(item)
        if not 0 <= item < self._n_items():
            raise IndexError(f"item {item} out of range 0..{self._n_items() - 1}")
        neighbors = self.neighbors_[item].astype(np.int64)
        scores = self.neighbor_scores_[item]
        keep = _filter_mask(neighbors, np.concatenate((as_index_array(exclude), [item])), available) & (scores > 0)
        neighbors, scores = neighbors[keep][:n], scores[keep][:n]
        return Recommendations.build(neighbors, scores, self.reason, np.full(neighbors.shape, item))

    def score_users(self, user_items: sp.spmatrix) -> np.ndarray:
        """Return dense float32 scores (n_users x n_items) for a batch of history rows (evaluation)."""
        return np.asarray((sp.csr_matrix(user_items, dtype=np.float32) @ self.similarity_matrix()).toarray())
