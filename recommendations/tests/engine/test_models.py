"""Exact neighbour scores on the tiny matrix (see conftest) and per-model behaviour."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine.collaborative import EASE, CoPurchaseModel, ItemKNN, cf_choice, make_cf_model
from recommendations.engine.content import ContentModel, product_texts
from recommendations.engine.neighbors import blocked_top_k, top_k_sparse_rows
from recommendations.engine.trending import TrendingModel
from recommendations.tests.engine.conftest import binary_matrix

S = math.sqrt(6)


def test_top_k_sparse_rows_keeps_the_largest_and_breaks_ties_by_index():
    block = sp.csr_matrix(np.array([[0.1, 0.5, 0.5, 0.3], [0, 0, 0.2, 0], [0, 0, 0, 0]], dtype=np.float32))
    idx, val = top_k_sparse_rows(block, 2)
    assert idx.tolist() == [[1, 2], [2, -1], [-1, -1]]
    assert val.ravel().tolist() == pytest.approx([0.5, 0.5, 0.2, 0.0, 0.0, 0.0])


def test_blocked_top_k_matches_dense_whatever_the_block_size():
    left = sp.random(40, 30, density=0.2, random_state=1, format="csr", dtype=np.float32)
    dense = (left @ left.T).toarray()
    np.fill_diagonal(dense, 0)
    for block_nnz in (1, 50, 10**9):
        idx, val = blocked_top_k(left, left.T.tocsr(), 3, block_nnz=block_nnz, n_jobs=2)
        for row in range(40):
            expected = np.sort(dense[row][dense[row] > 0])[::-1][:3]
            assert val[row][: expected.size] == pytest.approx(expected, rel=1e-5)
            assert row not in idx[row]


def test_jaccard_neighbours_are_exact(tiny_matrix):
    model = ItemKNN("jaccard", k=3).fit(tiny_matrix)
    assert model.neighbors_.tolist() == [[1, 2, -1], [0, 2, -1], [1, 0, -1], [-1, -1, -1]]
    assert model.neighbor_scores_[0].tolist() == pytest.approx([2 / 3, 1 / 3, 0])
    assert model.neighbor_scores_[1].tolist() == pytest.approx([2 / 3, 2 / 3, 0])


def test_cosine_neighbours_are_exact(tiny_matrix):
    model = ItemKNN("cosine", k=2).fit(tiny_matrix)
    assert model.neighbors_[0].tolist() == [1, 2]
    assert model.neighbor_scores_[0].tolist() == pytest.approx([2 / S, 1 / 2])
    assert model.neighbor_scores_[1].tolist() == pytest.approx([2 / S, 2 / S])


def test_cosine_uses_event_weights(tiny_matrix):
    weighted = tiny_matrix.copy().tolil()
    weighted[1, 2] = 8.0  # u1 bought item 2
    model = ItemKNN("cosine", k=3).fit(weighted.tocsr())
    # item 0 = (1, 1, 0, 0), item 2 = (0, 8, 1, 0): cos = 8 / (sqrt(2) * sqrt(65))
    assert model.neighbor_scores_[0][model.neighbors_[0] == 2][0] == pytest.approx(8 / (math.sqrt(2) * math.sqrt(65)))


def test_asymmetric_cosine_with_alpha_half_is_binary_cosine(tiny_matrix):
    a = ItemKNN("asymmetric_cosine", k=3, alpha=0.5).fit(tiny_matrix)
    c = ItemKNN("cosine", k=3).fit(tiny_matrix)
    assert a.neighbor_scores_ == pytest.approx(c.neighbor_scores_)


def test_asymmetric_cosine_alpha_weights_the_source_count(tiny_matrix):
    model = ItemKNN("asymmetric_cosine", k=3, alpha=1.0).fit(tiny_matrix)
    # sim(0 -> 1) = c01 / c0 = 2 / 2; sim(1 -> 0) = c01 / c1 = 2 / 3
    assert model.neighbor_scores_[0][model.neighbors_[0] == 1][0] == pytest.approx(1.0)
    assert model.neighbor_scores_[1][model.neighbors_[1] == 0][0] == pytest.approx(2 / 3)


def test_bm25_neighbours_are_a_dot_product_of_bm25_weights(tiny_matrix):
    model = ItemKNN("bm25", k=3, bm25_k1=1.2, bm25_b=0.75).fit(tiny_matrix)
    # Independent computation of the weights: items are documents, users terms.
    counts = np.array([2.0, 3.0, 2.0, 1.0])
    user_df = np.array([2, 3, 2, 1])
    idf = np.log(4) - np.log1p(user_df)
    norm = 0.25 + 0.75 * counts / counts.mean()
    weight = lambda item, user: 2.2 / (1.2 * norm[item] + 1) * idf[user]  # noqa: E731
    expected_01 = weight(0, 0) * weight(1, 0) + weight(0, 1) * weight(1, 1)
    found = dict(zip(model.neighbors_[0].tolist(), model.neighbor_scores_[0].tolist()))
    assert found[1] == pytest.approx(expected_01, rel=1e-5)


def test_item_scores_sum_neighbour_similarity_times_history_weight(tiny_matrix):
    model = ItemKNN("jaccard", k=3).fit(tiny_matrix)
    result = model.recommend(([0, 2], [1.0, 2.0]), 5)
    # item 1: 1 * 2/3 (from 0) + 2 * 2/3 (from 2) = 2; anchor: item 2 contributed most
    assert result.items.tolist() == [1]
    assert result.scores.tolist() == pytest.approx([2.0])
    assert result.anchors.tolist() == [2]
    assert result.reasons.tolist() == ["cf"]


def test_equal_contributions_anchor_on_the_most_recent_item(tiny_matrix):
    result = ItemKNN("jaccard", k=3).fit(tiny_matrix).recommend([0, 2], 5)
    assert result.scores.tolist() == pytest.approx([4 / 3])
    assert result.anchors.tolist() == [2]


def test_recommend_never_returns_history_or_excluded_or_unavailable_items(tiny_matrix):
    model = ItemKNN("jaccard", k=3).fit(tiny_matrix)
    assert model.recommend([0], 5).items.tolist() == [1, 2]
    assert model.recommend([0], 5, exclude=[1]).items.tolist() == [2]
    assert model.recommend([0], 5, available=np.array([True, True, False, True])).items.tolist() == [1]


def test_similar_items_never_returns_the_item_itself(tiny_matrix):
    model = ItemKNN("jaccard", k=3).fit(tiny_matrix)
    for item in range(4):
        assert item not in model.similar_items(item, 10).items
    result = model.similar_items(1, 10)
    assert result.items.tolist() == [0, 2]
    assert result.anchors.tolist() == [1, 1]


def test_items_without_co_occurrence_have_no_neighbours(tiny_matrix):
    model = ItemKNN("cosine", k=3).fit(tiny_matrix)
    assert model.similar_items(3, 5).items.size == 0


def test_co_purchase_model_carries_also_bought_reason(tiny_matrix):
    model = CoPurchaseModel(k=3).fit(tiny_matrix)
    assert set(model.similar_items(0, 5).reasons.tolist()) == {"also_bought"}


def test_co_purchase_model_takes_every_item_knn_parameter_with_its_own_defaults():
    model = CoPurchaseModel(k=3, shrink=2.0, n_jobs=1)

    assert model.get_params() == {**ItemKNN().get_params(), "similarity": "asymmetric_cosine", "k": 3, "shrink": 2.0, "n_jobs": 1}
    assert (CoPurchaseModel().similarity, CoPurchaseModel().k) == ("asymmetric_cosine", 50)


def test_ease_matches_the_closed_form(tiny_matrix):
    l2 = 1.0
    model = EASE(l2=l2, k=3).fit(tiny_matrix)
    dense = tiny_matrix.toarray().astype(np.float64)
    inverse = np.linalg.inv(dense.T @ dense + l2 * np.eye(4))
    expected = -inverse / np.diag(inverse)
    np.fill_diagonal(expected, 0)
    for item in range(4):
        for neighbor, score in zip(model.neighbors_[item], model.neighbor_scores_[item]):
            if neighbor >= 0:
                assert score == pytest.approx(expected[item, neighbor], rel=1e-4, abs=1e-6)
    # k=3 on four items prunes nothing: every non-zero weight off the diagonal is listed
    # (float32 round-off may list an exact zero too; its score matched ~0 above).
    for item in range(4):
        kept = {int(n) for n in model.neighbors_[item] if n >= 0}
        assert set(np.flatnonzero(np.abs(expected[item]) > 1e-6).tolist()) <= kept


def test_ease_prunes_by_magnitude_and_keeps_negative_weights():
    """Pruning to k=2 keeps the two largest |weights| per item, sign included.

    u0: 0 2    u1: 1 2    u2: 1 3    With l2=1, G = X'X + I has determinant 21 and
    B = -P / diag(P) for P = G^-1 is, off the diagonal (row = item, column = neighbour):

        item 0:  1: -1/5   2:  1/2   3:  1/13
        item 1:  0: -2/13  2:  2/5   3:  5/13
        item 2:  0:  5/13  1:  2/5   3: -2/13
        item 3:  0:  1/13  1:  1/2   2: -1/5

    Items 0 and 3 keep a negative weight (-1/5) and drop a smaller positive one (1/13);
    items 1 and 2 drop their negative weight (-2/13), smaller than both positive ones.
    """
    model = EASE(l2=1.0, k=2).fit(binary_matrix([[0, 2], [1, 2], [1, 3]], 4))

    assert model.neighbors_.tolist() == [[2, 1], [2, 3], [1, 0], [1, 2]]
    assert model.neighbor_scores_.tolist() == [
        pytest.approx([1 / 2, -1 / 5], abs=1e-6),
        pytest.approx([2 / 5, 5 / 13], abs=1e-6),
        pytest.approx([2 / 5, 5 / 13], abs=1e-6),
        pytest.approx([1 / 2, -1 / 5], abs=1e-6),
    ]


def test_ease_refuses_catalogues_above_its_limit(tiny_matrix):
    with pytest.raises(ValueError, match="max_items"):
        EASE(max_items=3).fit(tiny_matrix)


def test_cf_selector_picks_ease_for_small_catalogues_and_knn_beyond():
    small, choice = make_cf_model(1_000)
    assert isinstance(small, EASE) and choice["model"] == "ease"
    large, choice = make_cf_model(100_000)
    assert isinstance(large, ItemKNN) and choice["model"] == "item_knn"
    assert "100000 items > ease_max_items" in choice["reason"]
    assert cf_choice(10, {"cf_model": "item_knn"})["model"] == "item_knn"
    with pytest.raises(ValueError):
        cf_choice(10, {"cf_model": "svd"})


def test_content_neighbours_are_exact_tfidf_cosines(tiny_texts):
    model = ContentModel(k=3, max_df=1.0, stop_words=None, ngram_range=(1, 1)).fit(tiny_texts)
    shared = math.log(5 / 3) + 1  # smooth idf of "red" and "apple" (2 of 4 documents)
    rare = math.log(5 / 2) + 1  # "cherry", "green" (1 of 4)
    expected = (1 / math.sqrt(2)) * shared / math.sqrt(shared**2 + rare**2)  # only "red" is shared
    assert model.neighbors_[0].tolist() == [1, 2, -1]
    assert model.neighbor_scores_[0].tolist() == pytest.approx([expected, expected, 0], rel=1e-5)
    assert model.neighbors_[3].tolist() == [-1, -1, -1]  # "blue sky" shares nothing


def test_content_max_df_drops_terms_in_most_products():
    texts = ["common alpha", "common beta", "common alpha gamma"]
    model = ContentModel(k=2, max_df=0.7, stop_words=None, ngram_range=(1, 1)).fit(texts)
    assert model.n_terms_ == 3  # "common" (3 of 3 products) is cut
    assert 1 not in model.neighbors_[0]


def test_content_max_df_count_caps_document_frequency_on_big_catalogues():
    texts = ["common alpha", "common beta", "common alpha gamma", "delta"]
    assert ContentModel(max_df=1.0, max_df_count=None, stop_words=None, ngram_range=(1, 1)).fit(texts).n_terms_ == 5
    # "common" (3 products) and "alpha" (2) exceed a cap of 1 product
    assert ContentModel(max_df=1.0, max_df_count=1, stop_words=None, ngram_range=(1, 1)).fit(texts).n_terms_ == 3


def test_content_without_any_text_has_no_neighbours():
    model = ContentModel(k=2).fit(["", "", ""])
    assert (model.neighbors_ == -1).all()


def test_product_texts_join_title_category_description():
    assert product_texts(["Lens"], ["Cameras"], ["Sharp glass"]) == ["Lens . Cameras . Sharp glass"]
    assert product_texts(["Lens"], [""], None) == ["Lens"]


def test_trending_ranks_by_summed_events_overall_and_per_category(tiny_matrix):
    model = TrendingModel().fit(tiny_matrix, item_categories=np.array([0, 1, 0, -1]))
    assert model.scores_.tolist() == [2, 3, 2, 1]
    assert model.top(4).items.tolist() == [1, 0, 2, 3]  # ties by index
    assert model.top(5, category=0).items.tolist() == [0, 2]
    assert set(model.top(5, category=0).reasons.tolist()) == {"trending_category"}
    assert model.top(2, exclude=[1], available=np.array([True, True, False, True])).items.tolist() == [0, 3]
    assert model.similar_items(0, 5).items.tolist() == [2]


def test_trending_from_per_item_scores():
    model = TrendingModel().fit(np.array([0.5, 2.0, 1.0]))
    assert model.recommend([1], 2).items.tolist() == [2, 0]
