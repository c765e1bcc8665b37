"""The demo store's signal is learnable: the hybrid blend beats content-only and CF-only."""

import pandas as pd
from django.core.management import call_command

from recommendations.engine.pipeline import TrainingData, evaluate_strategies, fit_content, resolve_params


def test_hybrid_beats_content_and_cf_on_a_demo_store(tmp_path):
    call_command("generate_demo_data", products=1500, customers=800, interactions=50_000, seed=42, out=str(tmp_path))
    products = pd.read_csv(tmp_path / "products.csv", dtype=str, keep_default_na=False)
    interactions = pd.read_csv(tmp_path / "interactions.csv", dtype=str)
    products = products.rename(columns={"product_id": "item_id"})
    interactions = interactions.rename(columns={"product_id": "item_id", "interaction_type": "kind", "ts": "timestamp"})
    params = resolve_params({"eval_weights": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]})
    data = TrainingData(products, interactions, params)

    results = evaluate_strategies(data, fit_content(data, params), params)["results"]

    assert results["hybrid"]["ndcg"] > max(results["content"]["ndcg"], results["cf"]["ndcg"])
    assert min(results["content"]["ndcg"], results["cf"]["ndcg"]) > results["popularity"]["ndcg"]
    assert 0 < results["hybrid"]["w_content"] < 1
