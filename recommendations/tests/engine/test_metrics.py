import math

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine.evaluation import held_out, random_split, time_split, top_k_from_scores
from recommendations.engine.metrics import (
    catalogue_coverage,
    hit_rate_at_k,
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
)

# One user: recommended 1, 2, 3; relevant 2 and 4 -> a single hit at rank 2.
RECOMMENDED = np.array([[1, 2, 3]])
RELEVANT = [[2, 4]]


def test_precision_counts_hits_over_k():
    assert precision_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx(1 / 3)


def test_recall_counts_hits_over_relevant():
    assert recall_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx(1 / 2)


def test_ndcg_uses_natural_log_discount_and_ideal_over_min_k_relevant():
    expected = (1 / math.log(3)) / (1 / math.log(2) + 1 / math.log(3))
    assert ndcg_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx(expected)


def test_map_divides_by_number_of_relevant_items():
    assert map_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx((1 / 2) / 2)


def test_hit_rate_and_perfect_list():
    assert hit_rate_at_k(RECOMMENDED, RELEVANT, 3) == 1.0
    perfect = np.array([[4, 2, 9]])
    assert ndcg_at_k(perfect, RELEVANT, 3) == pytest.approx(1.0)
    assert map_at_k(perfect, RELEVANT, 3) == pytest.approx(1.0)


def test_metrics_average_over_users_and_ignore_padding():
    recommended = np.array([[5, -1, -1], [1, 2, 3]])
    relevant = [[7], [1]]
    assert precision_at_k(recommended, relevant, 3) == pytest.approx((0 + 1 / 3) / 2)
    assert hit_rate_at_k(recommended, relevant, 3) == pytest.approx(0.5)
    assert ndcg_at_k(recommended, relevant, 3) == pytest.approx(0.5)


def test_relevant_may_be_a_sparse_matrix():
    relevant = sp.csr_matrix(([1.0, 1.0], ([0, 0], [2, 4])), shape=(1, 6))
    assert recall_at_k(RECOMMENDED, relevant, 3) == pytest.approx(0.5)


def test_coverage_is_the_share_of_items_recommended():
    assert catalogue_coverage(np.array([[0, 1], [1, -1]]), 4) == 0.5


def test_ranking_metrics_reports_every_metric():
    result = ranking_metrics(RECOMMENDED, RELEVANT, 3, n_items=10)
    assert set(result) == {"precision", "recall", "ndcg", "map", "hit_rate", "users", "coverage"}
    assert result["coverage"] == pytest.approx(0.3)


def test_random_split_keeps_rounded_share_per_user():
    users = np.array([0] * 4 + [1] * 3)
    mask = random_split(users, train_ratio=0.75, seed=42)
    assert mask[:4].sum() == 3  # round(3.0)
    assert mask[4:].sum() == 2  # round(2.25)


def test_time_split_puts_each_users_latest_events_in_test():
    users = np.array([0, 0, 0, 0, 0, 1, 1])
    stamps = np.array([5, 1, 4, 2, 3, 9, 8])
    mask = time_split(users, stamps, test_ratio=0.2)
    # user 0: round(0.8 * 5) = 4 train, the newest (time 5) test; user 1: round(1.6) = 2, both train
    assert mask.tolist() == [False, True, True, True, True, True, True]


def test_top_k_from_scores_skips_seen_items():
    scores = np.array([[0.9, 0.8, 0.1, 0.5]])
    seen = sp.csr_matrix(([1.0], ([0], [0])), shape=(1, 4))
    assert top_k_from_scores(scores, 2, seen=seen).tolist() == [[1, 3]]


def test_held_out_drops_test_items_already_in_train():
    train = sp.csr_matrix(np.array([[1, 0, 0], [1, 0, 0]], dtype=np.float32))
    test = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0]], dtype=np.float32))
    users, relevant = held_out(train, test)
    assert users.tolist() == [0]
    assert relevant[0].tolist() == [1]
