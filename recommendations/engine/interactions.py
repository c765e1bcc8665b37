"""Build the weighted customer x product matrix from raw interaction events.

Events arrive as parallel arrays (user index, item index, event kind, timestamp in
seconds). Each event contributes ``event_weight[kind] * 0.5 ** (age_days / half_life_days)``
to its cell; repeated events on the same cell are summed.
"""

from __future__ import annotations

from typing import Mapping, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

#: Event kinds in code order: ``EVENT_KINDS.index("purchase") == 3``.
EVENT_KINDS: tuple[str, ...] = ("view", "click", "add_to_cart", "purchase")

#: Default weight per event kind: a purchase says more than a view.
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {"view": 1.0, "click": 2.0, "add_to_cart": 4.0, "purchase": 8.0}

SECONDS_PER_DAY = 86_400.0


def kind_codes(kinds) -> np.ndarray:
    """Return the int8 code of each event kind name (``"view"`` -> 0, ..., ``"purchase"`` -> 3).

    Raises ValueError naming the first unknown kind.
    """
    kinds = np.asarray(kinds)
    if kinds.dtype.kind in "iu":
        codes = kinds.astype(np.int8, copy=False)
        if codes.size and (codes.min() < 0 or codes.max() >= len(EVENT_KINDS)):
            raise ValueError(f"event kind codes must be in 0..{len(EVENT_KINDS) - 1}")
        return codes
    # Factorise first: millions of rows hold only a handful of distinct names.
    positions, names = pd.factorize(np.asarray(kinds, dtype=object).ravel())
    table = np.full(len(names) + 1, -1, dtype=np.int8)
    for position, name in enumerate(names):
        if name not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {name!r}; expected one of {', '.join(EVENT_KINDS)}")
        table[position] = EVENT_KINDS.index(name)
    codes = table[positions]  # a missing kind (position -1) maps to the -1 sentinel
    if (codes < 0).any():
        raise ValueError(f"missing event kind; expected one of {', '.join(EVENT_KINDS)}")
    return codes.reshape(kinds.shape)


def event_weight_table(event_weights: Mapping[str, float] | None = None) -> np.ndarray:
    """Return the weight of each kind code as a float64 array, defaults filled in."""
    weights = dict(DEFAULT_EVENT_WEIGHTS)
    if event_weights:
        unknown = set(event_weights) - set(EVENT_KINDS)
        if unknown:
            raise ValueError(f"unknown event kinds in event_weights: {sorted(unknown)}")
        weights.update(event_weights)
    return np.array([float(weights[name]) for name in EVENT_KINDS], dtype=np.float64)


def decay_factors(timestamps, *, half_life_days: float | None, reference_time: float | None = None) -> np.ndarray:
    """Return ``0.5 ** (age / half_life)`` per event; ones when ``half_life_days`` is None or 0.

    ``reference_time`` (seconds) defaults to the newest timestamp. Events newer than the
    reference count fully (factor 1), never more.
    """
    timestamps = np.asarray(timestamps, dtype=np.float64)
    if not half_life_days:
        return np.ones(timestamps.shape, dtype=np.float64)
    if half_life_days < 0:
        raise ValueError("half_life_days must be positive")
    if reference_time is None:
        reference_time = float(timestamps.max()) if timestamps.size else 0.0
    age_days = np.maximum(reference_time - timestamps, 0.0) / SECONDS_PER_DAY
    return np.exp2(-age_days / float(half_life_days))


def interaction_matrix(
    users,
    items,
    *,
    n_users: int,
    n_items: int,
    kinds=None,
    weights=None,
    timestamps=None,
    event_weights: Mapping[str, float] | None = None,
    half_life_days: float | None = None,
    reference_time: float | None = None,
) -> sp.csr_matrix:
    """Return the float32 csr user x item matrix of summed, weighted, decayed events.

    Give either ``kinds`` (names or codes, weighted by ``event_weights``) or explicit
    per-event ``weights`` (e.g. ratings); with neither, every event weighs 1. Decay needs
    ``timestamps`` (seconds) and ``half_life_days``.
    """
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    if users.shape != items.shape:
        raise ValueError("users and items must have the same length")
    if users.size and (users.min() < 0 or users.max() >= n_users):
        raise ValueError("user index out of range")
    if items.size and (items.min() < 0 or items.max() >= n_items):
        raise ValueError("item index out of range")
    if kinds is not None and weights is not None:
        raise ValueError("give kinds or weights, not both")
    if kinds is not None:
        values = event_weight_table(event_weights)[kind_codes(kinds)]
    elif weights is not None:
        values = np.asarray(weights, dtype=np.float64)
    else:
        values = np.ones(users.shape, dtype=np.float64)
    if half_life_days:
        if timestamps is None:
            raise ValueError("time decay needs timestamps")
        values = values * decay_factors(timestamps, half_life_days=half_life_days, reference_time=reference_time)
    # Sum in float64 first: many small decayed weights lose precision in float32.
    matrix = sp.csr_matrix((values, (users, items)), shape=(n_users, n_items), dtype=np.float64)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix.astype(np.float32)


class UserHistory(NamedTuple):
    """One customer's items at request time, oldest first, with their weights."""

    items: np.ndarray  # int64, each item once, ordered by last event time
    weights: np.ndarray  # float32, summed weighted and decayed events
    purchased: np.ndarray  # int64, items with a purchase event


def user_history(
    items,
    *,
    kinds=None,
    timestamps=None,
    event_weights: Mapping[str, float] | None = None,
    half_life_days: float | None = None,
    reference_time: float | None = None,
) -> UserHistory:
    """Return one customer's history from their raw events, the form ``recommend`` accepts.

    Items are ordered by their latest event (most recent last), so "recent items" are the tail.
    """
    items = np.asarray(items, dtype=np.int64)
    if items.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return UserHistory(empty, np.zeros(0, dtype=np.float32), empty)
    codes = kind_codes(kinds) if kinds is not None else np.zeros(items.shape, dtype=np.int8)
    values = event_weight_table(event_weights)[codes]
    if timestamps is None:
        timestamps = np.arange(items.size, dtype=np.float64)
        if half_life_days:
            raise ValueError("time decay needs timestamps")
    timestamps = np.asarray(timestamps, dtype=np.float64)
    if half_life_days:
        values = values * decay_factors(timestamps, half_life_days=half_life_days, reference_time=reference_time)
    unique, inverse = np.unique(items, return_inverse=True)
    summed = np.bincount(inverse, weights=values, minlength=unique.size)
    last_seen = np.full(unique.size, -np.inf)
    np.maximum.at(last_seen, inverse, timestamps)
    order = np.argsort(last_seen, kind="stable")
    purchased = np.unique(items[codes == EVENT_KINDS.index("purchase")])
    return UserHistory(unique[order], summed[order].astype(np.float32), purchased)
