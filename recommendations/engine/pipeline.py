"""Training as named steps: data frames in, one validated :class:`ModelBundle` out.

    bundle, step_seconds, metrics = train_bundle(products, interactions, params, on_step=callback)

``products`` (one row per product; ids unique):

    item_id      str   the store's product id
    title        str
    category     str   category name ("" or missing: none)
    description  str   optional column
    available    bool  optional column (default True): active and in stock at training time

``interactions`` (one row per event; rows naming an unknown item_id are dropped and counted):

    user_id      str   the customer id
    item_id      str
    kind         str   view | click | add_to_cart | purchase
    timestamp          datetime64 (naive = UTC) or number of seconds since the epoch

``params``: any subset of :data:`DEFAULT_PARAMS` (unknown keys are refused). ``on_step``:
``callback(step, seconds, info)`` after each step of :data:`TRAINING_STEPS` (info: counts).
``step_seconds`` maps step name to seconds; ``metrics`` is ``{}`` without evaluation, else
``{"k", "split", "results": {"popularity", "content", "cf", "hybrid", "hybrid_diversity_off"}, "blends"}``
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

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .bundle import BundleValidationError, ModelBundle, validate_bundle
from .collaborative import DEFAULT_CF_PARAMS, CoPurchaseModel, make_cf_model
from .content import ContentModel, product_texts
from .evaluation import evaluate_model, held_out, time_split
from .hybrid import HybridRecommender
from .interactions import EVENT_KINDS, interaction_matrix, kind_codes
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
    "eval_max_users": 5000,
    "eval_weights": [0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0],
    "random_state": 0,
}

PRODUCT_COLUMNS = ("item_id", "title", "category")
INTERACTION_COLUMNS = ("user_id", "item_id", "kind", "timestamp")
PURCHASE_KINDS = ("add_to_cart", "purchase")


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


def timestamps_to_seconds(values: pd.Series) -> np.ndarray:
    """Return float seconds since the epoch from datetimes (naive = UTC), strings or numbers."""
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=np.float64)
    moments = values if pd.api.types.is_datetime64_any_dtype(values) else pd.to_datetime(values, utc=True, format="ISO8601")
    if moments.dt.tz is None:
        moments = moments.dt.tz_localize("UTC")
    return ((moments - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64)


class TrainingData:
    """Products and interactions mapped to integer indices (the ``build_matrix`` step's output)."""

    def __init__(self, products: pd.DataFrame, interactions: pd.DataFrame, params: Mapping[str, Any]):
        missing = [c for c in PRODUCT_COLUMNS if c not in products.columns]
        if missing:
            raise ValueError(f"products frame lacks columns: {', '.join(missing)}")
        missing = [c for c in INTERACTION_COLUMNS if c not in interactions.columns]
        if missing:
            raise ValueError(f"interactions frame lacks columns: {', '.join(missing)}")
        item_ids = products["item_id"].astype(str).to_numpy()
        if pd.Index(item_ids).has_duplicates:
            duplicated = pd.Index(item_ids)[pd.Index(item_ids).duplicated()][0]
            raise ValueError(f"products frame repeats item_id {duplicated!r}")
        self.item_ids = item_ids
        self.n_items = item_ids.size
        categories = products["category"].fillna("").astype(str)
        self.category_names, category_codes = _codes(categories.to_numpy(), skip="")
        self.item_categories = category_codes
        descriptions = products["description"] if "description" in products.columns else None
        self.texts = product_texts(
            products["title"].fillna("").astype(str).tolist(),
            categories.tolist(),
            None if descriptions is None else descriptions.fillna("").astype(str).tolist(),
        )
        if "available" in products.columns:
            self.available = products["available"].fillna(False).to_numpy(dtype=bool)
        else:
            self.available = np.ones(self.n_items, dtype=bool)

        item_position = pd.Index(item_ids).get_indexer(interactions["item_id"].astype(str))
        known = item_position >= 0
        self.dropped_interactions = int((~known).sum())
        events = interactions.loc[known]
        self.items = item_position[known].astype(np.int64)
        users, user_ids = pd.factorize(events["user_id"].astype(str), sort=False)
        self.user_ids, self.users = np.asarray(user_ids, dtype=str), users.astype(np.int64)
        self.n_users = self.user_ids.size
        self.kinds = kind_codes(events["kind"].astype(str).to_numpy())
        self.timestamps = timestamps_to_seconds(events["timestamp"])
        reference = params.get("reference_time")
        self.reference_time = float(reference) if reference is not None else (
            float(self.timestamps.max()) if self.timestamps.size else 0.0
        )

    def matrix(self, mask=None, *, half_life_days=None, kinds=None, params: Mapping[str, Any], reference_time=None):
        """Return the weighted user x item matrix of the events selected by ``mask`` and ``kinds``."""
        selected = np.ones(self.items.size, dtype=bool) if mask is None else mask.copy()
        if kinds is not None:
            selected &= np.isin(self.kinds, [EVENT_KINDS.index(k) for k in kinds])
        return interaction_matrix(
            self.users[selected],
            self.items[selected],
            n_users=self.n_users,
            n_items=self.n_items,
            kinds=self.kinds[selected],
            timestamps=self.timestamps[selected],
            event_weights=params["event_weights"],
            half_life_days=half_life_days,
            reference_time=self.reference_time if reference_time is None else reference_time,
        )

    def recency(self, mask=None) -> sp.csr_matrix:
        """Return the user x item matrix of each cell's newest event time (seconds)."""
        selected = np.ones(self.items.size, dtype=bool) if mask is None else mask
        frame = pd.DataFrame({"u": self.users[selected], "i": self.items[selected], "t": self.timestamps[selected]})
        newest = frame.groupby(["u", "i"], sort=False)["t"].max()
        users = newest.index.get_level_values(0).to_numpy()
        items = newest.index.get_level_values(1).to_numpy()
        # +1 so that an event at time 0 is still stored.
        return sp.csr_matrix((newest.to_numpy() + 1.0, (users, items)), shape=(self.n_users, self.n_items))


def _codes(values: np.ndarray, skip: Optional[str] = None) -> tuple[np.ndarray, np.ndarray]:
    """Return (unique values, code per value); ``skip`` maps to -1."""
    keep = values != skip if skip is not None else np.ones(values.size, dtype=bool)
    names, inverse = np.unique(values[keep], return_inverse=True)
    codes = np.full(values.size, -1, dtype=np.int64)
    codes[keep] = inverse
    return names.astype(str), codes


def keep_active_users(matrix: sp.csr_matrix, min_interactions: int) -> sp.csr_matrix:
    """Return the matrix with rows of users having fewer than ``min_interactions`` items emptied."""
    matrix = sp.csr_matrix(matrix)
    if min_interactions <= 1:
        return matrix
    counts = np.diff(matrix.indptr)
    keep = (counts >= min_interactions).astype(np.float32)
    return sp.csr_matrix(sp.diags(keep) @ matrix)


def fit_content(data: TrainingData, params: Mapping[str, Any]) -> ContentModel:
    """Return the content model fitted on the products' texts with the ``content_*`` params."""
    return ContentModel(
        k=int(params["content_k"]),
        max_df=float(params["content_max_df"]),
        max_df_count=None if params["content_max_df_count"] is None else int(params["content_max_df_count"]),
        min_df=int(params["content_min_df"]),
        n_jobs=int(params["n_jobs"]),
    ).fit(data.texts)


def fit_cf(matrix: sp.csr_matrix, params: Mapping[str, Any]):
    """Return the fitted CF model for this catalogue size and the record of the choice."""
    model, choice = make_cf_model(matrix.shape[1], params)
    return model.fit(keep_active_users(matrix, int(params["min_interactions"]))), choice


def fit_also_bought(data: TrainingData, params: Mapping[str, Any]) -> CoPurchaseModel:
    """Return the "customers also bought" model fitted on purchase and add-to-cart events."""
    matrix = data.matrix(kinds=PURCHASE_KINDS, params=params, half_life_days=params["half_life_days"])
    return CoPurchaseModel(
        params["also_bought_similarity"], k=int(params["also_bought_k"]), n_jobs=int(params["n_jobs"])
    ).fit(keep_active_users(matrix, 2))


def make_hybrid(
    params: Mapping[str, Any], w_content: Optional[float] = None, w_cf: Optional[float] = None, *, diversity: bool = True
):
    """Return the unfitted hybrid ``params`` describe; ``diversity=False`` turns re-ranking off (evaluation)."""
    if not diversity:
        params = {**params, "diversity": 0.0, "category_cap": 0}
    return HybridRecommender(
        w_content=float(params["w_content"] if w_content is None else w_content),
        w_cf=float(params["w_cf"] if w_cf is None else w_cf),
        n_recent=int(params["n_recent"]),
        exclude_purchased=bool(params["exclude_purchased"]),
        exclude_seen=bool(params["exclude_seen"]),
        normalization=params["normalization"],
        diversity=float(params["diversity"]),
        category_cap=int(params["category_cap"]),
    )


def evaluate_strategies(data: TrainingData, content: ContentModel, params: Mapping[str, Any]) -> dict[str, Any]:
    """Return offline metrics on a per-user time split: popularity, content, CF, and hybrid blends.

    CF and trending are refitted on the train part; the content model (text only) is reused.
    Every strategy also gets intra-list diversity (``ild``, over content similarity) beside
    coverage. The blends are the hybrid as configured (diversity included); ``results["hybrid"]``
    is the best of them and ``results["hybrid_diversity_off"]`` the same blend without
    re-ranking, so the two rows show what diversity costs in accuracy and brings in variety.
    Relevant items are each user's test items not already in their train history; at most
    ``eval_max_users`` users are scored (a seeded sample).
    """
    k = int(params["eval_k"])
    train_mask = time_split(data.users, data.timestamps, test_ratio=float(params["eval_test_ratio"]))
    if not train_mask.any() or train_mask.all():
        return {"k": k, "skipped": "not enough interactions for a time split", "results": {}}
    reference = float(data.timestamps[train_mask].max())
    train = data.matrix(train_mask, params=params, half_life_days=params["half_life_days"], reference_time=reference)
    test = data.matrix(~train_mask, params=params)
    users, _ = held_out(train, test)
    if users.size == 0:
        return {"k": k, "skipped": "no user has new items in the test part", "results": {}}
    rng = np.random.default_rng(params["random_state"])
    if users.size > int(params["eval_max_users"]):
        users = np.sort(rng.choice(users, int(params["eval_max_users"]), replace=False))
    trend = TrendingModel().fit(
        data.matrix(train_mask, params=params, half_life_days=params["trending_half_life_days"], reference_time=reference),
        data.item_categories,
    )
    cf, _ = fit_cf(train, params)
    recency = data.recency(train_mask)
    similarity = content.similarity_matrix()
    results = {
        "popularity": evaluate_model(trend, train, test, k=k, users=users, similarity=similarity),
        "content": evaluate_model(content, train, test, k=k, users=users, similarity=similarity),
        "cf": evaluate_model(cf, train, test, k=k, users=users, similarity=similarity),
    }

    def hybrid_metrics(w: float, diversity: bool = True) -> dict[str, Any]:
        hybrid = make_hybrid(params, w, 1.0 - w, diversity=diversity).fit(cf=cf, content=content, trending=trend)
        measured = evaluate_model(hybrid, train, test, k=k, users=users, recency=recency, similarity=similarity)
        return {"w_content": w, "w_cf": 1.0 - w, **measured}

    blends = [hybrid_metrics(float(w)) for w in params["eval_weights"]]
    best = max(blends, key=lambda b: (b["ndcg"], -abs(b["w_content"] - float(params["w_content"]))))
    results["hybrid"] = {**best, "diversity": float(params["diversity"]), "category_cap": int(params["category_cap"])}
    results["hybrid_diversity_off"] = {**hybrid_metrics(best["w_content"], diversity=False), "diversity": 0.0, "category_cap": 0}
    return {
        "k": k,
        "split": {"protocol": f"per-user last {params['eval_test_ratio']:.0%} by time", "train": int(train_mask.sum()), "test": int((~train_mask).sum())},
        "results": results,
        "blends": blends,
    }


def train_bundle(
    products: pd.DataFrame,
    interactions: pd.DataFrame,
    params: Optional[Mapping[str, Any]] = None,
    *,
    on_step: Optional[Callable[[str, float, dict], None]] = None,
) -> tuple[ModelBundle, dict[str, float], dict[str, Any]]:
    """Train every model, evaluate, and return ``(bundle, step_seconds, metrics)`` (module docstring)."""
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
    content = fit_content(data, settings)
    step("fit_content", started, terms=content.n_terms_)

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
    "fit_cf",
    "fit_content",
    "resolve_params",
    "train_bundle",
]
