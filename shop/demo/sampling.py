"""Weighted draws within groups, vectorised: millions of draws in one searchsorted call."""

import numpy as np


class WeightedGroups:
    """Options grouped by an integer key, drawn with probability proportional to their weight within a group.

    All options are laid out group after group on one cumulative-weight axis, so a draw
    for group g is a uniform number scaled into g's stretch of that axis followed by a
    binary search. That keeps any number of draws, each from its own group, vectorised.
    """

    def __init__(self, keys: np.ndarray, weights: np.ndarray, n_keys: int):
        keys = np.asarray(keys, dtype=np.int64)
        weights = np.asarray(weights, dtype=np.float64)
        usable = (keys >= 0) & (weights > 0)
        options = np.flatnonzero(usable)
        options = options[np.argsort(keys[options], kind="stable")]
        self.options = options
        self.cumulative = np.cumsum(weights[options])
        sorted_keys = keys[options]
        present, first = np.unique(sorted_keys, return_index=True)
        last = np.append(first[1:], len(options))
        self.first = np.full(n_keys, -1, dtype=np.int64)
        self.last = np.full(n_keys, -1, dtype=np.int64)
        self.first[present] = first
        self.last[present] = last
        self.size = np.zeros(n_keys, dtype=np.int64)
        self.size[present] = last - first

    def has(self, keys: np.ndarray) -> np.ndarray:
        """Return, per key, whether its group has at least one option."""
        keys = np.asarray(keys)
        inside = (keys >= 0) & (keys < len(self.size))
        result = np.zeros(keys.shape, dtype=bool)
        result[inside] = self.size[keys[inside]] > 0
        return result

    def draw(self, keys: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
        """Return one option per key, drawn by weight within the key's group; -1 where the group is empty."""
        keys = np.asarray(keys, dtype=np.int64)
        result = np.full(keys.shape, -1, dtype=np.int64)
        ok = self.has(keys)
        if not ok.any():
            return result
        first = self.first[keys[ok]]
        last = self.last[keys[ok]]
        low = np.where(first > 0, self.cumulative[np.maximum(first - 1, 0)], 0.0)
        high = self.cumulative[last - 1]
        targets = low + uniforms[ok] * (high - low)
        positions = np.searchsorted(self.cumulative, targets, side="right")
        positions = np.clip(positions, first, last - 1)
        result[ok] = self.options[positions]
        return result


def largest_remainder_counts(total: int, weights: np.ndarray, minimum: int = 0) -> np.ndarray:
    """Split total into integer counts proportional to weights (each at least minimum, when total allows)."""
    weights = np.asarray(weights, dtype=np.float64)
    floor_each = minimum if total >= minimum * len(weights) else 0
    remaining = total - floor_each * len(weights)
    shares = remaining * weights / weights.sum()
    counts = np.floor(shares).astype(np.int64)
    shortfall = remaining - int(counts.sum())
    if shortfall:
        order = np.argsort(-(shares - counts), kind="stable")
        counts[order[:shortfall]] += 1
    return counts + floor_each
