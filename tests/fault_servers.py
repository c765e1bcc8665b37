"""Servers a test owns so it can break them for real: a redis-server, and a listener that never answers.

The shared PostgreSQL and Redis are never stopped or paused; a test that needs a dead or hung
Redis (cache or broker) starts its own here, on a free loopback port.
"""

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field

import pytest
import redis

START_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def refused_url(scheme: str = "redis") -> str:
    """A URL on a loopback port nobody listens on: every connection is refused at once."""
    return f"{scheme}://127.0.0.1:{free_port()}/0"


@dataclass
class RedisServer:
    """A redis-server of the test's own: stop it (connections refused) or hang it (SIGSTOP: accepted, never answered)."""

    process: subprocess.Popen
    port: int
    _monitor: redis.Redis | None = None

    @classmethod
    def start(cls) -> "RedisServer":
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is not on PATH")
        port = free_port()
        process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = cls(process, port)
        deadline = time.monotonic() + START_SECONDS
        while not server.answers():
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("the test's redis-server did not start")
            time.sleep(0.05)
        return server

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as probe:
                probe.sendall(b"PING\r\n")
                return probe.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def client(self) -> redis.Redis:
        """The test's own client, on one connection opened at the first call and kept (use it while the server runs)."""
        if self._monitor is None:
            self._monitor = redis.Redis(port=self.port, socket_timeout=10)
        return self._monitor

    def connections_received(self) -> int:
        """How many connections the server has accepted so far; asking counts once, on the first call."""
        return int(self.client().info("stats")["total_connections_received"])

    def hang(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self._monitor is not None:
            self._monitor.close()
        if self.process.poll() is None:
            self.resume()
            self.process.terminate()
        self.process.wait(timeout=10)


@dataclass
class SilentListener:
    """A loopback TCP port that accepts connections and never says a word (a hung server); counts what it accepted."""

    port: int = 0
    accepted: list[socket.socket] = field(default_factory=list)
    _listener: socket.socket | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> "SilentListener":
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(0.05)
        self._listener, self.port = listener, listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True, name="silent-listener")
        self._thread.start()
        return self

    def url(self, scheme: str = "redis") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                self.accepted.append(self._listener.accept()[0])
            except OSError:
                continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self.accepted:
            conn.close()
        self._listener.close()
