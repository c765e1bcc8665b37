"""The repeat model on hand-made purchase histories (numbers worked by hand).

Items: 0 milk and 1 coffee (category 0, groceries), 2 a TV (category 1, electronics), 3 a
grocery nobody bought yet. Four customers buy milk every 7 days (3 trips each), three of them
coffee every 14 days (2 trips each), three others the TV once. ``prior_buyers=1``:

  store share 7/10 = 0.7; groceries (7 + 0.7) / 8 = 0.9625; electronics (0 + 0.7) / 4 = 0.175
  milk (4 + 0.9625) / 5 = 0.9925; coffee (3 + 0.9625) / 4 = 0.990625; TV 0.175 / 4 = 0.04375
  (below the 0.1 threshold: durable); the unbought grocery takes its category's 0.9625.
  Intervals: milk 7 days (8 gaps), coffee 14 (3 gaps), the others the store's median, 7.
"""

import io

import numpy as np
import pytest

from recommendations.engine.repeat import DAY_SECONDS, RepeatModel

DAY = DAY_SECONDS
CATEGORIES = np.array([0, 0, 1, 0])


def purchases():
    users, items, days = [], [], []
    for user in range(4):
        for trip in range(3):
            users.append(user), items.append(0), days.append(7 * trip)
    for user in range(3):
        for trip in range(2):
            users.append(user), items.append(1), days.append(14 * trip)
    for user in (4, 5, 6):
        users.append(user), items.append(2), days.append(3)
    return np.array(users), np.array(items), np.array(days, dtype=float) * DAY


@pytest.fixture
def model():
    users, items, seconds = purchases()
    return RepeatModel(prior_buyers=1.0).fit(users, items, seconds, n_items=4, item_categories=CATEGORIES)


def test_shares_intervals_and_repeatability_are_learned_with_category_fallback(model):
    assert model.store_share_ == pytest.approx(0.7)
    assert model.repeat_share_.tolist() == pytest.approx([0.9925, 0.990625, 0.04375, 0.9625])
    assert model.interval_days_.tolist() == pytest.approx([7.0, 14.0, 7.0, 7.0])
    assert model.buyers_.tolist() == [4, 3, 3, 0]
    assert model.repeatable_.tolist() == [True, True, False, True]


def test_scores_follow_how_often_a_customer_bought(model):
    # Both last bought exactly one interval ago (timing 1): 0.9925 * 3/4 against 0.990625 * 1/2.
    scores = model.scores_for(np.array([0, 1]), np.array([3, 1]), np.array([7 * DAY, 14 * DAY]))
    assert scores.tolist() == pytest.approx([0.744375, 0.4953125])


def test_an_item_past_its_cycle_ranks_above_one_just_bought(model):
    # Milk 8 days ago: due 8/7, timing exp(-(1/7)/3) = 0.953498; coffee 1 day ago: 0.1 + 0.9/14 = 0.164286.
    scores = model.scores_for(np.array([0, 1]), np.array([1, 1]), np.array([8 * DAY, 1 * DAY]))
    assert scores.tolist() == pytest.approx([0.9925 * 0.5 * 0.953498, 0.990625 * 0.5 * 0.164286], rel=1e-5)
    milk_now, milk_later = model.scores_for(np.array([0, 0]), np.array([1, 1]), np.array([0.0, 7 * DAY]))
    assert milk_now == pytest.approx(0.9925 * 0.5 * 0.1) and milk_later == pytest.approx(0.9925 * 0.5)


def test_a_durable_product_never_comes_back(model):
    day = 100 * DAY
    history = (np.array([2, 0, 0]), np.array([90 * DAY, 80 * DAY, 93 * DAY]))
    found = model.recommend(history, 5, now=day)
    assert found.items.tolist() == [0]
    assert found.reasons.tolist() == ["repeat"]
    assert found.scores[0] == pytest.approx(0.9925 * (2 / 3) * 1.0)  # 7 days since the last milk: due exactly


def test_staff_override_whole_categories(model):
    users, items, seconds = purchases()
    overridden = RepeatModel(prior_buyers=1.0).fit(
        users, items, seconds, n_items=4, item_categories=CATEGORIES, category_modes={0: "durable", 1: "consumable"}
    )
    assert overridden.repeatable_.tolist() == [False, False, True, False]
    with pytest.raises(ValueError, match="unknown category mode"):
        RepeatModel().fit(users, items, seconds, n_items=4, item_categories=CATEGORIES, category_modes={0: "sometimes"})


def test_two_units_in_one_order_are_not_a_repeat():
    users, items = np.array([0, 0, 1]), np.array([0, 0, 0])
    seconds = np.array([0.0, 600.0, 0.0])  # ten minutes apart: the same trip
    model = RepeatModel(prior_buyers=1.0).fit(users, items, seconds, n_items=1)
    assert model.buyers_.tolist() == [2]
    assert model.store_share_ == 0.0
    assert model.interval_days_.tolist() == [30.0]  # no gap anywhere: the default cycle


def test_the_model_survives_a_save_and_load(model):
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    loaded = RepeatModel.load(buffer)
    for name in RepeatModel._state_arrays:
        assert np.array_equal(getattr(loaded, name), getattr(model, name)), name
    assert (loaded.store_share_, loaded.store_interval_days_) == (model.store_share_, model.store_interval_days_)
