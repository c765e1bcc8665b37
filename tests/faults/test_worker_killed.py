"""A Celery worker killed with SIGKILL in the middle of a training run.

Real pieces only: ``celery -A tests.faults.training_hold_worker worker`` (the project's app, its
prefork pool) as a child of the test, this test's own redis-server as broker, the test database.
The run is started the way staff start it ("Retrain now") and stops half-way in the worker (see
training_hold_worker), so the kill lands mid-run every time. Whatever dies, the run must end
"failed", the active model must keep serving, and the next run must succeed.
"""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from recommendations import services
from recommendations.models import ModelVersion
from tests.web_processes import database_target, database_url, shared_database_marks

pytestmark = shared_database_marks("the worker process must share the test database")

LIVENESS_SECONDS = 90.0  # a bound against hanging the suite, not a speed requirement
HEARTBEAT_SECONDS = 0.2  # the worker's, so a silent run shows within a second
TRENDING = "/api/recommendations/trending/"


@dataclass
class Worker:
    name: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the worker and its pool: the machine lost it, nothing of it runs on."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@dataclass
class Workers:
    """Starts training workers for a test on its own broker; kills whatever is left when it ends."""

    tmp_path: Path
    broker_url: str
    started: list[Worker] = field(default_factory=list)

    @property
    def hold_file(self) -> Path:
        return self.tmp_path / "training-held"

    def start(self, name: str) -> Worker:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],
            "DATABASE_URL": database_url(*database_target()),
            "CELERY_BROKER_URL": self.broker_url,
            "REDIS_URL": django_settings.REDIS_URL,
            "CACHE_KEY_PREFIX": django_settings.CACHES["default"].get("KEY_PREFIX", ""),
            "MEDIA_ROOT": str(django_settings.MEDIA_ROOT),  # where this test's serving reads artifacts
            "TRAINING_HOLD_FILE": str(self.hold_file),
            "TRAINING_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
            "LOG_LEVEL": "WARNING",
        }
        log_path = self.tmp_path / f"{name}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "tests.faults.training_hold_worker", "worker",
            "--pool", "prefork", "--concurrency", "1", "--hostname", f"{name}@faults",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING",
        ]  # fmt: skip
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, cwd=django_settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started.append(Worker(name, process, log_path))
        return self.started[-1]

    def held_pid(self) -> int:
        """Wait until a run is held half-way; return the pid of the process training it."""
        until(lambda: self.hold_file.exists() and self.hold_file.read_text(), self.logs)
        return int(self.hold_file.read_text())

    def logs(self) -> str:
        return "\n".join(f"--- {worker.name}\n{worker.log()}" for worker in self.started)

    def kill_all(self) -> None:
        for worker in self.started:
            worker.kill()


@pytest.fixture
def workers(transactional_db, tmp_path, redis_server, settings):
    """Training workers on this test's own redis-server, which "Retrain now" in this process publishes to."""
    settings.CELERY_BROKER_URL = redis_server.url(0)
    started = Workers(tmp_path, redis_server.url(0))
    yield started
    started.kill_all()


def until(found, describe=lambda: "", *, seconds: float = LIVENESS_SECONDS):
    """Poll ``found()`` until it returns something truthy; return it, or fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not (result := found()):
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting after {seconds} s\n{describe()}")
        time.sleep(0.1)
    return result


def retrain_now(client) -> str:
    response = client.post(reverse("admin:recommendations_modelversion_retrain"))
    assert response.status_code == 302
    return str(list(get_messages(response.wsgi_request))[-1])


def finished_run_other_than(*versions: ModelVersion) -> ModelVersion | None:
    return (
        ModelVersion.objects.exclude(pk__in=[version.pk for version in versions])
        .filter(status__in=[ModelVersion.Status.ACTIVE, ModelVersion.Status.FAILED])
        .first()
    )


def test_the_training_process_killed_mid_run_fails_the_run_and_the_next_run_succeeds(
    active_model, admin_client, api_client, workers
):
    workers.start("first")
    assert retrain_now(admin_client).startswith("Retraining requested")
    pid = workers.held_pid()
    held = ModelVersion.objects.get(status=ModelVersion.Status.TRAINING)

    os.kill(pid, signal.SIGKILL)  # the pool process doing the training, as the kernel's OOM killer would

    # The worker hands the message back (acks_late, reject_on_worker_lost) and gets it again:
    # the redelivered task finds its run still "training" and records it as interrupted.
    ended = until(lambda: ModelVersion.objects.filter(pk=held.pk).exclude(status="training").first(), workers.logs)
    assert ended.status == ModelVersion.Status.FAILED
    assert ended.error.startswith("Interrupted: the worker stopped before the run finished")
    assert ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE).pk == active_model.pk
    assert api_client.get(TRENDING).json()["model_version"] == active_model.pk

    assert retrain_now(admin_client).startswith("Retraining requested")
    after = until(lambda: finished_run_other_than(active_model, held), workers.logs)
    assert after.status == ModelVersion.Status.ACTIVE, after.error
    assert api_client.get(TRENDING).json()["model_version"] == after.pk


def test_the_whole_worker_killed_mid_run_leaves_a_silent_run_that_is_reaped_and_the_next_run_succeeds(
    active_model, admin_client, api_client, workers, monkeypatch
):
    first = workers.start("first")
    assert retrain_now(admin_client).startswith("Retraining requested")
    workers.held_pid()
    held = ModelVersion.objects.get(status=ModelVersion.Status.TRAINING)

    first.kill()  # main process and pool together: nobody is left to hand the message back

    # While its heartbeat is recent the run counts as running, and no second run may start.
    assert retrain_now(admin_client) == f"Not started: {held} is still training."
    beat = ModelVersion.objects.get(pk=held.pk).heartbeat_at
    time.sleep(5 * HEARTBEAT_SECONDS)
    assert ModelVersion.objects.get(pk=held.pk).heartbeat_at == beat  # a live run would have beaten meanwhile
    stale_after = timedelta(seconds=1)
    monkeypatch.setattr(services, "STALE_TRAINING_AFTER", stale_after)  # ten minutes in production
    until(lambda: timezone.now() - beat > stale_after)

    assert retrain_now(admin_client).startswith("Retraining requested")  # reaps the silent run first
    reaped = ModelVersion.objects.get(pk=held.pk)
    assert (reaped.status, reaped.error.split(" (")[0]) == ("failed", "Interrupted: no progress reported for over 1 s")
    assert ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE).pk == active_model.pk
    assert api_client.get(TRENDING).json()["model_version"] == active_model.pk

    workers.start("restarted")
    after = until(lambda: finished_run_other_than(active_model, held), workers.logs)
    assert after.status == ModelVersion.Status.ACTIVE, after.error
    assert api_client.get(TRENDING).json()["model_version"] == after.pk
