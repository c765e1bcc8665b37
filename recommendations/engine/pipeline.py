"""Training as named steps: data frames in, one validated :class:`ModelBundle` out.

    bundle, step_seconds, metrics = train_bundle(products, interactions, params, on_step=callback)

``products`` (one row per product; ids unique):

    item_id      str   the store's product id
    title        str
    category     str   category key, e.g. a name or a slug ("" or missing: none)
    category_name str  optional: the category as the product's text names it (default: ``category``)
    description  str   optional column
    available    bool  optional column (default True): active and in stock at training time

``interactions`` (one row per event; rows naming an unknown item_id are dropped and counted):

    user_id      str   the customer id (or an integer key)
    item_id      str
    kind         str   view | click | add_to_cart | purchase (or its code 0..3, as EVENT_KINDS orders them)
    timestamp          datetime64 (naive = UTC) or number of seconds since the epoch

A reader that has already mapped events to products may give ``item_index`` (int, the row
of the products frame; -1 or out of range: unknown) instead of ``item_id``: ten million
events then need no string work at all.

``params``: any subset of :data:`DEFAULT_PARAMS` (unknown keys are refused). ``on_step``:
``callback(step, seconds, info)`` after each step of :data:`TRAINING_STEPS` (info: counts).
``step_seconds`` maps step name to seconds; ``metrics`` is ``{}`` without evaluation, else
``{"k", "split", "sample", "results": {"popularity", "content", "cf", "hybrid", "hybrid_diversity_off"}, "blends"}``
where each result has precision, recall, ndcg, map, hit_rate, coverage, ild, users, and the
hybrids also ``w_content``/``w_cf`` of the best blend and their ``diversity``/``category_cap``. The bundle's ``metadata`` records counts, the
params used, the CF choice (``metadata["cf_choice"]``), step times and metrics. The bundle
has passed :func:`validate_bundle`; a degenerate one raises :class:`BundleValidationError`, and so
does an empty products frame, before any model is fitted.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Mapping, Optional

import pandas as pd

from .bundle import BundleValidationError, ModelBundle, validate_bundle
from .collaborative import DEFAULT_CF_PARAMS
from .content import ContentModel
from .fitting import (  # noqa: F401 (the training steps, importable from here as before)
    PURCHASE_KINDS,
    content_model,
    fit_also_bought,
    fit_cf,
    fit_content,
    keep_active_users,
    make_hybrid,
)
from .interactions import EVENT_KINDS
from .strategy_evaluation import evaluate_strategies, evaluation_sample  # noqa: F401
from .training_data import INTERACTION_COLUMNS, PRODUCT_COLUMNS, TrainingData, timestamps_to_seconds  # noqa: F401
from .trending import TrendingModel

logger = logging.getLogger("recommendations.engine")

TRAINING_STEPS = ("build_matrix", "fit_content", "fit_cf", "fit_also_bought", "fit_trending", "evaluate", "validate")

DEFAULT_PARAMS: dict[str, Any] = {
    # interaction matrix
    "event_weights": {"view": 1.0, "click": 2.0, "add_to_cart": 4.0, "purchase": 8.0},
    "half_life_days": 30.0,  # CF time decay; 0 or None: none
    "trending_half_life_days": 7.0,
    "reference_time": None,  # seconds; default: the newest interaction
    "min_interactions": 2,  # customers with fewer distinct products are left out of CF training
    # content
    "content_k": 50,
    "content_max_df": 0.5,
    "content_max_df_count": 10_000,
    "content_min_df": 1,
    # collaborative filtering (cf_model, ease_*, similarity, k, alpha, shrink, power) and n_jobs
    **DEFAULT_CF_PARAMS,
    # customers also bought (purchase and add_to_cart events only)
    "also_bought_k": 50,
    "also_bought_similarity": "asymmetric_cosine",
    # hybrid
    "w_content": 0.2,
    "w_cf": 0.8,
    "n_recent": 20,
    "exclude_purchased": True,
    "exclude_seen": True,
    "normalization": "max",
    # diversity: MMR strength over content similarity (0 = off) and at most this many items of
    # one category per list (0 = no cap); personal and product lists, not trending
    "diversity": 0.2,
    "category_cap": 0,
    # evaluation (per-user time split)
    "evaluate": True,
    "eval_k": 10,
    "eval_test_ratio": 0.2,
    # Customers in the seeded evaluation sample (metrics["sample"] records it). Scoring costs about
    # 4 ms a customer at 100,000 products (a request per hybrid blend), so 2,000 keep a large
    # store's evaluation near 10 s; a store with fewer customers is evaluated on all of them.
    "eval_max_users": 2000,
    "eval_weights": [0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0],
    "random_state": 0,
}

def resolve_params(params: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
    """Return the defaults overridden by ``params``; ValueError naming unknown keys."""
    params = dict(params or {})
    unknown = sorted(set(params) - set(DEFAULT_PARAMS))
    if unknown:
        raise ValueError(f"unknown training parameters: {', '.join(unknown)}")
    merged = {**DEFAULT_PARAMS, **params}
    weights = {**DEFAULT_PARAMS["event_weights"], **(params.get("event_weights") or {})}
    bad = sorted(set(weights) - set(EVENT_KINDS))
    if bad:
        raise ValueError(f"unknown event kinds in event_weights: {', '.join(bad)}")
    merged["event_weights"] = {kind: float(weights[kind]) for kind in EVENT_KINDS}
    return merged


def train_bundle(
    products: pd.DataFrame,
    interactions: pd.DataFrame,
    params: Optional[Mapping[str, Any]] = None,
    *,
    on_step: Optional[Callable[[str, float, dict], None]] = None,
    content: Optional[ContentModel] = None,
    content_seconds: Optional[float] = None,
) -> tuple[ModelBundle, dict[str, float], dict[str, Any]]:
    """Train every model, evaluate, and return ``(bundle, step_seconds, metrics)`` (module docstring).

    ``content``: a content model already fitted on these products' texts elsewhere (the blocks
    of a spread run), with the ``content_seconds`` it took; the ``fit_content`` step then reports those.
    """
    settings = resolve_params(params)
    timings: dict[str, float] = {}

    def step(name: str, started: float, **info) -> None:
        seconds = round(time.perf_counter() - started, 3)
        timings[name] = seconds
        logger.info("training step %s: %.2f s %s", name, seconds, info)
        if on_step is not None:
            on_step(name, seconds, info)

    started = time.perf_counter()
    data = TrainingData(products, interactions, settings)
    if data.n_items == 0:
        # Checked before any fit: EASE on a 0 x 0 matrix fails inside LAPACK, not with a reason.
        raise BundleValidationError(
            f"no products to learn from: the products frame is empty ({data.dropped_interactions} interactions dropped)"
        )
    cf_matrix = data.matrix(params=settings, half_life_days=settings["half_life_days"])
    trend_matrix = data.matrix(params=settings, half_life_days=settings["trending_half_life_days"])
    step(
        "build_matrix", started,
        items=data.n_items, users=data.n_users, interactions=int(data.items.size),
        dropped_interactions=data.dropped_interactions, matrix_nnz=int(cf_matrix.nnz),
    )  # fmt: skip

    started = time.perf_counter()
    if content is None:
        content = fit_content(data, settings)
    elif content.n_items_ != data.n_items:
        raise ValueError(f"the content model knows {content.n_items_} products, the frame holds {data.n_items}")
    step("fit_content", started - (content_seconds or 0.0), terms=content.n_terms_)

    started = time.perf_counter()
    cf, choice = fit_cf(cf_matrix, settings)
    step("fit_cf", started, model=choice["model"], reason=choice["reason"])

    started = time.perf_counter()
    also_bought = fit_also_bought(data, settings)
    step("fit_also_bought", started)

    started = time.perf_counter()
    trending = TrendingModel().fit(trend_matrix, data.item_categories)
    step("fit_trending", started, categories=int(data.category_names.size))

    metrics: dict[str, Any] = {}
    if settings["evaluate"]:
        started = time.perf_counter()
        metrics = evaluate_strategies(data, content, settings)
        step("evaluate", started, **{name: round(m["ndcg"], 4) for name, m in metrics.get("results", {}).items()})

    started = time.perf_counter()
    hybrid = make_hybrid(settings).fit(
        cf=cf, content=content, trending=trending, also_bought=also_bought, available=data.available
    )
    metadata = {
        "counts": {
            "items": data.n_items,
            "users": data.n_users,
            "interactions": int(data.items.size),
            "dropped_interactions": data.dropped_interactions,
            "categories": int(data.category_names.size),
            "available_items": int(data.available.sum()),
        },
        "params": settings,
        "cf_choice": choice,
        "reference_time": data.reference_time,
        "metrics": metrics,
    }
    bundle = ModelBundle(hybrid, data.item_ids, category_names=data.category_names, metadata=metadata)
    validate_bundle(bundle, require_cf=data.items.size > 0)
    step("validate", started)
    bundle.metadata["step_seconds"] = dict(timings)
    return bundle, timings, metrics


__all__ = [
    "DEFAULT_PARAMS",
    "TRAINING_STEPS",
    "BundleValidationError",
    "TrainingData",
    "evaluate_strategies",
    "evaluation_sample",
    "fit_cf",
    "fit_content",
    "resolve_params",
    "train_bundle",
]
