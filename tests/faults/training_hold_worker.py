"""The project's Celery app, for a worker whose first training run stops half-way until it is killed.

Run as ``celery -A tests.faults.training_hold_worker worker``: the real worker (config.celery's
app, its tasks and settings) with one test hook. When a run has read the database it writes the
pid of the process training into ``TRAINING_HOLD_FILE`` and waits there, its heartbeat still
beating, so the test knows the run is mid-way and whom to kill. Later runs (the file exists)
train normally. ``TRAINING_HEARTBEAT_SECONDS`` makes the heartbeat frequent enough to watch.
"""

import os
import time
from datetime import timedelta
from pathlib import Path

import django

from config.celery import app

django.setup()

from recommendations import services, store_training  # noqa: E402 (needs the app registry)

__all__ = ["app"]

HOLD_FILE = Path(os.environ["TRAINING_HOLD_FILE"])
services.TRAINING_HEARTBEAT_EVERY = timedelta(seconds=float(os.environ.get("TRAINING_HEARTBEAT_SECONDS", "60")))

_store_frames = store_training.store_frames


def store_frames_with_hold(*, on_step=None):
    def step(name: str, seconds: float) -> None:
        if on_step is not None:
            on_step(name, seconds)
        if name == "read_database" and not HOLD_FILE.exists():
            HOLD_FILE.write_text(str(os.getpid()))
            while True:  # until the test kills this process
                time.sleep(0.1)

    return _store_frames(on_step=step)


store_training.store_frames = store_frames_with_hold
