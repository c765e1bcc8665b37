"""Glue between the database and the engine: read the store into frames, train one bundle.

The engine knows nothing of Django; this module is the only place that turns rows into
the engine's frames (``recommendations.engine.pipeline`` documents their columns).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db import connection, transaction

from recommendations.engine import BundleValidationError, ModelBundle, train_bundle
from recommendations.store import epoch_seconds_sql
from shop.models import Customer, Interaction, Product

READ_CHUNK_ROWS = 200_000


@dataclass
class TrainingResult:
    bundle: ModelBundle | None
    product_count: int
    customer_count: int
    interaction_count: int
    step_seconds: dict[str, float] = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    cf_algorithm: str = ""
    validation_error: str = ""


def products_frame() -> pd.DataFrame:
    """Return every product (inactive ones too, flagged unavailable) in the engine's columns."""
    rows = Product.objects.order_by("pk").values_list(
        "pk", "product_id", "title", "category__name", "description", "is_active", "stock"
    )
    frame = pd.DataFrame.from_records(
        list(rows), columns=["pk", "item_id", "title", "category", "description", "is_active", "stock"]
    )
    stock = pd.to_numeric(frame["stock"], errors="coerce")
    frame["available"] = frame["is_active"].astype(bool) & (stock.isna() | (stock > 0))
    return frame.drop(columns=["is_active", "stock"])


def interactions_frame(*, product_ids_by_pk: pd.Series) -> pd.DataFrame:
    """Return every interaction as (user_id, item_id, kind, timestamp seconds), read in chunks.

    Reading integer keys and epoch seconds with one SQL query keeps ten million rows to a
    few hundred megabytes; the product's store id is joined in pandas.
    """
    table = Interaction._meta.db_table
    sql = f"SELECT customer_id, product_id, kind, {epoch_seconds_sql('timestamp')} FROM {table}"
    customers, products, kinds, seconds = [], [], [], []
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, [])  # with parameters, as epoch_seconds_sql expects
        while rows := cursor.fetchmany(READ_CHUNK_ROWS):
            chunk = np.array(rows, dtype=object)
            customers.append(chunk[:, 0].astype(np.int64))
            products.append(chunk[:, 1].astype(np.int64))
            kinds.append(pd.Categorical(chunk[:, 2], categories=Interaction.Kind.values))
            seconds.append(chunk[:, 3].astype(np.float64))
    if not customers:
        return pd.DataFrame({"user_id": [], "item_id": [], "kind": [], "timestamp": []})
    product_pks = np.concatenate(products)
    return pd.DataFrame({
        "user_id": np.concatenate(customers),
        "item_id": product_ids_by_pk.reindex(product_pks).to_numpy(),
        "kind": pd.Categorical(np.concatenate([np.asarray(k) for k in kinds]), categories=Interaction.Kind.values),
        "timestamp": np.concatenate(seconds),
    })


def train_from_database(*, params: dict, on_step: Callable[[str, float], None] | None = None) -> TrainingResult:
    """Read the store and train one bundle; a degenerate result comes back with its validation error."""
    started = time.perf_counter()
    products = products_frame()
    interactions = interactions_frame(product_ids_by_pk=products.set_index("pk")["item_id"])
    read_seconds = round(time.perf_counter() - started, 3)
    if on_step is not None:
        on_step("read_database", read_seconds)
    counts = {
        "product_count": len(products),
        "customer_count": Customer.objects.count(),
        "interaction_count": len(interactions),
    }
    if products.empty or interactions.empty:
        missing = "products" if products.empty else "interactions"
        return TrainingResult(
            bundle=None, **counts, step_seconds={"read_database": read_seconds},
            validation_error=f"the store has no {missing} to learn from",
        )

    def forward(step: str, seconds: float, info: dict) -> None:
        if on_step is not None:
            on_step(step, seconds)

    try:
        bundle, step_seconds, metrics = train_bundle(products.drop(columns=["pk"]), interactions, params, on_step=forward)
    except BundleValidationError as exc:
        return TrainingResult(bundle=None, **counts, step_seconds={"read_database": read_seconds}, validation_error=str(exc))
    choice = bundle.metadata.get("cf_choice") or {}
    return TrainingResult(
        bundle=bundle,
        **counts,
        step_seconds={"read_database": read_seconds, **step_seconds},
        metrics=metrics,
        cf_algorithm=str(choice.get("model", "")),
    )


def evaluate_from_database(*, params: dict) -> dict:
    """Return offline metrics on the store's own data (per-user time split), as training records them."""
    from recommendations.engine.pipeline import TrainingData, evaluate_strategies, fit_content, resolve_params

    settings = resolve_params(params)
    products = products_frame()
    interactions = interactions_frame(product_ids_by_pk=products.set_index("pk")["item_id"])
    if products.empty or interactions.empty:
        return {"k": settings["eval_k"], "skipped": "the store has no products or no interactions", "results": {}}
    data = TrainingData(products.drop(columns=["pk"]), interactions, settings)
    return evaluate_strategies(data, fit_content(data, settings), settings)
