"""Every line a training run logs names its run key, whichever module or thread logs it."""

import logging
import threading
import time
from datetime import timedelta

import pytest

from recommendations import services
from recommendations.engine import pipeline
from recommendations.tasks import train_models

pytestmark = pytest.mark.django_db


def test_every_line_of_an_eager_training_run_names_the_task_id(small_store, caplog):
    caplog.set_level(logging.INFO)

    version_pk = train_models.apply(task_id="task-logs").get()

    assert version_pk is not None
    run_lines = [record for record in caplog.records if record.name.startswith("recommendations")]
    assert {"recommendations.engine", "recommendations.services"} <= {record.name for record in run_lines}
    assert any(record.getMessage().startswith("training step ") for record in run_lines)
    assert {getattr(record, "run_key", None) for record in run_lines} == {"task-logs"}
    assert not hasattr(logging.getLogger("x").makeRecord("x", logging.INFO, "", 0, "after", (), None), "run_key")


def test_a_skipped_run_names_its_own_task_id(small_store, caplog):
    from django.utils import timezone

    from recommendations.models import ModelVersion

    ModelVersion.objects.create(run_key="running", status="training", heartbeat_at=timezone.now())
    caplog.set_level(logging.INFO)

    assert train_models.apply(task_id="task-skipped").get() is None
    (skipped,) = [record for record in caplog.records if record.getMessage().startswith("Training skipped")]
    assert skipped.run_key == "task-skipped"


def test_the_heartbeat_thread_logs_name_the_run_key(small_store, caplog, monkeypatch):
    monkeypatch.setattr(services, "TRAINING_HEARTBEAT_EVERY", timedelta(seconds=0.02))
    real_heartbeat, real_fit = services._heartbeat, pipeline.fit_also_bought

    def heartbeat(version):
        if threading.current_thread().name.startswith("training-heartbeat"):
            raise ConnectionError("database went away")
        real_heartbeat(version)

    def slow_fit(*args, **kwargs):
        time.sleep(0.2)  # several beats
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(services, "_heartbeat", heartbeat)
    monkeypatch.setattr(pipeline, "fit_also_bought", slow_fit)
    caplog.set_level(logging.WARNING, logger="recommendations.services")

    services.model_train(run_key="command-beats")

    beats = [record for record in caplog.records if record.getMessage().startswith("Could not record the heartbeat")]
    assert beats
    assert {record.run_key for record in beats} == {"command-beats"}
    assert all(record.threadName.startswith("training-heartbeat") for record in beats)
