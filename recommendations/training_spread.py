"""A training run's content-neighbour step spread over the Celery workers.

The slowest step of a large catalogue's training is the content neighbours (every product
against every other by TF-IDF cosine), and its rows are independent. When the workers offer
two or more processes (``TRAINING_SPREAD``), the run that reads the store stops after the
TF-IDF matrix: it writes the matrix and the frames it read to the artifact storage under
``training-runs/<version>/`` and starts a chord: a group of block tasks, each reading the
matrix and writing its rows' top-K, and a callback that stacks the blocks and finishes the
run (CF, also-bought, trending, evaluation, validation, activation) on the very frames the
first task read. A failing block fails the run and the active model stays; the files go
when the run ends either way.

On N machines: run one worker (``celery -A config worker -c <cores>``) per machine against
the same broker, database and artifact storage (a shared volume or an object store behind
Django's storage API); the blocks spread over all their processes.
"""

from __future__ import annotations

import io
import json
import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from recommendations.engine.content import ContentModel, content_neighbor_block, row_blocks

logger = logging.getLogger(__name__)

RUN_DIR = "training-runs"
BLOCKS_PER_PROCESS = 2  # more blocks than processes, so that one slow block leaves no process idle long
WORKER_PING_SECONDS = 1.0

PRODUCT_ARRAYS = ("pk", "item_id", "category", "available")
INTERACTION_ARRAYS = ("user_id", "item_index", "kind", "timestamp")


@dataclass(frozen=True)
class SpreadPlan:
    blocks: list[tuple[int, int]]
    processes: int


def spread_plan(*, product_count: int) -> SpreadPlan | None:
    """Return how to spread a run over the workers, None to run it in this process."""
    from config.celery import app

    mode = settings.TRAINING_SPREAD
    if mode == "off" or app.conf.task_always_eager or product_count < 2:
        return None
    if mode == "auto" and product_count < settings.TRAINING_SPREAD_MIN_PRODUCTS:
        return None
    processes = worker_processes()
    if mode == "auto" and processes < 2:
        return None
    return SpreadPlan(row_blocks(product_count, BLOCKS_PER_PROCESS * max(processes, 1)), processes)


def worker_processes() -> int:
    """Return how many processes the running workers offer (0 when none answers within a second)."""
    from config.celery import app

    try:
        stats = app.control.inspect(timeout=WORKER_PING_SECONDS).stats() or {}
    except Exception:  # a broker that is down or hung: run in this process
        logger.warning("Could not ask the workers how many processes they run; training in this process", exc_info=True)
        return 0
    return sum(int((worker.get("pool") or {}).get("max-concurrency") or 1) for worker in stats.values())


def run_path(version_pk: int, name: str) -> str:
    return f"{RUN_DIR}/{version_pk}/{name}"


def spread_start(*, version_pk: int, store, params: dict, on_step=None) -> bool:
    """Start the chord for a run whose store was read (``store``: StoreFrames); False to train in this process.

    Writes the TF-IDF matrix and the frames first; any failure deletes them and raises (the run fails).
    """
    from celery import chord, group

    from recommendations.engine.pipeline import content_model, resolve_params
    from recommendations.engine.training_data import products_frame_texts
    from recommendations.tasks import train_content_block, train_models_assemble

    plan = spread_plan(product_count=len(store.products))
    if plan is None or store.interactions.empty:
        return False
    settings_ = resolve_params(params)
    started = time.perf_counter()
    tfidf = content_model(settings_).transform_texts(products_frame_texts(store.products))
    manifest = {
        "blocks": plan.blocks,
        "processes": plan.processes,
        "content_k": int(settings_["content_k"]),
        "n_terms": int(tfidf.shape[1]),
        "customer_count": store.customer_count,
        "read_seconds": store.read_seconds,
        "started_at": time.time() - (time.perf_counter() - started),
    }
    try:
        spread_files_write(version_pk=version_pk, tfidf=tfidf, products=store.products, interactions=store.interactions, manifest=manifest)
        header = group(train_content_block.si(version_pk, start, end) for start, end in plan.blocks)
        chord(header)(train_models_assemble.si(version_pk))
    except BaseException:
        spread_files_delete(version_pk)
        raise
    logger.info("Content neighbours spread over %d blocks for %d worker processes", len(plan.blocks), plan.processes)
    return True


def spread_finish(*, version_pk: int, params: dict, on_step=None):
    """Train the rest of a spread run on the frames its first task read, with the blocks' content model (a TrainingResult)."""
    from recommendations.engine.pipeline import content_model, resolve_params
    from recommendations.store_training import StoreFrames, train_from_frames

    products, interactions, content, manifest = spread_results_read(version_pk=version_pk, content=content_model(resolve_params(params)))
    store = StoreFrames(products, interactions, int(manifest["customer_count"]), float(manifest["read_seconds"]))
    content_seconds = seconds_since(float(manifest["started_at"]))
    return train_from_frames(store, params=params, on_step=on_step, content=content, content_seconds=content_seconds)


def spread_files_write(
    *, version_pk: int, tfidf: sp.csr_matrix, products: pd.DataFrame, interactions: pd.DataFrame, manifest: dict
) -> None:
    """Write what the blocks and the callback read: the TF-IDF matrix, the frames (as arrays, no pickle), the manifest."""
    buffer = io.BytesIO()
    sp.save_npz(buffer, sp.csr_matrix(tfidf), compressed=False)
    _storage_write(run_path(version_pk, "tfidf.npz"), buffer.getvalue())
    buffer = io.BytesIO()
    arrays = {f"products.{name}": _plain_array(products[name]) for name in PRODUCT_ARRAYS}
    arrays.update({f"interactions.{name}": interactions[name].to_numpy() for name in INTERACTION_ARRAYS})
    np.savez(buffer, **arrays)
    _storage_write(run_path(version_pk, "frames.npz"), buffer.getvalue())
    _storage_write(run_path(version_pk, "manifest.json"), json.dumps(manifest).encode())


def spread_manifest(version_pk: int) -> dict:
    with default_storage.open(run_path(version_pk, "manifest.json"), "rb") as handle:
        return json.loads(handle.read())


def spread_block_compute(*, version_pk: int, start: int, end: int) -> None:
    """Compute and write the content neighbours of products ``start:end`` (one block task's work)."""
    manifest = spread_manifest(version_pk)
    with default_storage.open(run_path(version_pk, "tfidf.npz"), "rb") as handle:
        tfidf = sp.load_npz(io.BytesIO(handle.read())).tocsr()
    neighbors, scores = content_neighbor_block(tfidf, start, end, int(manifest["content_k"]), n_jobs=1)
    buffer = io.BytesIO()
    np.savez(buffer, neighbors=neighbors, scores=scores)
    _storage_write(run_path(version_pk, f"block-{start:010d}.npz"), buffer.getvalue())


def spread_results_read(*, version_pk: int, content: ContentModel) -> tuple[pd.DataFrame, pd.DataFrame, ContentModel, dict]:
    """Return (products, interactions, the content model from the stacked blocks, the manifest) for the callback.

    Raises ValueError when a block is missing or the blocks do not cover the catalogue.
    """
    manifest = spread_manifest(version_pk)
    with default_storage.open(run_path(version_pk, "frames.npz"), "rb") as handle:
        arrays = np.load(io.BytesIO(handle.read()), allow_pickle=False)
        products = pd.DataFrame({name: arrays[f"products.{name}"] for name in PRODUCT_ARRAYS})
        interactions = pd.DataFrame({name: arrays[f"interactions.{name}"] for name in INTERACTION_ARRAYS})
    neighbors, scores = [], []
    for start, end in manifest["blocks"]:
        name = run_path(version_pk, f"block-{start:010d}.npz")
        if not default_storage.exists(name):
            raise ValueError(f"content block {start}-{end} is missing")
        with default_storage.open(name, "rb") as handle:
            block = np.load(io.BytesIO(handle.read()), allow_pickle=False)
            neighbors.append(block["neighbors"])
            scores.append(block["scores"])
    stacked = np.vstack(neighbors) if neighbors else np.zeros((0, int(manifest["content_k"])), dtype=np.int32)
    if stacked.shape[0] != len(products):
        raise ValueError(f"the content blocks hold {stacked.shape[0]} products, the run read {len(products)}")
    content.with_neighbors(int(manifest["n_terms"]), stacked, np.vstack(scores) if scores else stacked.astype(np.float32))
    products["title"] = ""  # the content model is made: the texts are not needed again
    return products, interactions, content, manifest


def spread_files_delete(version_pk: int) -> None:
    """Delete a run's working files (after it finished or failed); a file already gone is fine."""
    directory = f"{RUN_DIR}/{version_pk}"
    try:
        _, files = default_storage.listdir(directory)
    except FileNotFoundError:
        return
    for name in files:
        default_storage.delete(f"{directory}/{name}")


def seconds_since(moment: float) -> float:
    return round(time.time() - moment, 3)


def _storage_write(name: str, content: bytes) -> None:
    if default_storage.exists(name):
        default_storage.delete(name)  # a redelivered block rewrites its file under the same name
    saved = default_storage.save(name, ContentFile(content))
    if saved != name:
        raise RuntimeError(f"the artifact storage saved {name} as {saved}")


def _plain_array(column: pd.Series) -> np.ndarray:
    """Return a column as an array numpy can store without pickle (text as fixed-width unicode)."""
    values = column.to_numpy()
    if values.dtype.kind == "O":  # object or pandas' string dtype
        return column.fillna("").astype(str).to_numpy().astype(str)
    return values
