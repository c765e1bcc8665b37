"""Training spread over a real Celery worker: a chord of content blocks, then the callback that finishes the run.

The small store (12 products) is far below the automatic threshold, so these tests set
``TRAINING_SPREAD=always``: the run spreads whatever the workers say.
"""

import time

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from recommendations.engine import ModelBundle
from recommendations.models import ModelVersion
from recommendations.services import model_train
from recommendations.training_spread import RUN_DIR, run_path, spread_plan


def finished(run_key: str, *, seconds: float = 120) -> ModelVersion | None:
    """Wait for the run to end (a liveness bound: a lost message would otherwise hang the suite)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        version = ModelVersion.objects.filter(run_key=run_key, status__in=["active", "failed"]).first()
        if version is not None:
            return version
        time.sleep(0.2)
    return None


def bundle_arrays(version: ModelVersion) -> dict[str, np.ndarray]:
    with version.artifact.open("rb") as handle:
        bundle = ModelBundle.load(handle)
    return {
        "item_ids": bundle.item_ids,
        **{f"{name}.{key}": value for name, part in bundle.hybrid.components().items() if part is not None
           for key, value in part.get_state().items() if key != "header"},
    }  # fmt: skip


@pytest.fixture
def worker_app(settings):
    from config.celery import app

    assert not app.conf.task_always_eager, "this test must go through the real broker"
    settings.TRAINING_SPREAD = "always"
    app.control.purge()
    return app


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_spread_run_trains_exactly_the_model_an_inline_run_trains(small_store, worker_app):
    from celery.contrib.testing.worker import start_worker

    from recommendations.tasks import train_models

    inline = model_train(run_key="inline", trigger="command")
    assert inline.status == "active", inline.error

    with start_worker(worker_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        task = train_models.delay(trigger="task")
        spread = finished(task.id)

    assert spread is not None, "the chord never finished the run"
    assert spread.status == "active", spread.error
    assert ModelVersion.objects.get(pk=inline.pk).status == "retired"
    inline_arrays, spread_arrays = bundle_arrays(inline), bundle_arrays(spread)
    assert inline_arrays.keys() == spread_arrays.keys()
    for name, value in inline_arrays.items():
        assert np.array_equal(value, spread_arrays[name]), name
    assert spread.metrics["results"] == inline.metrics["results"]
    assert spread.interaction_count == inline.interaction_count == 132
    assert {"read_database", "fit_content", "fit_cf", "evaluate"} <= spread.step_seconds.keys()
    assert default_storage.listdir(f"{RUN_DIR}/{spread.pk}")[1] == []  # the working files are gone


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_failing_block_fails_the_run_and_the_active_model_stays(small_store, worker_app):
    from celery.contrib.testing.worker import start_worker

    active = model_train(run_key="good", trigger="command")
    assert active.status == "active", active.error

    # No worker yet: the chord waits in the broker while the matrix its blocks read is broken.
    pending = model_train(run_key="spread-broken", trigger="task", spread=True)
    assert pending.status == "training"
    name = run_path(pending.pk, "tfidf.npz")
    default_storage.delete(name)
    default_storage.save(name, ContentFile(b"not a matrix"))

    with start_worker(worker_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        failed = finished("spread-broken")

    assert failed is not None and failed.status == "failed"
    assert failed.error.startswith("Content block 0-6 failed") or failed.error.startswith("Content block 6-12 failed")
    assert list(ModelVersion.objects.filter(status="active").values_list("pk", flat=True)) == [active.pk]
    assert default_storage.listdir(f"{RUN_DIR}/{pending.pk}")[1] == []


@pytest.mark.django_db
def test_spreading_needs_a_broker_enough_products_and_workers(settings, small_store):
    from config.celery import app

    settings.TRAINING_SPREAD = "off"
    assert spread_plan(product_count=100_000) is None
    if app.conf.task_always_eager:  # no broker: always in this process
        settings.TRAINING_SPREAD = "always"
        assert spread_plan(product_count=100_000) is None
        return
    settings.TRAINING_SPREAD = "auto"
    settings.TRAINING_SPREAD_MIN_PRODUCTS = 20_000
    assert spread_plan(product_count=12) is None  # too small to be worth the files
    settings.TRAINING_SPREAD_MIN_PRODUCTS = 0
    assert spread_plan(product_count=12) is None  # no worker answers: one process is all there is
    settings.TRAINING_SPREAD = "always"
    assert spread_plan(product_count=12).blocks == [(0, 6), (6, 12)]
