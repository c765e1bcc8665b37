"""Ranking metrics at K with binary relevance; pure functions over arrays.

``recommended`` is an (n_users, k) integer array of item indices, best first, padded with -1.
``relevant`` is a list of per-user arrays of relevant item indices (or a csr user x item
matrix whose stored entries are relevant). Every metric is the mean over the rows given;
rows with no relevant item should be left out by the caller.
"""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np
import scipy.sparse as sp

Relevant = Union[Sequence[Sequence[int]], sp.spmatrix]


def _relevant_csr(relevant: Relevant, n_users: int, n_cols: int) -> sp.csr_matrix:
    if sp.issparse(relevant):
        matrix = sp.csr_matrix(relevant, dtype=np.float32)
        matrix.data[:] = 1.0
        return matrix
    if len(relevant) != n_users:
        raise ValueError(f"relevant has {len(relevant)} users, recommended has {n_users}")
    lengths = [len(r) for r in relevant]
    indices = np.concatenate([np.asarray(r, dtype=np.int64) for r in relevant]) if sum(lengths) else np.zeros(0, np.int64)
    width = max(n_cols, int(indices.max()) + 1 if indices.size else 0)
    indptr = np.concatenate(([0], np.cumsum(lengths)))
    matrix = sp.csr_matrix((np.ones(indices.size, dtype=np.float32), indices, indptr), shape=(n_users, width))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def hits(recommended: np.ndarray, relevant: Relevant, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(hit matrix (n_users, k) bool, number of relevant items per user)``."""
    recommended = np.asarray(recommended, dtype=np.int64)
    if recommended.ndim != 2:
        raise ValueError("recommended must be a 2-D array (users x ranks)")
    recommended = recommended[:, :k]
    n_users = recommended.shape[0]
    width = int(recommended.max()) + 1 if recommended.size else 0
    matrix = _relevant_csr(relevant, n_users, width)
    if matrix.shape[1] < width:
        matrix = sp.csr_matrix((matrix.data, matrix.indices, matrix.indptr), shape=(matrix.shape[0], width))
    valid = recommended >= 0
    rows = np.repeat(np.arange(n_users), recommended.shape[1]).reshape(recommended.shape)
    found = np.zeros(recommended.shape, dtype=bool)
    if valid.any():
        found[valid] = np.asarray(matrix[rows[valid], recommended[valid]]).ravel() > 0
    if found.shape[1] < k:
        found = np.pad(found, ((0, 0), (0, k - found.shape[1])))
    return found, np.diff(matrix.indptr)


def precision_at_k(recommended, relevant: Relevant, k: int) -> float:
    """Mean of (hits in the top k) / k."""
    found, _ = hits(recommended, relevant, k)
    return float(found.sum(axis=1).mean() / k) if found.shape[0] else 0.0


def recall_at_k(recommended, relevant: Relevant, k: int) -> float:
    """Mean of (hits in the top k) / (number of relevant items)."""
    found, n_relevant = hits(recommended, relevant, k)
    if not found.shape[0]:
        return 0.0
    return float(np.mean(found.sum(axis=1) / np.maximum(n_relevant, 1)))


def ndcg_at_k(recommended, relevant: Relevant, k: int) -> float:
    """Mean nDCG: gain 1 per hit, discount 1 / ln(1 + rank); ideal DCG over min(k, |relevant|) hits."""
    found, n_relevant = hits(recommended, relevant, k)
    if not found.shape[0]:
        return 0.0
    discounts = 1.0 / np.log(np.arange(2, k + 2))
    dcg = found @ discounts
    ideal = np.concatenate(([0.0], np.cumsum(discounts)))[np.minimum(n_relevant, k)]
    return float(np.mean(np.divide(dcg, ideal, out=np.zeros_like(dcg), where=ideal > 0)))


def map_at_k(recommended, relevant: Relevant, k: int) -> float:
    """Mean average precision: sum over hits of (hits so far / rank), divided by |relevant|."""
    found, n_relevant = hits(recommended, relevant, k)
    if not found.shape[0]:
        return 0.0
    precision_at_hit = np.cumsum(found, axis=1) / np.arange(1, k + 1) * found
    return float(np.mean(precision_at_hit.sum(axis=1) / np.maximum(n_relevant, 1)))


def hit_rate_at_k(recommended, relevant: Relevant, k: int) -> float:
    """Share of users with at least one hit in the top k."""
    found, _ = hits(recommended, relevant, k)
    return float(found.any(axis=1).mean()) if found.shape[0] else 0.0


def catalogue_coverage(recommended, n_items: int) -> float:
    """Share of the catalogue's ``n_items`` that appear in at least one list."""
    recommended = np.asarray(recommended, dtype=np.int64)
    if n_items <= 0:
        return 0.0
    return float(np.unique(recommended[recommended >= 0]).size / n_items)


def intra_list_diversity(recommended, similarity: sp.spmatrix) -> float:
    """Mean over lists of the mean ``1 - sim(a, b)`` over each list's unordered pairs of items.

    ``similarity`` is an item x item matrix (e.g. the content model's neighbour lists); a pair
    counts with the larger of ``sim(a, b)`` and ``sim(b, a)``, and a pair not stored counts
    as 0. Lists with fewer than two items are left out; 0.0 when none has two.
    """
    recommended = np.asarray(recommended, dtype=np.int64)
    if recommended.ndim != 2 or recommended.shape[1] < 2:
        return 0.0
    similarity = sp.csr_matrix(similarity)
    a, b = np.triu_indices(recommended.shape[1], k=1)
    first, second = recommended[:, a], recommended[:, b]
    valid = (first >= 0) & (second >= 0)
    rows = np.nonzero(valid)[0]
    first, second = first[valid], second[valid]
    pair_similarity = np.zeros(first.size)
    if first.size:
        forward = np.asarray(similarity[first, second]).ravel()
        backward = np.asarray(similarity[second, first]).ravel()
        pair_similarity = np.maximum(forward, backward)
    n_rows = recommended.shape[0]
    pairs = np.bincount(rows, minlength=n_rows)
    dissimilarity = np.bincount(rows, weights=1.0 - pair_similarity, minlength=n_rows)
    listed = pairs > 0
    if not listed.any():
        return 0.0
    return float(np.mean(dissimilarity[listed] / pairs[listed]))


def ranking_metrics(
    recommended, relevant: Relevant, k: int, n_items: int | None = None, similarity: sp.spmatrix | None = None
) -> dict[str, float]:
    """Return precision, recall, ndcg, map, hit_rate at k; coverage with ``n_items``, ild with ``similarity``."""
    found, n_relevant = hits(recommended, relevant, k)
    result = {
        "precision": precision_at_k(recommended, relevant, k),
        "recall": recall_at_k(recommended, relevant, k),
        "ndcg": ndcg_at_k(recommended, relevant, k),
        "map": map_at_k(recommended, relevant, k),
        "hit_rate": hit_rate_at_k(recommended, relevant, k),
        "users": int(found.shape[0]),
    }
    if n_items is not None:
        result["coverage"] = catalogue_coverage(recommended, n_items)
    if similarity is not None:
        result["ild"] = intra_list_diversity(np.asarray(recommended)[:, :k], similarity)
    return result
