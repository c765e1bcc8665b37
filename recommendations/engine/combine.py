"""Combining ranked lists: filling a short list from trending, merging lists by score."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .base import Recommendations, as_index_array
from .trending import TrendingModel


def concatenate(pieces: Sequence[Recommendations]) -> Recommendations:
    """Return the pieces one after the other, in the order given."""
    return Recommendations(*(np.concatenate([getattr(piece, name) for piece in pieces]) for name in Recommendations._fields))


def fill_from_trending(
    found: Recommendations,
    n: int,
    trending: Optional[TrendingModel],
    *,
    category: Optional[int] = None,
    exclude=None,
    available=None,
) -> Recommendations:
    """Append trending items (``category``'s first, then overall) until ``n`` items or none are left.

    Behind a non-empty list the filler scores 0, so it ranks below every real recommendation
    and keeps its trending order; filling an empty list keeps the trending scores.
    """
    if trending is None:
        return found
    banned = as_index_array(exclude)
    pieces, taken = [found], found.items
    for scope in [category, None] if category is not None and category >= 0 else [None]:
        missing = n - sum(piece.items.size for piece in pieces)
        if missing <= 0:
            break
        extra = trending.top(missing, category=scope, exclude=np.concatenate((banned, taken)), available=available)
        if extra.items.size:
            if found.items.size:
                extra = extra._replace(scores=np.zeros(extra.items.size, dtype=np.float32))
            pieces.append(extra)
            taken = np.concatenate((taken, extra.items))
    return concatenate(pieces)


def merge_by_score(parts: Sequence[Recommendations], n: int) -> Recommendations:
    """Return the ``n`` best items of several lists (e.g. trending per sub-category), by score then item index."""
    merged = concatenate(parts)
    order = np.lexsort((merged.items, -merged.scores))[:n]
    return Recommendations(*(getattr(merged, name)[order] for name in Recommendations._fields))
