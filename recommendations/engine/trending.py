"""Trending: time-decayed event counts per item, overall and per category; the cold-start fallback."""

from __future__ import annotations

from typing import Optional

import numpy as np
import scipy.sparse as sp

from .base import (
    REASON_TRENDING,
    REASON_TRENDING_CATEGORY,
    BaseRecommender,
    Recommendations,
    as_history,
    as_index_array,
)


class TrendingModel(BaseRecommender):
    """Rank items by their summed (weighted, time-decayed) events.

    Fit on a user x item matrix built with a short half-life (e.g. 7 days, "this week"):
    an item's score is its column sum. Every item is ranked (items without events last,
    by index), so the fallback can always fill a list.
    """

    _state_arrays = ("scores_", "order_", "item_categories_", "category_indptr_", "category_order_")
    reason = REASON_TRENDING

    def __init__(self):
        pass

    def _n_items(self) -> int:
        return self.scores_.shape[0]

    def fit(self, user_items, item_categories: Optional[np.ndarray] = None) -> "TrendingModel":
        """Learn item scores from a user x item matrix (or a 1-D array of per-item scores).

        ``item_categories``: category index per item (-1 for none).
        """
        if sp.issparse(user_items):
            scores = np.asarray(user_items.sum(axis=0), dtype=np.float64).ravel()
        else:
            scores = np.asarray(user_items, dtype=np.float64).ravel()
        n_items = scores.size
        if item_categories is None:
            categories = np.full(n_items, -1, dtype=np.int32)
        else:
            categories = np.asarray(item_categories, dtype=np.int32).ravel()
            if categories.size != n_items:
                raise ValueError(f"item_categories has {categories.size} entries for {n_items} items")
        self.scores_ = scores.astype(np.float32)
        self.order_ = np.lexsort((np.arange(n_items), -scores)).astype(np.int32)
        n_categories = int(categories.max()) + 1 if categories.size and categories.max() >= 0 else 0
        # Items grouped by category, each group in trending order; items without a category left out.
        ranked_categories = categories[self.order_]
        grouped = np.argsort(ranked_categories, kind="stable")
        grouped = grouped[ranked_categories[grouped] >= 0]
        self.category_order_ = self.order_[grouped].astype(np.int32)
        counts = np.bincount(categories[categories >= 0], minlength=n_categories)
        self.category_indptr_ = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        self.item_categories_ = categories
        return self

    @property
    def n_categories_(self) -> int:
        self._check_fitted()
        return int(self.category_indptr_.size - 1)

    def ranked(self, category: Optional[int] = None) -> np.ndarray:
        """Return all items (of ``category`` if given) in trending order."""
        self._check_fitted()
        if category is None or category < 0:
            return self.order_
        if category >= self.n_categories_:
            return np.zeros(0, dtype=np.int32)
        return self.category_order_[self.category_indptr_[category] : self.category_indptr_[category + 1]]

    def top(self, n: int, *, category: Optional[int] = None, exclude=None, available=None) -> Recommendations:
        """Return the ``n`` most trending items (of ``category`` if given) that pass the filters."""
        self._check_fitted()
        ranked = self.ranked(category)
        banned = as_index_array(exclude)
        reason = REASON_TRENDING if category is None or category < 0 else REASON_TRENDING_CATEGORY
        chosen = np.zeros(0, dtype=np.int64)
        # Scan a prefix that grows until enough items pass: O(n) for typical requests.
        size = max(4 * n, n + banned.size + 16)
        while True:
            prefix = ranked[:size].astype(np.int64)
            keep = ~np.isin(prefix, banned) if banned.size else np.ones(prefix.size, dtype=bool)
            if available is not None:
                keep &= np.asarray(available, dtype=bool)[prefix]
            chosen = prefix[keep][:n]
            if chosen.size >= n or size >= ranked.size:
                break
            size *= 4
        return Recommendations.build(chosen, self.scores_[chosen], reason)

    def recommend(self, user=None, n: int = 10, *, exclude=None, available=None, category=None) -> Recommendations:
        """Return trending items, never one already in the customer's history."""
        self._check_fitted()
        items, _ = as_history(user, self._n_items())
        banned = np.concatenate((as_index_array(exclude), items))
        return self.top(n, category=category, exclude=banned, available=available)

    def similar_items(self, item: int, n: int = 10, *, exclude=None, available=None) -> Recommendations:
        """Return the trending items of ``item``'s category (overall if it has none), never ``item``."""
        self._check_fitted()
        item = int(item)
        if not 0 <= item < self._n_items():
            raise IndexError(f"item {item} out of range 0..{self._n_items() - 1}")
        category = int(self.item_categories_[item])
        banned = np.concatenate((as_index_array(exclude), [item]))
        result = self.top(n, category=category if category >= 0 else None, exclude=banned, available=available)
        return result._replace(anchors=np.full(result.items.shape, item, dtype=np.int64))

    def score_users(self, user_items: sp.spmatrix) -> np.ndarray:
        """Return the same trending scores for every row of a batch (evaluation)."""
        self._check_fitted()
        return np.broadcast_to(self.scores_, (user_items.shape[0], self._n_items())).copy()
