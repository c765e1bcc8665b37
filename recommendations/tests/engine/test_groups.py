"""One product per item group: the candidates kept and how many to ask for, on lists small enough to check by hand."""

import numpy as np

from recommendations.engine import Recommendations
from recommendations.engine.groups import candidates_for, distinct_group_prefix

# Items 0..6; items 1, 2, 4 are one product in three sizes (group 0), items 3 and 5 another (group 1).
GROUPS = np.array([-1, 0, 0, 1, 0, 1, -1])
RANKED = Recommendations.build([1, 2, 3, 0, 4, 5, 6], [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3], "content")


def test_the_prefix_ends_before_the_group_after_the_nth():
    kept = distinct_group_prefix(RANKED, GROUPS, 2)

    assert kept.items.tolist() == [1, 2, 3]  # groups 0 and 1; item 2 stays as group 0's runner-up
    assert kept.scores.tolist() == np.float32([0.9, 0.8, 0.7]).tolist()


def test_items_without_a_group_count_one_each_and_a_short_list_is_kept_whole():
    assert distinct_group_prefix(RANKED, GROUPS, 3).items.tolist() == [1, 2, 3, 0, 4, 5]
    assert distinct_group_prefix(RANKED, GROUPS, 9).items.tolist() == [1, 2, 3, 0, 4, 5, 6]


def test_the_current_products_group_is_left_out():
    assert distinct_group_prefix(RANKED, GROUPS, 2, hidden_group=0).items.tolist() == [3, 0, 5]


def test_candidates_cover_the_worst_case_of_every_variant_ranked_first():
    assert candidates_for(10, 1, 1_000) == 10  # no groups: no extra candidates
    assert candidates_for(10, 3, 1_000) == 32  # ten groups of three, and the current product's other two
    assert candidates_for(10, 3, 20) == 20
    assert candidates_for(10, 3, 5) == 10
