import io
from datetime import timedelta

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from recommendations.models import ModelVersion
from recommendations.services import (
    ModelNotActivatable,
    TrainingAlreadyRunning,
    model_activate,
    model_train,
    training_run_start,
    training_runs_reap_stale,
)

pytestmark = pytest.mark.django_db


def stored_version(run_key: str, status=ModelVersion.Status.READY) -> ModelVersion:
    """A version whose artifact is a readable bundle archive (its arrays are not read here)."""
    version = ModelVersion.objects.create(run_key=run_key, status=status)
    archive = io.BytesIO()
    np.savez(archive, bundle=np.array(["{}"]))
    version.artifact.save(f"{run_key}.npz", ContentFile(archive.getvalue()), save=True)
    return version


def test_activation_retires_the_previous_version():
    first = model_activate(version=stored_version("a"))
    second = model_activate(version=stored_version("b"))
    first.refresh_from_db()
    assert (first.status, second.status) == ("retired", "active")
    assert second.activated_at is not None
    assert ModelVersion.objects.filter(status="active").count() == 1


def test_rollback_reactivates_a_retired_version():
    first = model_activate(version=stored_version("a"))
    model_activate(version=stored_version("b"))
    first.refresh_from_db()
    model_activate(version=first)
    assert list(ModelVersion.objects.filter(status="active").values_list("run_key", flat=True)) == ["a"]
    assert ModelVersion.objects.get(run_key="b").status == "retired"


@pytest.mark.parametrize("status", ["failed", "training"])
def test_failed_or_running_versions_cannot_be_activated(status):
    active = model_activate(version=stored_version("good"))
    broken = stored_version("broken", status=status)
    with pytest.raises(ModelNotActivatable):
        model_activate(version=broken)
    active.refresh_from_db()
    assert active.status == "active"


def test_a_version_without_artifact_cannot_be_activated():
    with pytest.raises(ModelNotActivatable):
        model_activate(version=ModelVersion.objects.create(run_key="empty", status="ready"))


def test_the_database_refuses_two_active_versions():
    ModelVersion.objects.create(run_key="a", status="active")
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(run_key="b", status="active")


def test_a_second_training_run_is_refused_while_one_runs():
    running = training_run_start(run_key="first", trigger="command")
    with pytest.raises(TrainingAlreadyRunning) as refused:
        training_run_start(run_key="second", trigger="command")
    assert refused.value.running == running
    assert "already in progress" in str(refused.value)
    assert not ModelVersion.objects.filter(run_key="second").exists()


def test_a_stale_run_is_reaped_and_frees_the_slot():
    stale = training_run_start(run_key="dead", trigger="task")
    ModelVersion.objects.filter(pk=stale.pk).update(heartbeat_at=timezone.now() - timedelta(hours=3))
    assert training_runs_reap_stale() == 1
    stale.refresh_from_db()
    assert stale.status == "failed" and stale.error.startswith("Interrupted")
    assert training_run_start(run_key="next", trigger="task").status == "training"


def test_a_run_silent_for_ten_minutes_is_reaped_and_one_that_beat_recently_is_not():
    running = training_run_start(run_key="silent", trigger="task")
    beat = ModelVersion.objects.get(pk=running.pk).heartbeat_at

    assert training_runs_reap_stale(now=beat + timedelta(minutes=9)) == 0  # nine missed beats: still trusted
    assert training_runs_reap_stale(now=beat + timedelta(minutes=10, seconds=1)) == 1  # not two hours
    assert ModelVersion.objects.get(pk=running.pk).status == "failed"


def test_a_redelivered_task_records_its_interrupted_run_as_failed_and_keeps_the_active_model():
    active = model_activate(version=stored_version("good"))
    interrupted = training_run_start(run_key="task-1", trigger="task")
    result = model_train(run_key="task-1")
    assert result.pk == interrupted.pk
    assert result.status == "failed" and "Interrupted" in result.error
    active.refresh_from_db()
    assert active.status == "active"


def test_a_finished_run_key_returns_its_version_without_training_again():
    done = model_activate(version=stored_version("task-2"))
    assert model_train(run_key="task-2").pk == done.pk
    assert ModelVersion.objects.count() == 1
