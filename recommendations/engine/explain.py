"""What one ranking did, for staff asking "why is (or isn't) this product shown?".

Pass a :class:`RankingTrace` as ``trace=`` to :meth:`HybridRecommender.recommend`,
``also_bought`` or ``trending`` and the call records its intermediate steps while returning
exactly what it returns without one: which chain ran, the history it started from, each
candidate's share of the blended score per component, its rank before any filter and by
score after the filters, and which filter rule names each filtered item. A trace costs one
extra unfiltered scoring pass, so serving never passes one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CHAIN_HISTORY = "history"  # the customer's recent items (and the page's product)
CHAIN_PRODUCT = "product"  # only the page's product
CHAIN_TRENDING = "trending"  # nothing to start from
CHAIN_ALSO_BOUGHT = "also_bought"

RULE_EXCLUDED = "excluded"  # the request's exclude list
RULE_CURRENT = "current product"
RULE_PURCHASED = "purchased"
RULE_SEEN = "already in the history"
RULE_UNAVAILABLE = "unavailable"


@dataclass
class RankingTrace:
    """The intermediate steps of one ranking (item indices throughout)."""

    chain: str = ""
    anchors: dict[int, float] = field(default_factory=dict)  # start item -> its weight
    parts: dict[str, dict[int, float]] = field(default_factory=dict)  # component -> item -> share of the blended score
    unfiltered_rank: dict[int, int] = field(default_factory=dict)  # 1-based, every scored candidate, no filter
    score_rank: dict[int, int] = field(default_factory=dict)  # 1-based, by score after the filters, before diversity
    rules: dict[int, str] = field(default_factory=dict)  # item -> the filter rule that bans it (first named wins)
    diversified: bool = False  # the list was re-ranked (MMR or category cap), not cut by score

    def ban(self, rule: str, items) -> None:
        """Name ``rule`` as the reason for ``items``, unless an earlier rule already names one."""
        for item in np.atleast_1d(np.asarray(items, dtype=np.int64)).tolist():
            if item >= 0:
                self.rules.setdefault(item, rule)

    def rank_unfiltered(self, items: np.ndarray, scores: np.ndarray) -> None:
        self.unfiltered_rank = _ranks(items, scores)

    def rank_by_score(self, items: np.ndarray, scores: np.ndarray) -> None:
        self.score_rank = _ranks(items, scores)

    def rule_for(self, item: int, available: np.ndarray | None = None) -> str | None:
        """Return the rule that filtered ``item`` out: a named one, else unavailable by the mask, else None."""
        if item in self.rules:
            return self.rules[item]
        if available is not None and 0 <= item < available.size and not available[item]:
            return RULE_UNAVAILABLE
        return None


def _ranks(items: np.ndarray, scores: np.ndarray) -> dict[int, int]:
    """Return 1-based ranks by score, ties by item index (the order ``top_n`` gives)."""
    items = np.asarray(items, dtype=np.int64)
    order = np.lexsort((items, -np.asarray(scores, dtype=np.float64)))
    return {int(item): rank for rank, item in enumerate(items[order].tolist(), start=1)}
