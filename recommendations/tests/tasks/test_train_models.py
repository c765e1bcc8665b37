import time

import pytest
from django.core.management import call_command
from django.utils import timezone

from recommendations.models import ModelVersion
from recommendations.tasks import train_models


@pytest.mark.django_db
def test_the_task_trains_and_returns_the_new_version(small_store):
    version_pk = train_models.apply(kwargs={"trigger": "schedule"}, task_id="task-a").get()
    version = ModelVersion.objects.get(pk=version_pk)
    assert (version.status, version.trigger, version.run_key) == ("active", "schedule", "task-a")


@pytest.mark.django_db
def test_the_task_is_skipped_while_another_run_is_in_progress(small_store):
    ModelVersion.objects.create(run_key="running", status="training", heartbeat_at=timezone.now())
    assert train_models.apply(task_id="task-b").get() is None
    assert list(ModelVersion.objects.values_list("run_key", flat=True)) == ["running"]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_retrain_async_goes_through_the_redis_broker_to_a_real_worker(small_store, capsys):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    assert not app.conf.task_always_eager, "this test must go through the real broker"
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        call_command("retrain", "--async")
        task_id = capsys.readouterr().out.split("Enqueued training task ")[1].split(".")[0].strip()
        version = None
        for _ in range(600):  # liveness bound: a lost message would otherwise hang the suite
            version = ModelVersion.objects.filter(run_key=task_id, status__in=["active", "failed"]).first()
            if version is not None:
                break
            time.sleep(0.2)
    assert version is not None, "the worker never finished the run"
    assert version.status == "active", version.error
    assert version.interaction_count == 132 and version.trigger == "command"
