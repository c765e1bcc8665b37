"""Diversity re-ranking and its metrics on hand-made neighbour lists (numbers worked by hand).

Items 0..4. CF: item 0's neighbours are 1, 2, 3, 4 with scores 1.0, 0.9, 0.8, 0.5, so a
customer who saw item 0 gets that relevance. Content similarity, each pair stored in one
direction only: sim(1, 2) = 0.9, sim(1, 3) = 0.2, sim(2, 3) = 0.1, sim(3, 4) = 0.3, every
other pair 0.

MMR with strength 0.5 picks by 0.5 * relevance - 0.5 * (max similarity to what is picked):
  1st: 1 (0.5);  then 2: 0.45 - 0.45 = 0,  3: 0.40 - 0.10 = 0.30,  4: 0.25 - 0 = 0.25  -> 3
  3rd: 2: 0.45 - 0.45 = 0,  4: 0.25 - 0.15 = 0.10 -> 4;  4th: 2.     Order 1, 3, 4, 2.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine import HybridRecommender, ItemKNN, TrendingModel
from recommendations.engine.content import ContentModel
from recommendations.engine.diversity import candidate_similarity, mmr_order
from recommendations.engine.explain import RankingTrace
from recommendations.engine.metrics import catalogue_coverage, intra_list_diversity, ranking_metrics
from recommendations.engine.neighbors import NeighborModel
from recommendations.engine.pipeline import DEFAULT_PARAMS, make_hybrid, resolve_params

RELEVANCE = np.array([1.0, 0.9, 0.8, 0.5])
PAIRS = np.array(
    [[0.0, 0.9, 0.2, 0.0], [0.9, 0.0, 0.1, 0.0], [0.2, 0.1, 0.0, 0.3], [0.0, 0.0, 0.3, 0.0]], dtype=np.float32
)


def neighbor_model(model_class, lists: dict[int, list[tuple[int, float]]], n_items: int = 5, k: int = 4) -> NeighborModel:
    """Return an unfitted model given these neighbour lists (no data needed)."""
    neighbors = np.full((n_items, k), -1, dtype=np.int32)
    scores = np.zeros((n_items, k), dtype=np.float32)
    for item, pairs in lists.items():
        for slot, (other, score) in enumerate(pairs):
            neighbors[item, slot], scores[item, slot] = other, score
    model = model_class()
    model._set_neighbors(neighbors, scores)
    if model_class is ContentModel:
        model.n_terms_ = 0  # its one learned scalar
    return model


@pytest.fixture
def cf():
    return neighbor_model(ItemKNN, {0: [(1, 1.0), (2, 0.9), (3, 0.8), (4, 0.5)]})


@pytest.fixture
def content():
    return neighbor_model(ContentModel, {1: [(2, 0.9)], 3: [(1, 0.2)], 2: [(3, 0.1)], 4: [(3, 0.3)]})


@pytest.fixture
def trending():
    # Categories: items 1, 2 and 4 in category 0, item 3 in category 1, item 0 in none.
    return TrendingModel().fit(sp.csr_matrix(np.ones((1, 5), dtype=np.float32)), item_categories=np.array([-1, 0, 0, 1, 0]))


def hybrid(cf, content, trending=None, **params):
    return HybridRecommender(w_content=0.0, w_cf=1.0, fill_with_trending=False, **params).fit(
        cf=cf, content=content, trending=trending
    )


def test_mmr_picks_the_order_worked_by_hand():
    assert mmr_order(RELEVANCE, PAIRS, 4, 0.5).tolist() == [0, 2, 3, 1]


def test_mmr_strength_zero_keeps_the_relevance_order_and_ties_go_to_the_earlier_candidate():
    assert mmr_order(RELEVANCE, PAIRS, 4, 0.0).tolist() == [0, 1, 2, 3]
    assert mmr_order(np.ones(4), PAIRS, 4, 0.0).tolist() == [0, 1, 2, 3]


def test_mmr_refuses_a_strength_outside_zero_to_one():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        mmr_order(RELEVANCE, PAIRS, 4, 1.5)


def test_pair_similarity_comes_from_either_neighbour_list_and_is_zero_when_neither_holds_it(content):
    similarity = candidate_similarity(content.neighbors_, content.neighbor_scores_, np.array([1, 2, 3, 4]))
    assert similarity == pytest.approx(PAIRS)


def test_the_hybrid_diversifies_a_personal_list_and_keeps_the_blended_scores(cf, content):
    result = hybrid(cf, content, diversity=0.5).recommend([0], 4)
    assert result.items.tolist() == [1, 3, 4, 2]
    assert result.scores.tolist() == pytest.approx([1.0, 0.8, 0.5, 0.9])


def test_an_explained_list_records_that_diversity_reordered_it(cf, content):
    diverse, plain = RankingTrace(), RankingTrace()

    assert hybrid(cf, content, diversity=0.5).recommend([0], 4, trace=diverse).items.tolist() == [1, 3, 4, 2]
    hybrid(cf, content, diversity=0.0).recommend([0], 4, trace=plain)

    assert (diverse.diversified, plain.diversified) == (True, False)
    assert diverse.score_rank == plain.score_rank == {1: 1, 2: 2, 3: 3, 4: 4}


def test_diversity_zero_leaves_the_ranking_unchanged(cf, content):
    assert hybrid(cf, content, diversity=0.0).recommend([0], 4).items.tolist() == [1, 2, 3, 4]


def test_only_the_best_three_n_candidates_compete(cf, content):
    # n = 1: the top item alone; the pool of 3 for n = 1 never reaches item 4.
    assert hybrid(cf, content, diversity=1.0).recommend([0], 1).items.tolist() == [1]


def test_the_category_cap_holds_while_other_categories_remain_then_fills_in_order(cf, content, trending):
    capped = hybrid(cf, content, trending, category_cap=1)
    assert capped.recommend([0], 2).items.tolist() == [1, 3]  # 2 would be the second of category 0
    assert capped.recommend([0], 4).items.tolist() == [1, 3, 2, 4]  # nothing else left: capped items fill the list


def test_a_similar_products_list_is_diversified_too(cf, content):
    assert hybrid(cf, content, diversity=0.5).similar_items(0, 4).items.tolist() == [1, 3, 4, 2]


def test_trending_is_not_re_ranked(cf, content, trending):
    plain = hybrid(cf, content, trending).trending(4)
    assert hybrid(cf, content, trending, diversity=1.0, category_cap=1).trending(4).items.tolist() == plain.items.tolist()


def test_the_diversity_settings_survive_a_save_and_load(cf, content, tmp_path):
    model = hybrid(cf, content, diversity=0.5, category_cap=2)
    model.save(tmp_path / "hybrid.npz")
    loaded = HybridRecommender.load(tmp_path / "hybrid.npz")
    assert (loaded.diversity, loaded.category_cap) == (0.5, 2)
    assert loaded.recommend([0], 4).items.tolist() == [1, 3, 4, 2]


def test_training_defaults_are_mild_diversity_and_no_cap_and_evaluation_can_turn_it_off():
    assert (DEFAULT_PARAMS["diversity"], DEFAULT_PARAMS["category_cap"]) == (0.2, 0)
    params = resolve_params({})
    assert make_hybrid(params).diversity == 0.2
    off = make_hybrid(params, diversity=False)
    assert (off.diversity, off.category_cap) == (0.0, 0)


def test_the_hybrid_refuses_a_diversity_outside_zero_to_one(cf, content):
    with pytest.raises(ValueError, match="diversity"):
        hybrid(cf, content, diversity=-0.1)


# -- metrics ---------------------------------------------------------------------------------

# sim(0, 1) = 0.5, sim(2, 0) = 0.2 (stored backwards), sim(1, 3) = 1.0; everything else 0.
SIMILARITY = sp.csr_matrix(([0.5, 0.2, 1.0], ([0, 2, 1], [1, 0, 3])), shape=(5, 5))
LISTS = np.array([[0, 1, 2], [1, 3, -1], [2, -1, -1]])


def test_intra_list_diversity_is_the_mean_pairwise_dissimilarity_averaged_over_lists():
    # List 0: pairs 1 - 0.5, 1 - 0.2, 1 - 0 -> 2.3 / 3; list 1: 1 - 1 = 0; list 2 has no pair.
    assert intra_list_diversity(LISTS, SIMILARITY) == pytest.approx((2.3 / 3 + 0.0) / 2)
    assert intra_list_diversity(np.array([[4, -1]]), SIMILARITY) == 0.0


def test_catalogue_coverage_counts_each_recommended_item_once():
    assert catalogue_coverage(LISTS, 5) == pytest.approx(0.8)


def test_ranking_metrics_add_ild_when_given_a_similarity():
    metrics = ranking_metrics(LISTS, [[0], [3], [2]], 3, n_items=5, similarity=SIMILARITY)
    assert metrics["ild"] == pytest.approx(2.3 / 6)
    assert metrics["coverage"] == pytest.approx(0.8)
    assert "ild" not in ranking_metrics(LISTS, [[0], [3], [2]], 3)
