"""Repeat purchases: which products the store's customers buy again, how often, and what each customer is due for.

Learned from purchases alone, per product, with its category (and then the whole store) as
the fallback where a product has too little history:

- **repeat share**: the share of a product's buyers who bought it more than once, shrunk
  towards its category's share by ``prior_buyers`` pseudo-buyers (and a category's towards the
  store's), so a product with two buyers says little and a product with two thousand says a lot;
- **typical interval**: the median number of days between one customer's consecutive purchases
  of the product (the category's, then the store's, when it has fewer than ``min_intervals``);
- **repeatable**: repeat share of at least ``repeatable_share``; staff may override a whole
  category as consumable (always repeatable) or durable (never).

A customer's score for a product they bought is ``share * frequency * timing``: frequency
``n / (n + 1)`` for ``n`` purchases, and timing that rises with the time since their last
purchase until one typical interval has passed (the product is "due"), then fades slowly
(``overdue_cycles`` intervals later it has lost about two thirds). Durable products score nothing.
"""

from __future__ import annotations

from typing import Mapping, Optional

import numpy as np

from .base import BaseRecommender, Recommendations, as_index_array, top_n

REASON_REPEAT = "repeat"  # "You buy this about every 2 weeks" / "Bought 3 times"
DAY_SECONDS = 86_400.0
CONSUMABLE = "consumable"
DURABLE = "durable"
LEARNED = "learned"
CATEGORY_MODES = (LEARNED, CONSUMABLE, DURABLE)
DEFAULT_INTERVAL_DAYS = 30.0  # a store without a single repeat purchase yet
JUST_BOUGHT_TIMING = 0.1  # the timing of a product bought a moment ago: low, never zero
SAME_TRIP_SECONDS = 3_600.0


class RepeatModel(BaseRecommender):
    """Per-product repeat behaviour learned from purchases; scores a customer's own purchases at request time."""

    _state_arrays = ("buyers_", "repeat_share_", "interval_days_", "repeatable_", "item_categories_")
    _state_scalars = ("store_share_", "store_interval_days_")
    reason = REASON_REPEAT

    def __init__(
        self,
        *,
        prior_buyers: float = 10.0,
        min_intervals: int = 3,
        repeatable_share: float = 0.1,
        overdue_cycles: float = 3.0,
    ):
        self.prior_buyers = prior_buyers
        self.min_intervals = min_intervals
        self.repeatable_share = repeatable_share
        self.overdue_cycles = overdue_cycles

    def _n_items(self) -> int:
        return int(self.repeat_share_.size)

    def fit(
        self,
        users: np.ndarray,
        items: np.ndarray,
        timestamps: np.ndarray,
        *,
        n_items: int,
        item_categories: Optional[np.ndarray] = None,
        category_modes: Optional[Mapping[int, str]] = None,
    ) -> "RepeatModel":
        """Learn from purchase events (parallel arrays; timestamps in seconds).

        ``item_categories``: category index per item (-1: none). ``category_modes``: category
        index -> consumable | durable | learned, the staff's overrides.
        """
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        timestamps = np.asarray(timestamps, dtype=np.float64)
        if not users.size == items.size == timestamps.size:
            raise ValueError("users, items and timestamps differ in length")
        categories = np.full(n_items, -1, dtype=np.int64) if item_categories is None else np.asarray(item_categories, dtype=np.int64)
        if categories.size != n_items:
            raise ValueError(f"item_categories has {categories.size} entries for {n_items} items")
        buyers, repeaters, gaps, gap_items = _purchase_counts(users, items, timestamps, n_items)

        self.store_share_ = float(repeaters.sum() / buyers.sum()) if buyers.sum() else 0.0
        gap_days = gaps / DAY_SECONDS
        self.store_interval_days_ = float(np.median(gap_days)) if gap_days.size else DEFAULT_INTERVAL_DAYS
        n_categories = int(categories.max()) + 1 if categories.size and categories.max() >= 0 else 0
        in_category = categories >= 0
        category_buyers = np.bincount(categories[in_category], weights=buyers[in_category], minlength=n_categories)
        category_repeaters = np.bincount(categories[in_category], weights=repeaters[in_category], minlength=n_categories)
        category_share = _shrunk(category_repeaters, category_buyers, self.store_share_, self.prior_buyers)
        prior = np.where(in_category, category_share[np.maximum(categories, 0)] if n_categories else self.store_share_, self.store_share_)

        self.buyers_ = buyers.astype(np.int32)
        self.repeat_share_ = _shrunk(repeaters, buyers, prior, self.prior_buyers).astype(np.float32)
        self.interval_days_ = self._intervals(gap_days, gap_items, categories, n_items, n_categories).astype(np.float32)
        self.item_categories_ = categories.astype(np.int32)
        self.repeatable_ = self.repeat_share_ >= float(self.repeatable_share)
        for category, mode in (category_modes or {}).items():
            if mode not in CATEGORY_MODES:
                raise ValueError(f"unknown category mode {mode!r}; expected one of {CATEGORY_MODES}")
            if mode != LEARNED:
                self.repeatable_[categories == int(category)] = mode == CONSUMABLE
        return self

    def _intervals(self, gap_days, gap_items, categories, n_items: int, n_categories: int) -> np.ndarray:
        """Return each item's median gap in days: its own, else its category's, else the store's."""
        intervals = np.full(n_items, self.store_interval_days_, dtype=np.float64)
        if n_categories:
            gap_categories = categories[gap_items]
            for category in np.unique(gap_categories[gap_categories >= 0]):
                chosen = gap_days[gap_categories == category]
                if chosen.size >= int(self.min_intervals):
                    intervals[categories == category] = np.median(chosen)
        order = np.argsort(gap_items, kind="stable")
        sorted_items, sorted_gaps = gap_items[order], gap_days[order]
        starts = np.flatnonzero(np.r_[True, sorted_items[1:] != sorted_items[:-1]]) if sorted_items.size else np.zeros(0, dtype=int)
        for start, end in zip(starts, np.r_[starts[1:], sorted_items.size]):
            if end - start >= int(self.min_intervals):
                intervals[sorted_items[start]] = np.median(sorted_gaps[start:end])
        return np.maximum(intervals, 1.0)  # at least a day

    # -- scoring ------------------------------------------------------------------------
    def score_purchases(self, items: np.ndarray, timestamps: np.ndarray, now: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(items, scores, purchase counts)`` for one customer's purchases, repeatable items only, by item index."""
        self._check_fitted()
        items = np.asarray(items, dtype=np.int64)
        timestamps = np.asarray(timestamps, dtype=np.float64)
        known = (items >= 0) & (items < self._n_items())
        items, timestamps = items[known], timestamps[known]
        if items.size == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, np.zeros(0, dtype=np.float32), empty
        unique, positions, counts = np.unique(items, return_inverse=True, return_counts=True)
        last = np.full(unique.size, -np.inf)
        np.maximum.at(last, positions, timestamps)
        scores = self.scores_for(unique, counts, now - last)
        keep = self.repeatable_[unique]
        return unique[keep], scores[keep], counts[keep]

    def scores_for(self, items: np.ndarray, counts: np.ndarray, seconds_since_last: np.ndarray) -> np.ndarray:
        """Return the repeat score of items bought ``counts`` times, the last ``seconds_since_last`` ago."""
        due = np.maximum(np.asarray(seconds_since_last, dtype=np.float64), 0.0) / (self.interval_days_[items] * DAY_SECONDS)
        rising = JUST_BOUGHT_TIMING + (1.0 - JUST_BOUGHT_TIMING) * np.minimum(due, 1.0)
        timing = np.where(due <= 1.0, rising, np.exp(-(due - 1.0) / float(self.overdue_cycles)))
        frequency = counts / (counts + 1.0)
        return (self.repeat_share_[items] * frequency * timing).astype(np.float32)

    def recommend(self, user=None, n: int = 10, *, exclude=None, available=None, now: Optional[float] = None) -> Recommendations:
        """Return the customer's repeatable purchases they are most likely to buy again.

        ``user``: ``(items, timestamps)`` of their purchases (seconds); ``now`` defaults to their latest purchase.
        """
        self._check_fitted()
        if user is None:
            return Recommendations.empty()
        items, timestamps = (np.asarray(part) for part in user)
        if items.size == 0:
            return Recommendations.empty()
        reference = float(np.max(timestamps)) if now is None else float(now)
        found, scores, _ = self.score_purchases(items, timestamps, reference)
        keep = scores > 0
        banned = as_index_array(exclude)
        if banned.size:
            keep &= ~np.isin(found, banned)
        if available is not None:
            keep &= np.asarray(available, dtype=bool)[found]
        found, scores = found[keep], scores[keep]
        best = top_n(scores, n)
        return Recommendations.build(found[best], scores[best], REASON_REPEAT)

    def similar_items(self, item: int, n: int = 10, *, exclude=None, available=None) -> Recommendations:
        """A repeat model has no item-to-item notion: nothing is similar."""
        return Recommendations.empty()


def _purchase_counts(users, items, timestamps, n_items: int):
    """Return per item (buyers, buyers who came back for it) and every gap (seconds) between one customer's purchase trips.

    Purchases of an item less than ``SAME_TRIP_SECONDS`` after the customer's previous one are
    the same trip (two units in one order), not a repeat.
    """
    if users.size == 0:
        zeros = np.zeros(n_items, dtype=np.float64)
        return zeros, zeros.copy(), np.zeros(0), np.zeros(0, dtype=np.int64)
    order = np.lexsort((timestamps, items, users))
    users, items, timestamps = users[order], items[order], timestamps[order]
    pair_start = np.r_[True, (users[1:] != users[:-1]) | (items[1:] != items[:-1])]
    gaps = np.diff(timestamps, prepend=timestamps[0])
    new_trip = ~pair_start & (gaps >= SAME_TRIP_SECONDS)
    pair_of = np.cumsum(pair_start) - 1
    pair_items = items[pair_start]
    came_back = np.bincount(pair_of[new_trip], minlength=pair_items.size) > 0
    buyers = np.bincount(pair_items, minlength=n_items).astype(np.float64)
    repeaters = np.bincount(pair_items[came_back], minlength=n_items).astype(np.float64)
    return buyers, repeaters, gaps[new_trip], items[new_trip]


def _shrunk(hits: np.ndarray, trials: np.ndarray, prior, strength: float) -> np.ndarray:
    """Return ``(hits + strength * prior) / (trials + strength)``: the prior wherever there are no trials."""
    return (np.asarray(hits, dtype=np.float64) + float(strength) * np.asarray(prior, dtype=np.float64)) / (
        np.asarray(trials, dtype=np.float64) + float(strength)
    )
