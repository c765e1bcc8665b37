"""Sparse top-K neighbour lists: block-wise products, per-row top-K, and request-time scoring.

A similarity matrix is never materialised whole: rows are computed in blocks whose size
is chosen from an upper bound on their non-zeros, the top K of each row is taken straight
from the sparse block (no densifying), and blocks run on a small thread pool (scipy's
sparse product releases the GIL).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional

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

#: ``transform(block, rows, cols)`` rewrites ``block.data`` in place; ``rows``/``cols`` are
#: the global row and column index of every stored value.
BlockTransform = Callable[[sp.csr_matrix, np.ndarray, np.ndarray], None]

DEFAULT_BLOCK_NNZ = 8_000_000


def top_k_sparse_rows(block: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(indices, values)`` of the k largest positive values of each row, best first.

    Shapes are (n_rows, k), padded with -1 / 0. Ties go to the lower column index.
    Works on the stored values only: nothing is densified.
    """
    n_rows = block.shape[0]
    out_idx = np.full((n_rows, k), -1, dtype=np.int32)
    out_val = np.zeros((n_rows, k), dtype=np.float32)
    if k <= 0 or block.nnz == 0:
        return out_idx, out_val
    indptr, indices, data = block.indptr, block.indices, block.data
    keep = data > 0
    if not keep.all():
        block = block.copy()
        block.data[block.data <= 0] = 0
        block.eliminate_zeros()
        indptr, indices, data = block.indptr, block.indices, block.data
    lengths = np.diff(indptr)
    small = np.flatnonzero((lengths > 0) & (lengths <= k))
    if small.size:
        rows = np.repeat(small, lengths[small])
        pos = _ranges(indptr, small)
        order = np.lexsort((indices[pos], -data[pos], rows))
        pos, rows = pos[order], rows[order]
        starts = np.repeat(np.cumsum(lengths[small]) - lengths[small], lengths[small])
        slot = np.arange(pos.size) - starts
        out_idx[rows, slot] = indices[pos]
        out_val[rows, slot] = data[pos]
    for r in np.flatnonzero(lengths > k):
        start, end = indptr[r], indptr[r + 1]
        vals = data[start:end]
        cols = indices[start:end]
        cut = len(vals) - k
        kth = np.partition(vals, cut)[cut]
        above = np.flatnonzero(vals > kth)
        ties = np.flatnonzero(vals == kth)
        if above.size + ties.size > k:
            ties = ties[np.argsort(cols[ties], kind="stable")][: k - above.size]
        chosen = np.concatenate((above, ties))
        chosen = chosen[np.lexsort((cols[chosen], -vals[chosen]))]
        out_idx[r] = cols[chosen]
        out_val[r] = vals[chosen]
    return out_idx, out_val


def _ranges(indptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Return the concatenated stored-value positions of ``rows`` (vectorised ``arange``s)."""
    lengths = indptr[rows + 1] - indptr[rows]
    total = int(lengths.sum())
    offsets = np.repeat(indptr[rows] - (np.cumsum(lengths) - lengths), lengths)
    return np.arange(total, dtype=np.int64) + offsets


def plan_blocks(row_cost: np.ndarray, budget: int, max_rows: int = 4096) -> list[tuple[int, int]]:
    """Cut rows into consecutive ``(start, end)`` blocks whose summed cost stays near ``budget``."""
    n = row_cost.size
    blocks = []
    start = 0
    cumulative = np.cumsum(row_cost, dtype=np.float64)
    while start < n:
        base = cumulative[start - 1] if start else 0.0
        end = int(np.searchsorted(cumulative, base + budget, side="right"))
        end = min(max(end, start + 1), start + max_rows, n)
        blocks.append((start, end))
        start = end
    return blocks


def blocked_top_k(
    left: sp.csr_matrix,
    right: sp.csr_matrix,
    k: int,
    *,
    transform: Optional[BlockTransform] = None,
    exclude_self: bool = True,
    block_nnz: int = DEFAULT_BLOCK_NNZ,
    n_jobs: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the top-k columns of each row of ``left @ right`` as (n_rows, k) int32/float32 arrays.

    ``exclude_self`` drops the diagonal (row i never lists column i). Block sizes come from an
    upper bound on each row's non-zeros so that no block holds more than about ``block_nnz`` values.
    """
    left = sp.csr_matrix(left)
    right = sp.csr_matrix(right)
    n_rows, n_cols = left.shape[0], right.shape[1]
    neighbors = np.full((n_rows, k), -1, dtype=np.int32)
    scores = np.zeros((n_rows, k), dtype=np.float32)
    if n_rows == 0 or k <= 0:
        return neighbors, scores
    right_row_nnz = np.diff(right.indptr).astype(np.float64)
    pattern = sp.csr_matrix((np.ones(left.nnz), left.indices, left.indptr), shape=left.shape)
    cost = np.minimum(pattern @ right_row_nnz, n_cols) + 1.0
    blocks = plan_blocks(cost, block_nnz)

    def run(bounds: tuple[int, int]) -> tuple[int, np.ndarray, np.ndarray]:
        start, end = bounds
        product = (left[start:end] @ right).tocsr()
        if product.nnz:
            rows = np.repeat(np.arange(start, end), np.diff(product.indptr))
            if transform is not None:
                transform(product, rows, product.indices)
            if exclude_self:
                product.data[product.indices == rows] = 0
            product.data[product.data < 0] = 0
            product.eliminate_zeros()  # in place, so top_k_sparse_rows needs no copy
        idx, val = top_k_sparse_rows(product, k)
        return start, idx, val

    if n_jobs and n_jobs > 1 and len(blocks) > 1:
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            results = pool.map(run, blocks)
            for start, idx, val in results:
                neighbors[start : start + idx.shape[0]] = idx
                scores[start : start + idx.shape[0]] = val
    else:
        for bounds in blocks:
            start, idx, val = run(bounds)
            neighbors[start : start + idx.shape[0]] = idx
            scores[start : start + idx.shape[0]] = val
    return neighbors, scores


def top_k_dense_rows(
    matrix: np.ndarray, k: int, *, exclude_self: bool = True, by_magnitude: bool = False, chunk: int = 1024
):
    """Return the top-k entries per row of a dense matrix, sorted by value, best first.

    Positive entries only, or with ``by_magnitude`` the k largest in absolute value, negative
    ones kept (they push items down at scoring time).
    """
    n_rows, n_cols = matrix.shape
    k_eff = min(k, n_cols)
    neighbors = np.full((n_rows, k), -1, dtype=np.int32)
    scores = np.zeros((n_rows, k), dtype=np.float32)
    for start in range(0, n_rows, chunk):
        block = np.array(matrix[start : start + chunk], dtype=np.float32, copy=True)
        rows = np.arange(block.shape[0])
        if exclude_self:
            diag = rows + start
            inside = diag < n_cols
            block[rows[inside], diag[inside]] = 0.0
        key = np.abs(block) if by_magnitude else block
        if k_eff < n_cols:
            part = np.argpartition(-key, k_eff - 1, axis=1)[:, :k_eff]
        else:
            part = np.broadcast_to(np.arange(n_cols), block.shape).copy()
        vals = np.take_along_axis(block, part, axis=1)
        kept = vals != 0 if by_magnitude else vals > 0
        order = np.lexsort((part, -vals, ~kept), axis=1)  # kept entries first, by value
        part = np.take_along_axis(part, order, axis=1)
        vals = np.take_along_axis(vals, order, axis=1)
        kept = np.take_along_axis(kept, order, axis=1)
        neighbors[start : start + block.shape[0], :k_eff] = np.where(kept, part, -1)
        scores[start : start + block.shape[0], :k_eff] = np.where(kept, vals, 0)
    return neighbors, scores


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
