"""Filling short lists from trending and merging lists by score, on hand-made arrays (no Django).

Trending scores [5, 4, 3, 2, 1, 0], so the overall order is 0 1 2 3 4 5; categories
[0, 1, 0, 1, 0, none]: category 0 ranks 0 2 4, category 1 ranks 1 3.
"""

import numpy as np
import pytest

from recommendations.engine import Recommendations, TrendingModel
from recommendations.engine.combine import fill_from_trending, merge_by_score


@pytest.fixture
def trending():
    return TrendingModel().fit(np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0]), item_categories=np.array([0, 1, 0, 1, 0, -1]))


def as_lists(found: Recommendations) -> tuple[list, list, list, list]:
    return found.items.tolist(), found.scores.tolist(), found.reasons.tolist(), found.anchors.tolist()


def test_a_short_list_is_filled_from_its_category_then_overall_below_every_real_item(trending):
    found = Recommendations.build([3], [0.9], "cf", anchors=[1])

    filled = fill_from_trending(found, 4, trending, category=0, exclude=np.array([2]))

    assert as_lists(filled) == (
        [3, 0, 4, 1],
        [pytest.approx(0.9), 0.0, 0.0, 0.0],
        ["cf", "trending_category", "trending_category", "trending"],
        [1, -1, -1, -1],
    )


def test_an_empty_list_is_filled_with_the_trending_scores_and_only_available_items(trending):
    available = np.array([False, True, True, True, True, True])

    filled = fill_from_trending(Recommendations.empty(), 2, trending, available=available)

    assert as_lists(filled) == ([1, 2], [4.0, 3.0], ["trending", "trending"], [-1, -1])


def test_a_negative_category_fills_from_overall_trending(trending):
    filled = fill_from_trending(Recommendations.empty(), 2, trending, category=-1, exclude=[0])

    assert filled.items.tolist() == [1, 2]
    assert filled.reasons.tolist() == ["trending", "trending"]


def test_a_full_list_or_no_trending_model_leaves_the_list_as_it_is(trending):
    found = Recommendations.build([4, 5], [0.7, 0.2], "content", anchors=[0, 0])

    assert as_lists(fill_from_trending(found, 2, trending, category=1)) == as_lists(found)
    assert as_lists(fill_from_trending(found, 5, None, category=1)) == as_lists(found)


def test_filling_stops_when_every_item_is_taken_or_excluded(trending):
    filled = fill_from_trending(Recommendations.empty(), 10, trending, exclude=[0, 1, 2, 3])

    assert filled.items.tolist() == [4, 5]


def test_merging_keeps_the_best_scores_ties_by_lower_item(trending):
    parts = [
        Recommendations.build([2, 4], [3.0, 1.0], "trending_category"),
        Recommendations.build([1, 3], [3.0, 2.0], "trending_category"),
    ]

    merged = merge_by_score(parts, 3)

    assert as_lists(merged) == ([1, 2, 3], [3.0, 3.0, 2.0], ["trending_category"] * 3, [-1, -1, -1])
