import numpy as np
import pytest

from recommendations.engine.interactions import (
    DEFAULT_EVENT_WEIGHTS,
    decay_factors,
    interaction_matrix,
    kind_codes,
    user_history,
)

DAY = 86_400.0


def test_default_event_weights_rank_purchase_highest():
    assert DEFAULT_EVENT_WEIGHTS == {"view": 1.0, "click": 2.0, "add_to_cart": 4.0, "purchase": 8.0}


def test_kind_codes_accept_names_and_codes():
    assert kind_codes(["view", "click", "add_to_cart", "purchase"]).tolist() == [0, 1, 2, 3]
    assert kind_codes(np.array([3, 0])).tolist() == [3, 0]


def test_unknown_kind_is_refused_by_name():
    with pytest.raises(ValueError, match="'like'"):
        kind_codes(["view", "like"])


def test_duplicate_events_are_summed_with_their_weights():
    matrix = interaction_matrix(
        [0, 0, 0, 1], [2, 2, 2, 0], n_users=2, n_items=3, kinds=["view", "purchase", "view", "add_to_cart"]
    )
    assert matrix.toarray().tolist() == [[0, 0, 10], [4, 0, 0]]


def test_custom_event_weights_override_defaults():
    matrix = interaction_matrix([0, 0], [0, 1], n_users=1, n_items=2, kinds=["view", "click"], event_weights={"view": 0.5})
    assert matrix.toarray().tolist() == [[0.5, 2.0]]


def test_explicit_weights_are_used_as_given():
    matrix = interaction_matrix([0, 0], [1, 1], n_users=1, n_items=2, weights=[3.0, 2.0])
    assert matrix[0, 1] == 5.0


def test_decay_halves_per_half_life_relative_to_reference_time():
    factors = decay_factors([0.0, DAY, 2 * DAY, 3 * DAY], half_life_days=1.0, reference_time=2 * DAY)
    assert factors.tolist() == [0.25, 0.5, 1.0, 1.0]  # future events count fully, never more


def test_decay_reference_defaults_to_newest_event():
    assert decay_factors([0.0, 10 * DAY], half_life_days=10.0).tolist() == [0.5, 1.0]


def test_no_half_life_means_no_decay():
    assert decay_factors([0.0, 1e9], half_life_days=None).tolist() == [1.0, 1.0]


def test_decayed_matrix_combines_weight_and_age():
    matrix = interaction_matrix(
        [0, 0],
        [0, 0],
        n_users=1,
        n_items=1,
        kinds=["purchase", "view"],
        timestamps=[0.0, 2 * DAY],
        half_life_days=1.0,
    )
    assert matrix[0, 0] == pytest.approx(8 * 0.25 + 1)


def test_out_of_range_indices_are_refused():
    with pytest.raises(ValueError, match="item index"):
        interaction_matrix([0], [5], n_users=1, n_items=3)


def test_user_history_orders_items_by_latest_event_and_lists_purchases():
    history = user_history([4, 2, 4, 7], kinds=["view", "purchase", "click", "view"], timestamps=[1, 2, 5, 3])
    assert history.items.tolist() == [2, 7, 4]
    assert history.weights.tolist() == [8.0, 1.0, 3.0]
    assert history.purchased.tolist() == [2]
