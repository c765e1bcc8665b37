"""Glue between the database and the engine: read the store into frames (:mod:`recommendations.store_reading`), train one bundle.

The engine knows nothing of Django; this module and the reader are the only places that turn
rows into the engine's frames (``recommendations.engine.pipeline`` documents their columns).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from recommendations.engine import BundleValidationError, ModelBundle, train_bundle
from recommendations.engine.content import ContentModel
from recommendations.store_reading import (  # noqa: F401 (the readers, importable from here as before)
    COPY_BLOCK_PAGES,
    COPY_CONNECTIONS,
    InteractionArrays,
    interaction_arrays_simple,
    interactions_frame,
    products_frame,
    store_read,
    store_read_postgresql,
)
from shop.models import Customer


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


@dataclass
class StoreFrames:
    """The store as training reads it: products (with their pk) and interactions in the engine's columns."""

    products: pd.DataFrame
    interactions: pd.DataFrame
    customer_count: int
    read_seconds: float

    @property
    def counts(self) -> dict[str, int]:
        return {
            "product_count": len(self.products),
            "customer_count": self.customer_count,
            "interaction_count": len(self.interactions),
        }


def store_frames(*, on_step: Callable[[str, float], None] | None = None) -> StoreFrames:
    """Read the store for training (the ``read_database`` step, reported to ``on_step``)."""
    started = time.perf_counter()
    products, arrays = store_read()
    interactions = interactions_frame(arrays, product_pks=products["pk"].to_numpy())
    del arrays
    customer_count = Customer.objects.count()
    read_seconds = round(time.perf_counter() - started, 3)
    if on_step is not None:
        on_step("read_database", read_seconds)
    return StoreFrames(products, interactions, customer_count, read_seconds)


def train_from_frames(
    store: StoreFrames,
    *,
    params: dict,
    on_step: Callable[[str, float], None] | None = None,
    content: ContentModel | None = None,
    content_seconds: float | None = None,
) -> TrainingResult:
    """Train one bundle on what :func:`store_frames` read; a degenerate result comes back with its validation error.

    ``content``: the content model a spread run's blocks made (see ``train_bundle``).
    """
    read = {"read_database": store.read_seconds}
    if store.products.empty or store.interactions.empty:
        missing = "products" if store.products.empty else "interactions"
        return TrainingResult(bundle=None, **store.counts, step_seconds=read, validation_error=f"the store has no {missing} to learn from")

    def forward(step: str, seconds: float, info: dict) -> None:
        if on_step is not None:
            on_step(step, seconds)

    try:
        bundle, step_seconds, metrics = train_bundle(
            store.products.drop(columns=["pk"]), store.interactions, params,
            on_step=forward, content=content, content_seconds=content_seconds,
        )  # fmt: skip
    except BundleValidationError as exc:
        return TrainingResult(bundle=None, **store.counts, step_seconds=read, validation_error=str(exc))
    choice = bundle.metadata.get("cf_choice") or {}
    return TrainingResult(
        bundle=bundle,
        **store.counts,
        step_seconds={**read, **step_seconds},
        metrics=metrics,
        cf_algorithm=str(choice.get("model", "")),
    )


def train_from_database(*, params: dict, on_step: Callable[[str, float], None] | None = None) -> TrainingResult:
    """Read the store and train one bundle; a degenerate result comes back with its validation error."""
    return train_from_frames(store_frames(on_step=on_step), params=params, on_step=on_step)


def evaluate_from_database(*, params: dict) -> dict:
    """Return offline metrics on the store's own data (per-user time split), as training records them."""
    from recommendations.engine.pipeline import TrainingData, evaluate_strategies, fit_content, resolve_params

    settings = resolve_params(params)
    store = store_frames()
    if store.products.empty or store.interactions.empty:
        return {"k": settings["eval_k"], "skipped": "the store has no products or no interactions", "results": {}}
    data = TrainingData(store.products.drop(columns=["pk"]), store.interactions, settings)
    return evaluate_strategies(data, fit_content(data, settings), settings)
