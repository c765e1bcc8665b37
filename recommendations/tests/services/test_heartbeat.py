"""A training run keeps its heartbeat fresh through one long step; only a silent run is reaped."""

import threading
import time
from datetime import timedelta

import pytest

from recommendations import services
from recommendations.engine import pipeline
from recommendations.models import ModelVersion
from recommendations.services import model_train, training_runs_reap_stale

# The heartbeat is written from a thread with its own database connection, which sees committed rows only.
pytestmark = pytest.mark.django_db(transaction=True)

STALE_AFTER = timedelta(seconds=0.5)


class WorkerKilled(BaseException):
    """Stands for the worker process dying mid-step: nothing of the run goes on after it."""


@pytest.fixture
def quick_heartbeat(monkeypatch):
    """Beat every 50 ms and call a run stale after half a second of silence (not 2 hours)."""
    monkeypatch.setattr(services, "STALE_TRAINING_AFTER", STALE_AFTER)
    monkeypatch.setattr(services, "TRAINING_HEARTBEAT_EVERY", timedelta(seconds=0.05))


def _heartbeat_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("training-heartbeat")]


def test_a_long_step_keeps_the_run_alive_and_it_is_reaped_once_its_heartbeat_stops(small_store, quick_heartbeat, monkeypatch):
    seen = {}
    silence = 2 * STALE_AFTER.total_seconds()

    def slow_fit_also_bought(data, params):
        running = ModelVersion.objects.get(status=ModelVersion.Status.TRAINING)
        beat_at_start = running.heartbeat_at
        time.sleep(silence)  # one step, twice as long as the stale threshold
        running.refresh_from_db()
        seen["advanced"] = running.heartbeat_at - beat_at_start
        seen["reaped_while_alive"] = training_runs_reap_stale()

        monkeypatch.setattr(services, "_heartbeat", lambda version: None)  # the worker is gone: no more beats
        time.sleep(silence)
        seen["reaped_once_silent"] = training_runs_reap_stale()
        running.refresh_from_db()
        seen["after_reaping"] = (running.status, running.error.split(":")[0])
        raise WorkerKilled

    monkeypatch.setattr(pipeline, "fit_also_bought", slow_fit_also_bought)

    with pytest.raises(WorkerKilled):
        model_train(run_key="slow")

    assert seen["advanced"] >= STALE_AFTER  # beats kept coming during the step, not only after it
    assert seen["reaped_while_alive"] == 0
    assert seen["reaped_once_silent"] == 1
    assert seen["after_reaping"] == (ModelVersion.Status.FAILED, "Interrupted")
    assert _heartbeat_threads() == []


def test_the_heartbeat_stops_with_the_run(small_store, quick_heartbeat):
    version = model_train(run_key="quick")
    time.sleep(0.2)  # several beat intervals

    assert version.status == ModelVersion.Status.ACTIVE
    assert _heartbeat_threads() == []
    assert ModelVersion.objects.get(pk=version.pk).heartbeat_at == version.heartbeat_at
