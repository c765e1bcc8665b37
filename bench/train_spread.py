"""Time a task-started training run with 1 and with 2 worker processes: inline, then spread over the workers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_train CELERY_BROKER_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/train_spread.py [--processes 1 2] [--runs 1]

Needs a store already in the database (e.g. the 10M-event demo store `bench/retrain_scale.py
--load-only` loads: 100,000 products). For each process count it starts a real worker
(`celery -A config worker -c N`), enqueues `train_models` as the scheduler would, waits for the
version to be active, and prints the wall time from enqueue to activation and the run's
seconds per step. With one process the run trains in that process (`TRAINING_SPREAD=auto` needs
two); with two, the content-neighbour step goes to the workers as a chord of blocks. The load
average is printed beside each run. Artifacts go to a temporary MEDIA_ROOT shared by the
workers. Not a test: run it by hand.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def arguments_parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="worker process counts to time (default 1 2)")
    parser.add_argument("--runs", type=int, default=1, help="runs per process count (default 1)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for a run (default 1800)")
    return parser.parse_args()


def django_setup(media_root: str) -> None:
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY_FILE", str(PROJECT_DIR / ".secret_key"))
    os.environ["MEDIA_ROOT"] = media_root
    import django

    django.setup()


def worker_start(processes: int, environment: dict) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-c", str(processes), "--loglevel", "WARNING",
               "--without-gossip", "--without-mingle", "-n", f"bench-{uuid.uuid4().hex[:6]}@%h"]  # fmt: skip
    return subprocess.Popen(command, cwd=PROJECT_DIR, env=environment, start_new_session=True)


def workers_ready(processes: int, timeout: float = 60) -> None:
    from recommendations.training_spread import worker_processes

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker_processes() >= processes:
            return
        time.sleep(0.5)
    raise SystemExit(f"the worker did not offer {processes} processes within {timeout:.0f} s")


def run_once(timeout: float) -> tuple[float, object]:
    from core.broker import task_enqueue
    from recommendations.models import ModelVersion
    from recommendations.tasks import train_models

    run_key = f"bench-spread-{uuid.uuid4()}"
    started = time.perf_counter()
    task_enqueue(train_models, kwargs={"trigger": "task"}, task_id=run_key)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        version = ModelVersion.objects.filter(run_key=run_key, status__in=["active", "failed"]).first()
        if version is not None:
            return time.perf_counter() - started, version
        time.sleep(0.25)
    raise SystemExit(f"run {run_key} did not finish within {timeout:.0f} s")


def main() -> None:
    arguments = arguments_parse()
    media_root = tempfile.mkdtemp(prefix="bench-spread-media-")
    django_setup(media_root)
    from config.celery import app
    from shop.models import Interaction, Product

    if app.conf.task_always_eager:
        raise SystemExit("CELERY_BROKER_URL must name a real broker: the workers are the point")
    print(f"store: {Product.objects.count():,} products, {Interaction.objects.count():,} interactions; media {media_root}")
    environment = {**os.environ, "TRAINING_SPREAD": "auto", "MEDIA_ROOT": media_root}
    for processes in arguments.processes:
        app.control.purge()
        worker = worker_start(processes, environment)
        try:
            workers_ready(processes)
            for run in range(1, arguments.runs + 1):
                load_before = os.getloadavg()[0]
                seconds, version = run_once(arguments.timeout)
                steps = "  ".join(f"{name} {value:.1f}" for name, value in (version.step_seconds or {}).items())
                print(f"{processes} process(es), run {run}: {version.status} in {seconds:.1f} s "
                      f"(load {load_before:.2f} -> {os.getloadavg()[0]:.2f})\n    steps: {steps}")  # fmt: skip
                if version.status != "active":
                    print(f"    error: {version.error.splitlines()[0]}")
        finally:
            worker.send_signal(signal.SIGTERM)  # warm shutdown: the parent stops its pool children
            worker.wait(timeout=120)


if __name__ == "__main__":
    main()
