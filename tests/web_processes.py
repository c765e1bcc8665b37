"""Web processes for tests: gunicorn children serving the project on loopback, on the test database and Redis.

Each child is a real web process (gunicorn gthread, its control socket turned off) started
with the test's environment and pointed at the test database, so it sees the rows the test
committed (tests using it need ``django_db(transaction=True)`` and PostgreSQL).
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

START_SECONDS = 60.0
REQUEST_SECONDS = 10.0
HEALTH = "/api/health/"


def shared_database_marks(why: str) -> list:
    """Marks for a test whose other processes read the rows it commits: real services, PostgreSQL, transactions."""
    return [
        pytest.mark.services,
        pytest.mark.slow,
        pytest.mark.skipif(
            settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
            reason=f"{why}: needs PostgreSQL (DATABASE_URL)",
        ),
        pytest.mark.django_db(transaction=True),  # committed rows, or the other processes see nothing
    ]


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes

    def json(self) -> dict:
        assert self.content_type.startswith("application/json"), f"{self.status} {self.content_type}: {self.body[:200]!r}"
        return json.loads(self.body)


@dataclass
class ServingProcess:
    """A gunicorn child serving the project on a loopback port."""

    name: str
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_SECONDS)
        try:
            conn.request("GET", path, headers={"Accept": "application/json", "Connection": "close"})
            response = conn.getresponse()
            return Reply(response.status, response.getheader("Content-Type", ""), response.read())
        finally:
            conn.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
            try:
                self.get(HEALTH)  # 200 or 503: either way it answers
                return
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"{self.name} did not answer within {START_SECONDS} s:\n{self.log()}")

    def signal_stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown

    def wait_stopped(self) -> None:
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_target() -> tuple[str, int]:
    host = connection.settings_dict["HOST"] or "127.0.0.1"
    if host.startswith("/"):
        pytest.skip("the database is reached through a Unix socket; these tests need TCP")
    return host, int(connection.settings_dict["PORT"] or 5432)


def database_url(host: str, port: int) -> str:
    """The test database's URL, at this host and port (a forwarder's, or the server's own)."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{host}:{port}/{quote(db['NAME'], safe='')}"


@dataclass
class ServingProcesses:
    """Starts web processes for a test, and stops them when it ends.

    ``env``: variables set on top of the test's own environment for every process started.
    """

    tmp_path: Path
    env: dict[str, str] = field(default_factory=dict)
    started: list[ServingProcess] = field(default_factory=list)

    def start(self, *names: str, through=None, workers: int = 1, threads: int = 4) -> list[ServingProcess]:
        """Start one process per name (in parallel) and return them once each answers.

        ``through``: a TCP forwarder on loopback (anything with a ``port``) to reach the database by.
        """
        host, port = ("127.0.0.1", through.port) if through else database_target()
        env = {
            **os.environ,
            # The test run's module (under the `settings` fixture, settings.SETTINGS_MODULE is None).
            "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],
            "DJANGO_DEBUG": "0",
            "DATABASE_URL": database_url(host, port),
            "REDIS_URL": settings.REDIS_URL,
            "CACHE_KEY_PREFIX": settings.CACHES["default"].get("KEY_PREFIX", ""),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),  # where the test process stores model artifacts
            "LOG_LEVEL": "WARNING",
            **self.env,
        }
        processes = []
        for name in names:
            port = free_port()
            log_path = self.tmp_path / f"{name}.log"
            command = [
                sys.executable, "-m", "gunicorn", "config.wsgi:application",
                "--bind", f"127.0.0.1:{port}",
                "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
                "--no-control-socket",  # another gunicorn on this machine may hold the default socket
                "--graceful-timeout", "2",
                "--log-level", "warning",
            ]  # fmt: skip
            with log_path.open("wb") as log:
                popen = subprocess.Popen(
                    command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            processes.append(ServingProcess(name, port, popen, log_path))
            self.started.append(processes[-1])
        for process in processes:
            process.wait_until_up()
        return processes

    def stop_all(self) -> None:
        for process in self.started:
            process.signal_stop()
        for process in self.started:
            process.wait_stopped()
