"""Evaluation on a seeded sample of customers: bounded, deterministic, recorded; and the matrices it reuses."""

import numpy as np
import pandas as pd
import pytest

from recommendations.engine import train_bundle
from recommendations.engine.evaluation import time_split
from recommendations.engine.pipeline import TrainingData, evaluate_strategies, evaluation_sample, fit_content, resolve_params


def store_frames(n_users=80, n_items=24, n_events=1600, seed=3):
    """Customers loyal to one of three categories; a few customers with a single event (never sampled)."""
    rng = np.random.default_rng(seed)
    categories = ["Cameras", "Lenses", "Books"]
    products = pd.DataFrame({
        "item_id": [f"P{i:02d}" for i in range(n_items)],
        "title": [f"{categories[i % 3]} model {i % 5}" for i in range(n_items)],
        "category": [categories[i % 3] for i in range(n_items)],
    })  # fmt: skip
    users = rng.integers(0, n_users, n_events)
    items = (users % 3) + 3 * rng.integers(0, n_items // 3, n_events)
    interactions = pd.DataFrame({
        "user_id": [f"U{u:03d}" for u in users] + ["LONE1", "LONE2"],
        "item_id": [f"P{i:02d}" for i in items] + ["P00", "P01"],
        "kind": list(rng.choice(["view", "click", "purchase"], n_events)) + ["view", "view"],
        "timestamp": list(rng.integers(1_700_000_000, 1_705_000_000, n_events).astype(float)) + [1.7e9, 1.7e9],
    })  # fmt: skip
    return products, interactions


def metrics_of(products, interactions, **params):
    settings = resolve_params({"eval_weights": [0.0, 0.5], **params})
    data = TrainingData(products, interactions, settings)
    return evaluate_strategies(data, fit_content(data, settings), settings)


def test_the_sample_is_recorded_and_bounds_the_customers_scored():
    products, interactions = store_frames()

    metrics = metrics_of(products, interactions, eval_max_users=12, random_state=5)

    assert metrics["sample"] == {"customers": 12, "eligible_customers": 80, "max_customers": 12, "seed": 5}
    assert metrics["split"]["protocol"].endswith("for a seeded sample of 12 of 80 customers (the others' events all train)")
    assert all(0 < result["users"] <= 12 for result in metrics["results"].values())
    # Only the sampled customers' last events are held out; everything else trains.
    assert metrics["split"]["train"] + metrics["split"]["test"] == len(interactions)
    assert metrics["split"]["test"] < 0.2 * len(interactions) * 12 / 80 + 12


def test_the_same_store_and_seed_give_the_same_metrics_whatever_the_row_order():
    products, interactions = store_frames()
    shuffled = interactions.sample(frac=1.0, random_state=11).reset_index(drop=True)

    first = metrics_of(products, interactions, eval_max_users=15, random_state=2)
    again = metrics_of(products, shuffled, eval_max_users=15, random_state=2)

    assert again == first


def test_another_seed_draws_other_customers():
    products, interactions = store_frames()
    settings = resolve_params({})
    data = TrainingData(products, interactions, settings)

    sample, eligible = evaluation_sample(data, {**settings, "eval_max_users": 10, "random_state": 0})
    other, _ = evaluation_sample(data, {**settings, "eval_max_users": 10, "random_state": 1})
    repeated, _ = evaluation_sample(data, {**settings, "eval_max_users": 10, "random_state": 0})

    assert eligible == 80
    assert sample.tolist() == sorted(sample.tolist()) == repeated.tolist()
    assert len(set(sample.tolist())) == 10 and sample.tolist() != other.tolist()
    lone = [int(np.flatnonzero(data.user_ids == name)[0]) for name in ("LONE1", "LONE2")]
    assert not set(lone) & set(evaluation_sample(data, {**settings, "eval_max_users": 1000})[0].tolist())


def test_with_every_customer_in_the_sample_the_split_is_the_plain_per_user_time_split():
    products, interactions = store_frames()
    settings = resolve_params({})
    data = TrainingData(products, interactions, settings)
    plain = time_split(data.users, data.timestamps, test_ratio=0.2)

    metrics = metrics_of(products, interactions, eval_max_users=5000)

    assert metrics["sample"]["customers"] == metrics["sample"]["eligible_customers"] == 80
    assert metrics["split"] == {"protocol": "per-user last 20% by time", "train": int(plain.sum()), "test": int((~plain).sum())}


def test_training_records_the_sample_in_the_bundle_metadata():
    products, interactions = store_frames()

    bundle, _, metrics = train_bundle(products, interactions, {"eval_max_users": 9, "eval_weights": [0.0]})

    assert bundle.metadata["metrics"]["sample"]["customers"] == 9 == metrics["sample"]["customers"]


@pytest.mark.parametrize("half_life_days", [None, 30.0])
def test_rebuilding_the_sampled_rows_gives_the_matrix_built_from_scratch(half_life_days):
    products, interactions = store_frames()
    settings = resolve_params({})
    data = TrainingData(products, interactions, settings)
    data.matrix(params=settings, half_life_days=half_life_days)  # the matrix of all events, as training builds it
    sample = np.array([1, 4, 9, 30, 77])
    mask = np.ones(data.items.size, dtype=bool)
    rows = np.flatnonzero(np.isin(data.users, sample))
    mask[rows[::2]] = False  # some of the sampled customers' events left out

    rebuilt = data.matrix_with_rows_rebuilt(mask, sample, params=settings, half_life_days=half_life_days)
    scratch = data.matrix(mask, params=settings, half_life_days=half_life_days)

    rebuilt.sort_indices()
    scratch.sort_indices()
    assert rebuilt.shape == scratch.shape
    assert np.array_equal(rebuilt.indptr, scratch.indptr) and np.array_equal(rebuilt.indices, scratch.indices)
    assert np.array_equal(rebuilt.data, scratch.data)  # bit for bit
