"""The hybrid recommender: per-request blend of CF and content, with a stated cold-start chain.

Chain, first that applies:

1. the customer has history -> CF scores of their recent items blended with the content
   neighbours of those items (a current product counts as the most recent item);
2. only a current product -> that product's content neighbours blended with its CF neighbours;
3. nothing -> trending (in ``category`` if given, else overall).

With ``diversity`` > 0 (or a ``category_cap``) the blended list of chains 1 and 2 is
re-ranked by maximal marginal relevance over content similarity (:mod:`.diversity`): the best
``POOL_FACTOR * n`` candidates compete, and the items keep their blended scores, so the list
is ordered by the re-ranking, not by score. Trending (chain 3 and the filler) is a popularity
ranking and is left as it is, as are "customers also bought" lists. ``diversity`` 0 (the
class default, so that an artifact saved before the option existed serves as it did) leaves
the ranking unchanged; training sets it from ``DEFAULT_PARAMS`` / the staff settings.

Lists shorter than ``n`` after filtering are filled from trending (the current product's
category first, then overall). Filters, always: never the current product, never an
``exclude``d item, never an unavailable item; by default never an item the customer bought
(``exclude_purchased``) or already has in their history (``exclude_seen``).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .base import (
    REASON_TRENDING,
    BaseRecommender,
    NotFittedError,
    Recommendations,
    as_history,
    as_index_array,
    from_json_array,
    json_array,
    top_n,
    FORMAT_VERSION,
)
from .combine import fill_from_trending
from .diversity import POOL_FACTOR, candidate_similarity, mmr_order
from .explain import (
    CHAIN_ALSO_BOUGHT,
    CHAIN_HISTORY,
    CHAIN_PRODUCT,
    CHAIN_TRENDING,
    RULE_CURRENT,
    RULE_EXCLUDED,
    RULE_PURCHASED,
    RULE_SEEN,
    RankingTrace,
)
from .interactions import UserHistory
from .neighbors import NeighborModel, aggregate_by_item
from .trending import TrendingModel

COMPONENTS = ("cf", "content", "also_bought", "trending")
NORMALIZATIONS = ("max", "rank")


def normalize_scores(scores: np.ndarray, method: str = "max") -> np.ndarray:
    """Return scores on a 0..1 scale within one request: divided by the max, or by rank."""
    scores = np.asarray(scores, dtype=np.float32)
    if scores.size == 0:
        return scores
    if method == "max":
        top = scores.max()
        return scores / top if top > 0 else np.zeros_like(scores)
    if method == "rank":
        order = np.lexsort((np.arange(scores.size), -scores))
        ranks = np.empty(scores.size, dtype=np.float32)
        ranks[order] = np.arange(scores.size, dtype=np.float32)
        return (scores.size - ranks) / scores.size
    raise ValueError(f"unknown normalization {method!r}; expected one of {NORMALIZATIONS}")


class HybridRecommender(BaseRecommender):
    """Blend fitted CF and content models per request; fall back to trending.

    ``fit`` takes already fitted components (any may be None) and checks that they agree
    on the catalogue size; the hyperparameters here only say how to combine them.
    """

    _state_arrays = ("available_",)

    def __init__(
        self,
        w_content: float = 0.2,
        w_cf: float = 0.8,
        *,
        n_recent: int = 20,
        exclude_purchased: bool = True,
        exclude_seen: bool = True,
        normalization: str = "max",
        fill_with_trending: bool = True,
        diversity: float = 0.0,
        category_cap: int = 0,
    ):
        self.w_content = w_content
        self.w_cf = w_cf
        self.n_recent = n_recent
        self.exclude_purchased = exclude_purchased
        self.exclude_seen = exclude_seen
        self.normalization = normalization
        self.fill_with_trending = fill_with_trending
        self.diversity = diversity
        self.category_cap = category_cap

    # -- fitting -----------------------------------------------------------------------
    def fit(
        self,
        *,
        cf: Optional[NeighborModel] = None,
        content: Optional[NeighborModel] = None,
        trending: Optional[TrendingModel] = None,
        also_bought: Optional[NeighborModel] = None,
        available: Optional[np.ndarray] = None,
    ) -> "HybridRecommender":
        """Attach fitted components; ``available`` is the default availability mask."""
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"unknown normalization {self.normalization!r}; expected one of {NORMALIZATIONS}")
        if self.w_content < 0 or self.w_cf < 0:
            raise ValueError("w_content and w_cf must be non-negative")
        if not 0.0 <= float(self.diversity) <= 1.0:
            raise ValueError(f"diversity must lie in [0, 1], got {self.diversity}")
        if int(self.category_cap) < 0:
            raise ValueError("category_cap must be 0 (no cap) or more")
        parts = {"cf": cf, "content": content, "also_bought": also_bought, "trending": trending}
        sizes = {}
        for name, model in parts.items():
            if model is None:
                continue
            if not model.is_fitted:
                raise NotFittedError(f"the {name} component is not fitted")
            sizes[name] = model.n_items_
        if not sizes:
            raise ValueError("a hybrid needs at least one fitted component")
        if len(set(sizes.values())) != 1:
            raise ValueError(f"components disagree on the number of items: {sizes}")
        n_items = next(iter(sizes.values()))
        self.cf_, self.content_, self.also_bought_, self.trending_ = cf, content, also_bought, trending
        self.n_items_fitted_ = n_items
        self.available_ = np.ones(n_items, dtype=bool)
        if available is not None:
            self.set_availability(available)
        return self

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "available_") and hasattr(self, "n_items_fitted_")

    def _n_items(self) -> int:
        return int(self.n_items_fitted_)

    def set_availability(self, available: Optional[np.ndarray]) -> None:
        """Set the default mask of items that may be recommended (None: all)."""
        self._check_fitted()
        if available is None:
            self.available_ = np.ones(self._n_items(), dtype=bool)
            return
        mask = np.asarray(available, dtype=bool).ravel()
        if mask.size != self._n_items():
            raise ValueError(f"availability mask has {mask.size} entries for {self._n_items()} items")
        self.available_ = mask.copy()

    def components(self) -> dict[str, Optional[BaseRecommender]]:
        self._check_fitted()
        return {"cf": self.cf_, "content": self.content_, "also_bought": self.also_bought_, "trending": self.trending_}

    # -- serving -----------------------------------------------------------------------
    def _mask(self, available) -> np.ndarray:
        if available is None:
            return self.available_
        mask = np.asarray(available, dtype=bool).ravel()
        if mask.size != self._n_items():
            raise ValueError(f"availability mask has {mask.size} entries for {self._n_items()} items")
        return mask

    def _blend(self, anchors: np.ndarray, weights: np.ndarray, banned: np.ndarray, mask: np.ndarray, trace: Optional[RankingTrace] = None):
        """Return blended (items, scores, reasons, anchors) from the CF and content neighbours of ``anchors``.

        ``trace``: records each component's share of every blended score.
        """
        pieces = []
        # One copy of the mask (a memcpy of n_items bytes) beats set lookups per candidate.
        allowed = mask.copy()
        allowed[banned] = False
        for model, weight in ((self.cf_, float(self.w_cf)), (self.content_, float(self.w_content))):
            if model is None or weight <= 0:
                continue
            items, scores, sources = model.score_history(anchors, weights)
            keep = (scores > 0) & allowed[items]
            items, scores, sources = items[keep], scores[keep], sources[keep]
            if items.size:
                pieces.append((items, weight * normalize_scores(scores, self.normalization), model.reason, sources))
                if trace is not None:
                    trace.parts[model.reason] = dict(zip(items.tolist(), pieces[-1][1].tolist()))
        if not pieces:
            return None
        items = np.concatenate([p[0] for p in pieces])
        parts = np.concatenate([p[1] for p in pieces])
        sources = np.concatenate([p[3] for p in pieces])
        # Reason and anchor come from the piece that contributed most to each item.
        piece_of = np.concatenate([np.full(p[0].size, position) for position, p in enumerate(pieces)])
        encoded = piece_of.astype(np.int64) * (self._n_items() + 1) + sources
        unique, totals, best = aggregate_by_item(items, parts.astype(np.float32), encoded)
        reason_names = np.array([p[2] for p in pieces], dtype="<U17")
        return unique, totals, reason_names[best // (self._n_items() + 1)], best % (self._n_items() + 1)

    def recommend(
        self,
        user=None,
        n: int = 10,
        *,
        exclude=None,
        current_item: Optional[int] = None,
        category: Optional[int] = None,
        purchased=None,
        available=None,
        trace: Optional[RankingTrace] = None,
    ) -> Recommendations:
        """Return up to ``n`` items for a request, following the cold-start chain (module docstring).

        ``user``: the customer's history (item indices oldest first, ``(items, weights)``, a
        :class:`UserHistory`, a sparse row, or None). ``purchased``: items the customer bought
        (taken from a UserHistory when not given). ``available``: boolean mask overriding the
        model's. ``category``: category index for the trending fallback. ``trace``: filled with
        the intermediate steps (:mod:`.explain`); the result is the same with or without it.
        """
        self._check_fitted()
        n_items = self._n_items()
        items, weights = as_history(user, n_items)
        if purchased is None and isinstance(user, UserHistory):
            purchased = user.purchased
        if current_item is not None:
            current_item = int(current_item)
            if not 0 <= current_item < n_items:
                raise IndexError(f"current item {current_item} out of range 0..{n_items - 1}")
        mask = self._mask(available)
        banned_parts = [as_index_array(exclude), as_index_array(current_item)]
        if self.exclude_purchased:
            banned_parts.append(as_index_array(purchased))
        if self.exclude_seen:
            banned_parts.append(items)
        banned = np.unique(np.concatenate(banned_parts))
        if trace is not None:
            for rule, part in zip((RULE_EXCLUDED, RULE_CURRENT, RULE_PURCHASED, RULE_SEEN), banned_parts):
                trace.ban(rule, part)

        start = None
        if items.size:
            recent_items = items[-int(self.n_recent):] if self.n_recent else items
            recent_weights = weights[-int(self.n_recent):] if self.n_recent else weights
            if current_item is not None:
                top = float(recent_weights.max()) if recent_weights.size else 1.0
                recent_items = np.append(recent_items, current_item)
                recent_weights = np.append(recent_weights, np.float32(top))
            start = (CHAIN_HISTORY, recent_items, recent_weights.astype(np.float32))
        elif current_item is not None:
            start = (CHAIN_PRODUCT, np.array([current_item]), np.ones(1, dtype=np.float32))
        blended = self._blend(*start[1:], banned, mask, trace) if start is not None else None
        if trace is not None:
            self._trace_start(trace, start)

        if blended is None:
            result = Recommendations.empty()
        else:
            candidates, scores, reasons, anchors = blended
            order = self._ranked(candidates, scores, max(n, 0))
            result = Recommendations(candidates[order], scores[order], reasons[order], anchors[order])
            if trace is not None:
                trace.rank_by_score(candidates, scores)
                trace.diversified = not np.array_equal(order, top_n(scores, max(n, 0)))

        if result.items.size < n and (blended is None or self.fill_with_trending):
            fill_category = category
            if fill_category is None and current_item is not None and self.trending_ is not None:
                fill_category = int(self.trending_.item_categories_[current_item])
            result = fill_from_trending(result, n, self.trending_, category=fill_category, exclude=banned, available=mask)
        return result

    def _trace_start(self, trace: RankingTrace, start) -> None:
        """Record the chain and what it started from, and every candidate's rank before any filter."""
        if start is None:
            trace.chain = CHAIN_TRENDING
            if self.trending_ is not None:
                trace.rank_unfiltered(self.trending_.order_, self.trending_.scores_[self.trending_.order_])
            return
        trace.chain, start_items, start_weights = start
        trace.anchors = dict(zip(start_items.tolist(), start_weights.tolist()))
        everything = self._blend(start_items, start_weights, np.zeros(0, dtype=np.int64), np.ones(self._n_items(), dtype=bool))
        if everything is not None:
            trace.rank_unfiltered(everything[0], everything[1])

    def _ranked(self, candidates: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
        """Return the positions of the ``n`` items to show, best first: by score, or diversified."""
        strength = float(self.diversity)
        cap = int(self.category_cap)
        categories = self.trending_.item_categories_ if self.trending_ is not None else None
        content = self.content_ if isinstance(self.content_, NeighborModel) else None
        if strength > 0 and content is None:
            strength = 0.0  # no content similarity to diversify on
        if (strength <= 0 and (cap <= 0 or categories is None)) or n <= 1:
            return top_n(scores, n)
        pool = top_n(scores, POOL_FACTOR * n)
        pool_items = candidates[pool]
        similarity = (
            candidate_similarity(content.neighbors_, content.neighbor_scores_, pool_items)
            if strength > 0 else np.zeros((pool.size, pool.size), dtype=np.float32)
        )
        picks = mmr_order(
            scores[pool], similarity, n, strength,
            categories=None if categories is None else categories[pool_items], category_cap=cap,
        )  # fmt: skip
        return pool[picks]

    def similar_items(self, item: int, n: int = 10, *, exclude=None, available=None) -> Recommendations:
        """Return items like ``item``: its content and CF neighbours blended, filled from its category."""
        return self.recommend(None, n, exclude=exclude, current_item=item, available=available)

    def also_bought(
        self, item: int, n: int = 10, *, exclude=None, purchased=None, available=None, trace: Optional[RankingTrace] = None
    ) -> Recommendations:
        """Return "customers also bought" items for ``item`` (empty without a co-purchase model)."""
        self._check_fitted()
        if self.also_bought_ is None:
            return Recommendations.empty()
        banned = as_index_array(exclude)
        if trace is not None:
            trace.chain, trace.anchors = CHAIN_ALSO_BOUGHT, {int(item): 1.0}
            trace.ban(RULE_EXCLUDED, banned)
            trace.ban(RULE_CURRENT, item)
        if self.exclude_purchased:
            banned = np.concatenate((banned, as_index_array(purchased)))
            if trace is not None:
                trace.ban(RULE_PURCHASED, as_index_array(purchased))
        found = self.also_bought_.similar_items(item, n, exclude=banned, available=self._mask(available))
        if trace is not None:
            everything = self.also_bought_.similar_items(item, self._n_items())
            trace.rank_unfiltered(everything.items, everything.scores)
            trace.parts[self.also_bought_.reason] = dict(zip(everything.items.tolist(), everything.scores.tolist()))
            trace.score_rank = {int(item): rank for rank, item in enumerate(found.items.tolist(), start=1)}
        return found

    def trending(
        self, n: int = 10, *, category: Optional[int] = None, exclude=None, available=None, trace: Optional[RankingTrace] = None
    ) -> Recommendations:
        """Return the trending items (of ``category`` if given)."""
        self._check_fitted()
        if self.trending_ is None:
            return Recommendations.empty()
        if trace is not None:
            trace.chain = CHAIN_TRENDING
            trace.ban(RULE_EXCLUDED, as_index_array(exclude))
            # Sub-categories are ranked one call each and merged by score: rank over all of them.
            ranked = self.trending_.ranked(category)
            pool = trace.parts.setdefault(REASON_TRENDING, {})
            pool.update(zip(ranked.tolist(), self.trending_.scores_[ranked].tolist()))
            trace.rank_unfiltered(np.fromiter(pool.keys(), dtype=np.int64), np.fromiter(pool.values(), dtype=np.float64))
        return self.trending_.top(n, category=category, exclude=exclude, available=self._mask(available))

    # -- persistence -------------------------------------------------------------------
    def get_state(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        present = {name: model for name, model in self.components().items() if model is not None}
        header = {
            "class": type(self).__name__,
            "format": FORMAT_VERSION,
            "params": self.get_params(),
            "components": {name: type(model).__name__ for name, model in present.items()},
            "n_items": self._n_items(),
        }
        state = {"header": json_array(header), "available_": self.available_}
        for name, model in present.items():
            for key, value in model.get_state().items():
                state[f"{name}.{key}"] = value
        return state

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> "HybridRecommender":
        from .model_loading import model_class

        header = from_json_array(state["header"])
        if header.get("class") != cls.__name__:
            raise ValueError(f"artifact holds a {header.get('class')}, not a {cls.__name__}")
        components = {}
        for name, class_name in header["components"].items():
            prefix = f"{name}."
            sub = {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}
            components[name] = model_class(class_name).from_state(sub)
        model = cls(**header["params"]).fit(**components)
        model.set_availability(state["available_"])
        return model

