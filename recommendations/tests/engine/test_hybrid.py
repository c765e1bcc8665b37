"""The hybrid's blend, cold-start chain and filters on the tiny data (see conftest).

CF is jaccard: neighbours of 0 are 1 (2/3) and 2 (1/3); of 1 are 0 and 2 (2/3 each).
Content ("red apple", "red cherry", "green apple", "blue sky"): 0 ~ 1 and 0 ~ 2 equally; 1 and
2 share nothing. Trending scores [2, 3, 2, 1]; categories [0, 1, 0, none].
"""

import numpy as np
import pytest

from recommendations.engine import HybridRecommender, ItemKNN, TrendingModel, UserHistory
from recommendations.engine.content import ContentModel
from recommendations.engine.hybrid import normalize_scores


@pytest.fixture
def parts(tiny_matrix, tiny_texts):
    return {
        "cf": ItemKNN("jaccard", k=3).fit(tiny_matrix),
        "content": ContentModel(k=3, max_df=1.0, stop_words=None, ngram_range=(1, 1)).fit(tiny_texts),
        "trending": TrendingModel().fit(tiny_matrix, item_categories=np.array([0, 1, 0, -1])),
    }


@pytest.fixture
def hybrid(parts):
    return HybridRecommender(w_content=0.4, w_cf=0.6).fit(**parts)


def test_history_blends_max_normalised_cf_and_content_then_fills_from_trending(hybrid):
    result = hybrid.recommend([0], 3)
    # item 1: 0.6 * (2/3)/(2/3) + 0.4 * 1 = 1.0; item 2: 0.6 * (1/3)/(2/3) + 0.4 * 1 = 0.7
    assert result.items.tolist() == [1, 2, 3]
    assert result.scores.tolist() == pytest.approx([1.0, 0.7, 0.0])
    assert result.reasons.tolist() == ["cf", "content", "trending"]
    assert result.anchors.tolist() == [0, 0, -1]


def test_only_a_current_product_gives_its_cf_and_content_neighbours(hybrid):
    result = hybrid.recommend(None, 3, current_item=1)
    # item 0: 0.6 * 1 + 0.4 * 1 = 1.0; item 2: 0.6 * 1 = 0.6; then category 1 has nothing left -> overall
    assert result.items.tolist() == [0, 2, 3]
    assert result.scores.tolist() == pytest.approx([1.0, 0.6, 0.0])
    assert result.reasons.tolist() == ["cf", "cf", "trending"]
    assert result.anchors.tolist() == [1, 1, -1]


def test_nothing_known_falls_back_to_trending(hybrid):
    result = hybrid.recommend(None, 4)
    assert result.items.tolist() == [1, 0, 2, 3]
    assert result.scores.tolist() == [3, 2, 2, 1]
    assert set(result.reasons.tolist()) == {"trending"}
    assert (result.anchors == -1).all()


def test_nothing_known_with_a_category_starts_with_that_category(hybrid):
    result = hybrid.recommend(None, 4, category=0)
    assert result.items.tolist() == [0, 2, 1, 3]
    assert result.reasons.tolist() == ["trending_category", "trending_category", "trending", "trending"]


def test_history_wins_over_the_current_product_which_counts_as_most_recent(hybrid):
    result = hybrid.recommend([2], 2, current_item=0)
    assert 0 not in result.items and 2 not in result.items
    assert result.items.tolist()[0] == 1
    assert result.anchors[0] in (0, 2)


def test_the_current_product_is_never_recommended(hybrid):
    for item in range(4):
        assert item not in hybrid.recommend(None, 4, current_item=item).items
        assert item not in hybrid.similar_items(item, 4).items
        assert item not in hybrid.recommend([0], 4, current_item=item).items


def test_purchased_items_are_excluded_by_default(hybrid, parts):
    assert 1 not in hybrid.recommend([0], 4, purchased=[1]).items
    keep = HybridRecommender(w_content=0.4, w_cf=0.6, exclude_purchased=False).fit(**parts)
    assert 1 in keep.recommend([0], 4, purchased=[1]).items


def test_purchases_are_taken_from_a_user_history(hybrid):
    history = UserHistory(np.array([0]), np.array([1.0], dtype=np.float32), np.array([1]))
    assert 1 not in hybrid.recommend(history, 4).items


def test_seen_items_are_excluded_unless_configured(hybrid, parts):
    assert set(hybrid.recommend([0, 1], 4).items.tolist()).isdisjoint({0, 1})
    keep = HybridRecommender(w_content=0.4, w_cf=0.6, exclude_seen=False, fill_with_trending=False).fit(**parts)
    assert 0 in keep.recommend([0, 1], 4).items


def test_unavailable_items_are_never_returned_from_any_source(hybrid):
    mask = np.array([True, False, True, True])
    hybrid.set_availability(mask)
    assert 1 not in hybrid.recommend([0], 4).items
    assert 1 not in hybrid.recommend(None, 4).items
    assert 1 not in hybrid.similar_items(0, 4).items
    assert 1 in hybrid.recommend([0], 4, available=np.ones(4, dtype=bool)).items  # request-time mask wins


def test_excluded_items_are_never_returned(hybrid):
    assert set(hybrid.recommend([0], 4, exclude=[1, 3]).items.tolist()) == {2}
    assert set(hybrid.recommend(None, 4, exclude=[1]).items.tolist()) == {0, 2, 3}


def test_weights_of_zero_turn_a_source_off(parts):
    only_cf = HybridRecommender(w_content=0.0, w_cf=1.0, fill_with_trending=False).fit(**parts)
    result = only_cf.recommend([0], 4)
    assert result.items.tolist() == [1, 2]
    assert result.scores.tolist() == pytest.approx([1.0, 0.5])
    assert set(result.reasons.tolist()) == {"cf"}


def test_also_bought_and_trending_helpers(parts, tiny_matrix):
    from recommendations.engine import CoPurchaseModel

    hybrid = HybridRecommender().fit(**parts, also_bought=CoPurchaseModel(k=3).fit(tiny_matrix))
    assert hybrid.also_bought(0, 5).items.tolist() == [1, 2]
    assert hybrid.also_bought(0, 5, purchased=[1]).items.tolist() == [2]
    assert hybrid.trending(2, category=0).items.tolist() == [0, 2]


def test_normalisations():
    assert normalize_scores(np.array([2.0, 1.0, 4.0])).tolist() == [0.5, 0.25, 1.0]
    assert normalize_scores(np.array([3.0, 1.0, 2.0]), "rank").tolist() == pytest.approx([1.0, 1 / 3, 2 / 3])


def test_components_must_agree_on_catalogue_size(parts, tiny_matrix):
    other = TrendingModel().fit(np.ones(7))
    with pytest.raises(ValueError, match="disagree"):
        HybridRecommender().fit(cf=parts["cf"], trending=other)
