"""Diversity re-ranking: maximal marginal relevance over content similarity, and a per-category cap.

Both work on a short, relevance-ordered candidate list (the hybrid passes its best
``POOL_FACTOR * n`` candidates), so the cost per request is bounded by the list length, never
by the catalogue. Similarity comes from the content model's top-K neighbour lists; a pair
outside both items' stored neighbours counts as 0 (not similar).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

#: The hybrid re-ranks at most this many times ``n`` of its best candidates.
POOL_FACTOR = 3


def candidate_similarity(neighbors: np.ndarray, neighbor_scores: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Return the symmetric (m x m) similarity of ``candidates`` from top-K neighbour lists.

    ``sim(a, b)`` is the larger of b's score in a's list and a's in b's (cosine is symmetric;
    a top-K cut may keep the pair in one list only); 0 when neither list holds it. The
    diagonal is 0. ``candidates`` must not repeat an item.
    """
    candidates = np.asarray(candidates, dtype=np.int64)
    m = candidates.size
    similarity = np.zeros((m, m), dtype=np.float32)
    if m < 2:
        return similarity
    order = np.argsort(candidates, kind="stable")
    ordered = candidates[order]
    listed = neighbors[candidates].astype(np.int64)  # m x K
    position = np.minimum(np.searchsorted(ordered, listed), m - 1)
    found = (ordered[position] == listed) & (listed >= 0)
    rows, slots = np.nonzero(found)
    similarity[rows, order[position[rows, slots]]] = neighbor_scores[candidates][rows, slots]
    similarity = np.maximum(similarity, similarity.T)
    np.fill_diagonal(similarity, 0.0)
    return similarity


def mmr_order(
    relevance: np.ndarray,
    similarity: np.ndarray,
    n: int,
    strength: float,
    *,
    categories: Optional[np.ndarray] = None,
    category_cap: int = 0,
) -> np.ndarray:
    """Return the positions of ``n`` candidates picked greedily by maximal marginal relevance.

    Each pick maximises ``(1 - strength) * rel(i) - strength * max_{j picked} sim(i, j)``,
    with ``rel`` the relevance divided by its maximum (so both terms lie in 0..1).
    ``strength`` 0 keeps the relevance order; 1 ignores relevance after the first pick.
    Candidates must come best first: ties go to the earlier position, so the order is
    deterministic. With ``category_cap`` > 0 a pick never makes more than that many items
    of one category (``categories``; negative = none, never capped) while other candidates
    remain; only when none does do capped items fill the rest, in the same marginal order,
    so diversity never shortens a list.
    """
    relevance = np.asarray(relevance, dtype=np.float64)
    m = relevance.size
    n = min(max(int(n), 0), m)
    if not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"diversity strength must lie in [0, 1], got {strength}")
    top = relevance.max() if m else 0.0
    relevance = relevance / top if top > 0 else np.zeros(m)
    capped = category_cap and category_cap > 0 and categories is not None
    if capped:
        categories = np.asarray(categories, dtype=np.int64)
        counts: dict[int, int] = {}
    closest = np.zeros(m)  # max similarity to anything picked so far
    open_ = np.ones(m, dtype=bool)
    picks = np.empty(n, dtype=np.int64)
    for step in range(n):
        value = (1.0 - strength) * relevance - strength * closest
        eligible = open_.copy()
        if capped:
            full = [c for c, count in counts.items() if count >= category_cap]
            if full:
                blocked = np.isin(categories, full) & (categories >= 0)
                if (eligible & ~blocked).any():
                    eligible &= ~blocked
        value[~eligible] = -np.inf
        pick = int(np.argmax(value))  # first maximum: the better-ranked candidate wins a tie
        picks[step] = pick
        open_[pick] = False
        closest = np.maximum(closest, similarity[pick])
        if capped and categories[pick] >= 0:
            counts[int(categories[pick])] = counts.get(int(categories[pick]), 0) + 1
    return picks
