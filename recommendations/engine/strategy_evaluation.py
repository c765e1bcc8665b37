"""The ``evaluate`` step: offline metrics of every strategy on a per-customer time split of a seeded sample."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .content import ContentModel
from .evaluation import evaluate_model, held_out, time_split
from .fitting import fit_cf, make_hybrid
from .training_data import TrainingData
from .trending import TrendingModel


def evaluation_sample(data: TrainingData, params: Mapping[str, Any]) -> tuple[np.ndarray, int]:
    """Return (the sampled customers' user indices, sorted; how many customers could be sampled).

    Only customers whose time split leaves at least one test event can be scored, so only they
    are drawn: at most ``eval_max_users`` of them, seeded by ``random_state``. Users are numbered
    in the order of their ids (:class:`TrainingData`), so the same store and seed give the same
    sample whatever order its rows were read in.
    """
    counts = np.bincount(data.users, minlength=data.n_users)
    train_share = 1.0 - float(params["eval_test_ratio"])
    eligible = np.flatnonzero(counts - np.round(train_share * counts) >= 1)  # the rounding time_split uses
    limit = int(params["eval_max_users"])
    if eligible.size <= limit:
        return eligible, int(eligible.size)
    rng = np.random.default_rng(params["random_state"])
    return np.sort(rng.choice(eligible, limit, replace=False)), int(eligible.size)


def evaluate_strategies(data: TrainingData, content: ContentModel, params: Mapping[str, Any]) -> dict[str, Any]:
    """Return offline metrics on a per-user time split: popularity, content, CF, and hybrid blends.

    The split and the scoring cover a seeded sample of customers (:func:`evaluation_sample`), so
    evaluating a store of a million customers costs about what a store of ``eval_max_users`` does,
    bar refitting CF: the sampled customers' last ``eval_test_ratio`` of events by time are the test
    part, and every other event trains (with every customer in the sample, this is the plain
    per-user time split). ``metrics["sample"]`` records the sample's size, the number of customers
    it was drawn from and the seed. CF and trending are refitted on the train part; the content
    model (text only) is reused. Every strategy also gets intra-list diversity (``ild``, over
    content similarity) beside coverage. The blends are the hybrid as configured (diversity
    included); ``results["hybrid"]`` is the best of them and ``results["hybrid_diversity_off"]`` the
    same blend without re-ranking, so the two rows show what diversity costs in accuracy and
    brings in variety. Relevant items are each sampled customer's test items not already in their
    train history.
    """
    k = int(params["eval_k"])
    test_ratio = float(params["eval_test_ratio"])
    sample, eligible = evaluation_sample(data, params)
    in_sample = np.zeros(data.n_users, dtype=bool)
    in_sample[sample] = True
    sampled_rows = np.flatnonzero(in_sample[data.users])
    train_mask = np.ones(data.items.size, dtype=bool)
    train_mask[sampled_rows] = time_split(data.users[sampled_rows], data.timestamps[sampled_rows], test_ratio=test_ratio)
    if not train_mask.any() or train_mask.all():
        return {"k": k, "skipped": "not enough interactions for a time split", "results": {}}
    reference = float(data.timestamps[train_mask].max())
    train = data.matrix_with_rows_rebuilt(
        train_mask, sample, params=params, half_life_days=params["half_life_days"], reference_time=reference
    )
    test = data.matrix(~train_mask, params=params)
    # Only the sampled customers are scored: their rows alone keep every later step small.
    train_rows, test_rows = train[sample], test[sample]
    if held_out(train_rows, test_rows)[0].size == 0:
        return {"k": k, "skipped": "no user has new items in the test part", "results": {}}
    sampled_train = np.zeros(data.items.size, dtype=bool)
    sampled_train[sampled_rows] = train_mask[sampled_rows]
    recency = data.recency(sampled_train)[sample]
    trend = TrendingModel().fit(
        data.matrix_with_rows_rebuilt(
            train_mask, sample, params=params, half_life_days=params["trending_half_life_days"], reference_time=reference
        ),
        data.item_categories,
    )
    cf, _ = fit_cf(train, params)
    del train
    similarity = content.similarity_matrix()
    results = {
        "popularity": evaluate_model(trend, train_rows, test_rows, k=k, similarity=similarity),
        "content": evaluate_model(content, train_rows, test_rows, k=k, similarity=similarity),
        "cf": evaluate_model(cf, train_rows, test_rows, k=k, similarity=similarity),
    }

    def hybrid_metrics(w: float, diversity: bool = True) -> dict[str, Any]:
        hybrid = make_hybrid(params, w, 1.0 - w, diversity=diversity).fit(cf=cf, content=content, trending=trend)
        measured = evaluate_model(hybrid, train_rows, test_rows, k=k, recency=recency, similarity=similarity)
        return {"w_content": w, "w_cf": 1.0 - w, **measured}

    blends = [hybrid_metrics(float(w)) for w in params["eval_weights"]]
    best = max(blends, key=lambda b: (b["ndcg"], -abs(b["w_content"] - float(params["w_content"]))))
    results["hybrid"] = {**best, "diversity": float(params["diversity"]), "category_cap": int(params["category_cap"])}
    results["hybrid_diversity_off"] = {**hybrid_metrics(best["w_content"], diversity=False), "diversity": 0.0, "category_cap": 0}
    protocol = f"per-user last {test_ratio:.0%} by time"
    if sample.size < eligible:
        protocol += f" for a seeded sample of {sample.size:,} of {eligible:,} customers (the others' events all train)"
    return {
        "k": k,
        "split": {"protocol": protocol, "train": int(train_mask.sum()), "test": int((~train_mask).sum())},
        "sample": {
            "customers": int(sample.size),
            "eligible_customers": eligible,
            "max_customers": int(params["eval_max_users"]),
            "seed": params["random_state"],
        },
        "results": results,
        "blends": blends,
    }
