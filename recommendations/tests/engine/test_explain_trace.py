"""A RankingTrace records what the hybrid did without changing what it returns (tiny data, see test_hybrid)."""

import numpy as np
import pytest

from recommendations.engine import HybridRecommender, ItemKNN, TrendingModel
from recommendations.engine.content import ContentModel
from recommendations.engine.explain import (
    CHAIN_HISTORY,
    CHAIN_PRODUCT,
    CHAIN_TRENDING,
    RULE_CURRENT,
    RULE_EXCLUDED,
    RULE_PURCHASED,
    RULE_SEEN,
    RULE_UNAVAILABLE,
    RankingTrace,
)


@pytest.fixture
def hybrid(tiny_matrix, tiny_texts):
    return HybridRecommender(w_content=0.4, w_cf=0.6).fit(
        cf=ItemKNN("jaccard", k=3).fit(tiny_matrix),
        content=ContentModel(k=3, max_df=1.0, stop_words=None, ngram_range=(1, 1)).fit(tiny_texts),
        trending=TrendingModel().fit(tiny_matrix, item_categories=np.array([0, 1, 0, -1])),
        also_bought=ItemKNN("jaccard", k=3).fit(tiny_matrix),
    )


def same(left, right) -> bool:
    return all(np.array_equal(a, b) for a, b in zip(left, right))


@pytest.mark.parametrize(
    "call",
    [
        dict(user=[0], n=3),
        dict(user=[0, 1], n=4, purchased=[1]),
        dict(user=None, n=3, current_item=1),
        dict(user=None, n=4),
        dict(user=[2], n=3, available=np.array([True, False, True, True])),
    ],
)
def test_a_traced_call_returns_exactly_the_untraced_result(hybrid, call):
    call = dict(call)
    user = call.pop("user")
    assert same(hybrid.recommend(user, **call, trace=RankingTrace()), hybrid.recommend(user, **call))


def test_history_chain_records_start_weights_score_parts_and_ranks(hybrid):
    trace = RankingTrace()
    result = hybrid.recommend([0], 3, trace=trace)

    assert trace.chain == CHAIN_HISTORY
    assert trace.anchors == {0: 1.0}
    # item 1: 0.6 * (2/3)/(2/3) from CF + 0.4 * 1 from content = 1.0; item 2: 0.6 * 0.5 + 0.4 = 0.7
    assert trace.parts["cf"] == pytest.approx({1: 0.6, 2: 0.3})
    assert trace.parts["content"] == pytest.approx({1: 0.4, 2: 0.4})
    assert result.scores[:2].tolist() == pytest.approx([1.0, 0.7])
    assert trace.score_rank == {1: 1, 2: 2}
    # Before any filter the history item itself does not score (it is no neighbour of itself).
    assert trace.unfiltered_rank == {1: 1, 2: 2}
    assert trace.rules == {0: RULE_SEEN}
    assert trace.diversified is False


def test_each_filter_names_its_rule_first_rule_wins(hybrid):
    trace = RankingTrace()
    trace.ban(RULE_PURCHASED, [2])  # the serving layer names purchases before the engine sees them as excluded
    hybrid.recommend([0], 3, exclude=[2, 3], current_item=1, available=np.array([True, True, True, False]), trace=trace)

    assert trace.rules == {2: RULE_PURCHASED, 3: RULE_EXCLUDED, 1: RULE_CURRENT, 0: RULE_SEEN}
    assert trace.rule_for(3) == RULE_EXCLUDED
    assert RankingTrace().rule_for(3, np.array([True, True, True, False])) == RULE_UNAVAILABLE
    assert RankingTrace().rule_for(2, np.array([True, True, True, False])) is None


def test_product_and_trending_chains(hybrid):
    product = RankingTrace()
    hybrid.recommend(None, 3, current_item=1, trace=product)
    assert (product.chain, product.anchors) == (CHAIN_PRODUCT, {1: 1.0})
    assert product.unfiltered_rank == {0: 1, 2: 2}

    nothing = RankingTrace()
    hybrid.recommend(None, 4, trace=nothing)
    # Trending scores [2, 3, 2, 1]: ties by item index.
    assert (nothing.chain, nothing.unfiltered_rank) == (CHAIN_TRENDING, {1: 1, 0: 2, 2: 3, 3: 4})


def test_also_bought_and_trending_calls_are_traced_without_changing_them(hybrid):
    trace = RankingTrace()
    found = hybrid.also_bought(0, 2, exclude=[1], trace=trace)
    assert same(found, hybrid.also_bought(0, 2, exclude=[1]))
    assert trace.rules == {1: RULE_EXCLUDED, 0: RULE_CURRENT}
    assert trace.unfiltered_rank == {1: 1, 2: 2}
    assert trace.score_rank == {2: 1}

    trending = RankingTrace()
    assert same(hybrid.trending(2, category=0, trace=trending), hybrid.trending(2, category=0))
    assert trending.unfiltered_rank == {0: 1, 2: 2}
