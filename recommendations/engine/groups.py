"""Item groups (variants of one product: sizes, colours, ages) in ranked lists.

A list shows one product per group. ``groups`` maps each item index to a group number, -1
for an item without variants (a group of its own). The serving layer picks the shown
variant when it renders, after its last availability check; here it only learns how many
candidates to ask for and how many of them to keep.
"""

from __future__ import annotations

import numpy as np

from .base import Recommendations

NO_GROUP = -1


def candidates_for(n: int, largest_group: int, n_items: int) -> int:
    """Return how many ranked candidates surely hold ``n`` groups besides the current product's.

    In the worst case every group ranks all its variants before the next group appears, and
    the current product's other variants rank first.
    """
    if largest_group <= 1:
        return n
    return max(n, min(n * largest_group + largest_group - 1, n_items))


def distinct_group_prefix(found: Recommendations, groups: np.ndarray, n: int, *, hidden_group: int = NO_GROUP) -> Recommendations:
    """Return the shortest ranked prefix of ``found`` holding ``n`` groups, items of ``hidden_group`` left out.

    A group's later variants inside the prefix stay, so the renderer can still show the
    next one when the best turns out to be unavailable.
    """
    if found.items.size == 0:
        return found
    item_groups = np.asarray(groups)[found.items]
    keep = item_groups != hidden_group if hidden_group != NO_GROUP else np.ones(found.items.size, dtype=bool)
    # An item without a group counts as a group of its own: give it a key no group has.
    keys = np.where(item_groups == NO_GROUP, -2 - found.items, item_groups)[keep]
    _, first_seen = np.unique(keys, return_index=True)
    first_seen.sort()
    kept = np.flatnonzero(keep)
    end = kept[first_seen[n]] if first_seen.size > n else found.items.size
    keep[end:] = False
    return Recommendations(*(getattr(found, name)[keep] for name in Recommendations._fields))
