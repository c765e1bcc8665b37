"""Vectorised pieces for simulating interleaving experiments: sampled rankings and many team drafts at once.

Pure numpy (no Django), shared by the acceptance simulations in the tests and by
``bench/interleaving_power.py``. :func:`team_draft_batch` is the engine's
:func:`recommendations.engine.interleaving.team_draft` for thousands of list pairs at once; the
tests check the two against each other.
"""

from __future__ import annotations

import numpy as np


def ranked_lists(rng: np.random.Generator, weights: np.ndarray, count: int, k: int) -> np.ndarray:
    """Return ``count`` lists of ``k`` distinct items sampled successively in proportion to ``weights``.

    Drawing with replacement and keeping the first k distinct items is exactly successive sampling
    without replacement (Plackett-Luce); rows short of k distinct items draw more, none is rejected.
    """
    cdf = np.cumsum(weights)

    def draw(rows: int, width: int) -> np.ndarray:
        return np.searchsorted(cdf, rng.random((rows, width)) * cdf[-1], side="right")

    lists = np.empty((count, k), dtype=np.int64)
    pending = np.arange(count)
    draws = draw(count, k + 4)
    while True:
        width = draws.shape[1]
        earlier = np.tril(np.ones((width, width), dtype=bool), -1)
        first = ~((draws[:, :, None] == draws[:, None, :]) & earlier).any(axis=2)
        keep = first & (np.cumsum(first, axis=1) <= k)
        done = keep.sum(axis=1) == k
        lists[pending[done]] = draws[done][keep[done]].reshape(-1, k)
        if done.all():
            return lists
        pending = pending[~done]
        draws = np.concatenate([draws[~done], draw(pending.size, k)], axis=1)


def _next_unshown(padded: np.ndarray, length: int, cursor: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """Move each row's cursor past items already shown; ``padded`` has a -1 column after the ``length`` real ones."""
    rows = np.arange(padded.shape[0])
    while True:
        candidate = padded[rows, np.minimum(cursor, length)]
        taken = (cursor < length) & (candidate[:, None] == shown).any(axis=1)
        if not taken.any():
            return cursor
        cursor = cursor + taken


def team_draft_batch(lists_a: np.ndarray, lists_b: np.ndarray, k: int, tie_coins: np.ndarray):
    """Return team-draft merges of many list pairs at once: (items, credited_to_a), -1 past a list's end.

    The j-th tie in picks of a row is broken by ``tie_coins[row, j]`` (True: A first), which is how
    :func:`team_draft` spends its ``random.Random(seed).random() < 0.5`` draws; checked against it at start.
    """
    rows = np.arange(lists_a.shape[0])
    length_a, length_b = lists_a.shape[1], lists_b.shape[1]
    lists_a = np.pad(lists_a, ((0, 0), (0, 1)), constant_values=-1)
    lists_b = np.pad(lists_b, ((0, 0), (0, 1)), constant_values=-1)
    items = np.full((rows.size, k), -1, dtype=np.int64)
    credited_a = np.zeros((rows.size, k), dtype=bool)
    cursor_a, cursor_b = np.zeros(rows.size, dtype=np.int64), np.zeros(rows.size, dtype=np.int64)
    picks_a, picks_b = np.zeros(rows.size, dtype=np.int64), np.zeros(rows.size, dtype=np.int64)
    ties = np.zeros(rows.size, dtype=np.int64)
    for position in range(k):
        cursor_a = _next_unshown(lists_a, length_a, cursor_a, items[:, :position])
        cursor_b = _next_unshown(lists_b, length_b, cursor_b, items[:, :position])
        a_left, b_left = cursor_a < length_a, cursor_b < length_b
        tie = a_left & b_left & (picks_a == picks_b)
        coin = tie_coins[rows, np.minimum(ties, tie_coins.shape[1] - 1)]
        ties += tie
        pick_a = a_left & (~b_left | (picks_a < picks_b) | (tie & coin))
        pick_b = b_left & ~pick_a
        items[:, position] = np.where(pick_a, lists_a[rows, cursor_a], lists_b[rows, cursor_b])
        credited_a[:, position] = pick_a
        cursor_a += pick_a
        cursor_b += pick_b
        picks_a += pick_a
        picks_b += pick_b
    return items, credited_a
