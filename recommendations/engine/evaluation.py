"""Offline evaluation: train/test splits and scoring a model's top-K lists against held-out items."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

import numpy as np
import scipy.sparse as sp

from .base import Recommendations
from .metrics import ranking_metrics

#: Most score cells (users x items) of one dense batch: 4M cells keep a batch near 64 MB at any catalogue size.
SCORE_BATCH_CELLS = 4_000_000


def random_split(users, *, train_ratio: float = 0.75, seed: int = 42) -> np.ndarray:
    """Return a train mask: per user, a random ``round(train_ratio * n)`` of their rows.

    The MovieLens published protocol: one ``rand()`` per row in input order from
    ``RandomState(seed)`` (the stream of ``numpy.random.seed(seed)``), rows sorted by
    (user, draw), ranked 1..n within each user, train when rank <= round(ratio * n).
    """
    users = np.asarray(users)
    draws = np.random.RandomState(seed).rand(users.size)
    order = np.lexsort((draws, users))
    return _rank_mask(users, order, train_ratio)


def time_split(users, timestamps, *, test_ratio: float = 0.2) -> np.ndarray:
    """Return a train mask: each user's last ``test_ratio`` of rows by time are test.

    Ties in time keep input order. A user keeps ``round((1 - test_ratio) * n)`` rows in train.
    """
    users = np.asarray(users)
    timestamps = np.asarray(timestamps, dtype=np.float64)
    order = np.lexsort((np.arange(users.size), timestamps, users))
    return _rank_mask(users, order, 1.0 - test_ratio)


def _rank_mask(users: np.ndarray, order: np.ndarray, train_ratio: float) -> np.ndarray:
    sorted_users = users[order]
    starts = np.concatenate(([True], sorted_users[1:] != sorted_users[:-1]))
    group_start = np.maximum.accumulate(np.where(starts, np.arange(users.size), 0))
    rank = np.arange(users.size) - group_start + 1
    group_ids = np.cumsum(starts) - 1
    sizes = np.bincount(group_ids)
    limit = np.round(train_ratio * sizes)[group_ids]  # numpy rounds half to even, like Python's round
    mask = np.zeros(users.size, dtype=bool)
    mask[order] = rank <= limit
    return mask


def top_k_from_scores(scores: np.ndarray, k: int, seen: Optional[sp.spmatrix] = None) -> np.ndarray:
    """Return (n_users, k) top items per row of a dense score block, never a ``seen`` item; -1 padded."""
    scores = np.array(scores, dtype=np.float32, copy=True)
    if seen is not None:
        seen = sp.csr_matrix(seen)
        rows = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
        scores[rows, seen.indices] = -np.inf
    n_items = scores.shape[1]
    k_eff = min(k, n_items)
    part = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff] if k_eff < n_items else np.tile(np.arange(n_items), (scores.shape[0], 1))
    values = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -values), axis=1)
    part = np.take_along_axis(part, order, axis=1)
    values = np.take_along_axis(values, order, axis=1)
    part = np.where(np.isfinite(values), part, -1)
    if k_eff < k:
        part = np.pad(part, ((0, 0), (0, k - k_eff)), constant_values=-1)
    return part


def recommend_batch(
    model,
    history: sp.csr_matrix,
    users: np.ndarray,
    k: int,
    *,
    recency: Optional[sp.spmatrix] = None,
    batch_size: int = 512,
) -> np.ndarray:
    """Return (len(users), k) lists for rows ``users`` of ``history``, excluding their history items.

    Models with ``score_users`` are scored in dense batches; others through ``recommend``,
    one request per user (the serving path), with each history ordered oldest first by
    ``recency`` (same pattern as ``history``, values = last event time) when given.
    """
    history = sp.csr_matrix(history)
    users = np.asarray(users, dtype=np.int64)
    out = np.full((users.size, k), -1, dtype=np.int64)
    if hasattr(model, "score_users"):
        # A dense batch and its top-k working arrays take ~16 bytes a cell: cap the cells, not only the rows.
        batch_size = max(1, min(batch_size, SCORE_BATCH_CELLS // max(history.shape[1], 1)))
        for start in range(0, users.size, batch_size):
            rows = history[users[start : start + batch_size]]
            out[start : start + rows.shape[0]] = top_k_from_scores(model.score_users(rows), k, seen=rows)
        return out
    # Rows are sliced from the CSR arrays directly: scipy's row indexing costs more than a request.
    history = _canonical(history)
    recency = None if recency is None else _canonical(sp.csr_matrix(recency))
    for position, user in enumerate(users.tolist()):
        start, end = history.indptr[user], history.indptr[user + 1]
        row_items, row_weights = history.indices[start:end], history.data[start:end]
        if recency is not None:
            first, last = recency.indptr[user], recency.indptr[user + 1]
            order = np.argsort(recency.data[first:last], kind="stable")
            items = recency.indices[first:last][order]
            result: Recommendations = model.recommend((items, _weights_of(items, row_items, row_weights)), k)
        else:
            row = sp.csr_matrix((row_weights, row_items, [0, row_items.size]), shape=(1, history.shape[1]))
            result = model.recommend(row, k)
        out[position, : result.items.size] = result.items[:k]
    return out


def _weights_of(items: np.ndarray, row_items: np.ndarray, row_weights: np.ndarray) -> np.ndarray:
    """Return each item's weight in a sorted history row (0 for an item the row does not hold)."""
    if row_items.size == 0:
        return np.zeros(items.size, dtype=row_weights.dtype)
    found = np.minimum(np.searchsorted(row_items, items), row_items.size - 1)
    return np.where(row_items[found] == items, row_weights[found], 0).astype(row_weights.dtype)


def _canonical(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Return the matrix with sorted, summed indices (a copy when it has to change)."""
    if matrix.has_canonical_format:
        return matrix
    matrix = matrix.copy()
    matrix.sum_duplicates()
    return matrix


def held_out(train: sp.spmatrix, test: sp.spmatrix) -> tuple[np.ndarray, list[np.ndarray]]:
    """Return the users with test items not already in their train row, and those items."""
    train = sp.csr_matrix(train)
    test = sp.csr_matrix(test)
    new = test - test.multiply(train > 0)
    new.eliminate_zeros()
    new = sp.csr_matrix(new)
    users = np.flatnonzero(np.diff(new.indptr) > 0)
    return users, [new.indices[new.indptr[u] : new.indptr[u + 1]] for u in users]


def evaluate_model(
    model,
    train: sp.spmatrix,
    test: sp.spmatrix,
    *,
    k: int = 10,
    users: Optional[np.ndarray] = None,
    history: Optional[sp.spmatrix] = None,
    recency: Optional[sp.spmatrix] = None,
    similarity: Optional[sp.spmatrix] = None,
) -> dict[str, float]:
    """Return ranking metrics at k of ``model`` over the users with held-out test items.

    ``history`` (default ``train``) is what the model sees of each user at request time;
    ``recency`` orders it for models served request by request (see :func:`recommend_batch`);
    ``users`` restricts evaluation (e.g. a sample). Coverage is over ``train.shape[1]`` items;
    with an item x item ``similarity`` (content) the intra-list diversity ``ild`` is added.
    """
    candidates, relevant = held_out(train, test)
    if users is not None:
        keep = np.isin(candidates, users)
        candidates = candidates[keep]
        relevant = [r for r, flag in zip(relevant, keep) if flag]
    lists = recommend_batch(model, train if history is None else history, candidates, k, recency=recency)
    return ranking_metrics(lists, relevant, k, n_items=train.shape[1], similarity=similarity)


def evaluate_blends(
    make_hybrid: Callable[[float, float], Any],
    train: sp.spmatrix,
    test: sp.spmatrix,
    *,
    weights: Iterable[float] = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0),
    k: int = 10,
    users: Optional[np.ndarray] = None,
    recency: Optional[sp.spmatrix] = None,
) -> dict[float, dict[str, float]]:
    """Return metrics per content weight ``w`` of hybrids ``make_hybrid(w_content=w, w_cf=1 - w)``."""
    return {
        float(w): evaluate_model(make_hybrid(float(w), 1.0 - float(w)), train, test, k=k, users=users, recency=recency)
        for w in weights
    }
