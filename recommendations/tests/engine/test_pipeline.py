"""train_bundle on small data frames: steps, one artifact, the validation gate."""

import io

import numpy as np
import pandas as pd
import pytest

from recommendations.engine import (
    TRAINING_STEPS,
    BundleValidationError,
    ModelBundle,
    TrendingModel,
    HybridRecommender,
    train_bundle,
    validate_bundle,
)
from recommendations.engine.pipeline import resolve_params


def _frames(n_items=30, n_users=60, n_events=900, seed=0):
    rng = np.random.default_rng(seed)
    categories = ["Cameras", "Lenses", "Books"]
    products = pd.DataFrame(
        {
            "item_id": [f"P{i:03d}" for i in range(n_items)],
            "title": [f"{categories[i % 3]} item {i % 7}" for i in range(n_items)],
            "category": [categories[i % 3] for i in range(n_items)],
            "description": [f"a fine {categories[i % 3].lower()} product number {i}" for i in range(n_items)],
            "available": [i != 5 for i in range(n_items)],
        }
    )
    users = rng.integers(0, n_users, n_events)
    # Each user sticks to one category, so CF has structure to find.
    items = (users % 3) + 3 * rng.integers(0, n_items // 3, n_events)
    interactions = pd.DataFrame(
        {
            "user_id": [f"U{u}" for u in users],
            "item_id": [f"P{i:03d}" for i in items],
            "kind": rng.choice(["view", "click", "add_to_cart", "purchase"], n_events, p=[0.5, 0.3, 0.1, 0.1]),
            "timestamp": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 60 * 86400, n_events), unit="s"),
        }
    )
    return products, interactions


def test_train_bundle_runs_the_named_steps_in_order_and_reports_each():
    products, interactions = _frames()
    seen = []
    bundle, steps, metrics = train_bundle(
        products, interactions, {"eval_weights": [0.0, 0.5]}, on_step=lambda name, seconds, info: seen.append(name)
    )
    assert seen == list(TRAINING_STEPS)
    assert list(steps) == list(TRAINING_STEPS)
    assert all(seconds >= 0 for seconds in steps.values())
    assert set(metrics["results"]) == {"popularity", "content", "cf", "hybrid", "hybrid_diversity_off"}
    assert {"w_content", "w_cf", "ndcg", "precision", "recall", "map", "coverage", "ild"} <= set(metrics["results"]["hybrid"])
    assert bundle.metadata["cf_choice"]["model"] == "ease"
    assert bundle.metadata["counts"]["items"] == 30
    assert bundle.metadata["metrics"] == metrics


def test_bundle_is_one_artifact_that_loads_with_one_call():
    products, interactions = _frames()
    bundle, _, _ = train_bundle(products, interactions, {"evaluate": False})
    buffer = io.BytesIO()
    bundle.save(buffer)
    buffer.seek(0)
    with np.load(io.BytesIO(buffer.getvalue()), allow_pickle=False) as data:
        assert "item_ids" in data.files and "bundle" in data.files
    loaded = ModelBundle.load(buffer)
    assert loaded.item_ids.tolist() == bundle.item_ids.tolist()
    assert loaded.metadata == bundle.metadata
    history = loaded.indices_of(["P000", "P003"])
    first, second = bundle.hybrid.recommend(history, 5), loaded.hybrid.recommend(history, 5)
    assert first.items.tolist() == second.items.tolist()
    assert loaded.ids_of(first)[0].startswith("P")
    assert loaded.index_of("nope") == -1
    assert loaded.category_names.tolist() == ["Books", "Cameras", "Lenses"]  # sorted
    assert loaded.category_index("Lenses") == 2


def test_unavailable_products_from_the_frame_are_never_recommended():
    products, interactions = _frames()
    bundle, _, _ = train_bundle(products, interactions, {"evaluate": False})
    for item in range(30):
        assert 5 not in bundle.hybrid.similar_items(item, 10).items
    assert 5 not in bundle.hybrid.recommend(None, 30).items


def test_item_knn_is_used_above_the_ease_limit_and_recorded():
    products, interactions = _frames()
    bundle, _, _ = train_bundle(products, interactions, {"evaluate": False, "ease_max_items": 10})
    assert bundle.metadata["cf_choice"]["model"] == "item_knn"
    assert "30 items > ease_max_items 10" in bundle.metadata["cf_choice"]["reason"]


def test_numeric_timestamps_and_unknown_products_are_accepted():
    products, interactions = _frames()
    interactions["timestamp"] = np.arange(len(interactions), dtype=float)
    interactions.loc[0, "item_id"] = "gone"
    bundle, _, _ = train_bundle(products, interactions, {"evaluate": False})
    assert bundle.metadata["counts"]["dropped_interactions"] == 1


def test_unknown_params_and_missing_columns_are_refused():
    products, interactions = _frames()
    with pytest.raises(ValueError, match="unknown training parameters: wcf"):
        train_bundle(products, interactions, {"wcf": 1})
    with pytest.raises(ValueError, match="lacks columns: kind"):
        train_bundle(products, interactions.drop(columns=["kind"]))
    with pytest.raises(ValueError, match="unknown event kinds"):
        resolve_params({"event_weights": {"like": 3}})


def test_event_weights_param_merges_with_defaults():
    assert resolve_params({"event_weights": {"view": 0.5}})["event_weights"] == {
        "view": 0.5,
        "click": 2.0,
        "add_to_cart": 4.0,
        "purchase": 8.0,
    }


def test_a_new_store_without_interactions_gets_content_and_trending():
    products, interactions = _frames()
    bundle, _, metrics = train_bundle(products, interactions.iloc[:0])
    assert metrics["results"] == {}
    assert bundle.hybrid.similar_items(0, 3).items.size == 3
    assert bundle.hybrid.recommend(None, 3).items.size == 3


def test_interactions_without_any_co_occurrence_are_rejected_by_the_gate():
    products, interactions = _frames()
    one_each = interactions.drop_duplicates("user_id").copy()
    one_each["item_id"] = "P000"
    with pytest.raises(BundleValidationError, match="CF model has no neighbours"):
        train_bundle(products, one_each, {"evaluate": False})


@pytest.mark.parametrize(("n_events", "dropped"), [(900, 900), (0, 0)])
def test_no_products_is_rejected_by_the_gate(n_events, dropped):
    products, interactions = _frames()
    seen = []
    with pytest.raises(BundleValidationError) as refused:
        train_bundle(
            products.iloc[:0], interactions.iloc[:n_events], {"evaluate": False},
            on_step=lambda name, seconds, info: seen.append(name),
        )
    assert str(refused.value) == f"no products to learn from: the products frame is empty ({dropped} interactions dropped)"
    assert seen == []  # refused before the first step, so before any model was fitted


def test_gate_rejects_nan_scores_and_nan_metrics():
    products, interactions = _frames()
    bundle, _, _ = train_bundle(products, interactions, {"evaluate": False})
    validate_bundle(bundle)
    bundle.metadata["metrics"] = {"results": {"cf": {"ndcg": float("nan")}}}
    with pytest.raises(BundleValidationError, match="metrics.results.cf.ndcg"):
        validate_bundle(bundle)
    bundle.metadata["metrics"] = {}
    bundle.hybrid.content_.neighbor_scores_[0, 0] = np.nan
    with pytest.raises(BundleValidationError, match="NaN"):
        validate_bundle(bundle)


def test_gate_rejects_a_bundle_without_neighbours():
    trending = TrendingModel().fit(np.ones(3))
    bundle = ModelBundle(HybridRecommender().fit(trending=trending), ["a", "b", "c"])
    with pytest.raises(BundleValidationError, match="no item has a single neighbour"):
        validate_bundle(bundle)


@pytest.mark.parametrize("n_items", [100, 100_000])
def test_training_defaults_choose_the_cf_model_the_cf_defaults_choose(n_items):
    from recommendations.engine.collaborative import cf_choice

    assert cf_choice(n_items, resolve_params()) == cf_choice(n_items)
