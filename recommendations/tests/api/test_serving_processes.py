"""Serving from other processes: gunicorn children of the test, on the test database and Redis.

Every child is a real web process (gunicorn, one gthread worker, its own control socket
turned off) started with the test's environment, pointed at the test database, and told to
look for a newly activated model every CHECK_SECONDS. The database outage is real for the
child: it reaches PostgreSQL only through a TCP forwarder on loopback that the test cuts
(listener closed, open connections torn down) and restores; the PostgreSQL server itself
is never touched.
"""

import socket
import threading
import time

import pytest

from recommendations.tests.api.conftest import activate_trained_model
from tests.web_processes import HEALTH, ServingProcess, ServingProcesses, database_target, shared_database_marks

pytestmark = shared_database_marks("another process must share the test database")

CHECK_SECONDS = 1.0  # the children's RECOMMENDATION_MODEL_CHECK_SECONDS and RECOMMENDATION_AVAILABILITY_SECONDS
SLACK_SECONDS = 15.0  # a generous bound on top of the interval: loading a model, a slow machine
ERROR_KEYS = {"message", "code", "extra"}

TRENDING = "/api/recommendations/trending/?k=4"
CACHED_LISTS = [TRENDING, "/api/recommendations/similar/CAM0/?k=3", "/api/recommendations/also-bought/MEM0/?k=3"]
UNCACHED_LIST = "/api/recommendations/trending/?k=6"


# -- a TCP forwarder the test can cut ------------------------------------------------------


class TcpForwarder:
    """Forward connections from a loopback port to PostgreSQL until stopped; start again on the same port."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True, name="forwarder-accept")
        self._acceptor.start()

    def stop(self) -> None:
        """Refuse new connections and tear down the open ones, as a database that went away."""
        listener, self._listener = self._listener, None
        if listener is not None:
            _shut(listener)  # wakes the blocked accept()
            self._acceptor.join(5)
            listener.close()
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            _shut(sock)  # wakes the pumps, which close their sockets

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # stopped meanwhile
                    client.close()
                    upstream.close()
                    return
                self._open |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True, name="forwarder-pump").start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                _shut(sock)
                sock.close()
            with self._lock:
                self._open -= {source, sink}


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


# -- web processes -------------------------------------------------------------------------


@pytest.fixture
def serving_processes(transactional_db, tmp_path):
    """Start web processes on the test database; they are stopped before the database is flushed."""
    processes = ServingProcesses(
        tmp_path,
        env={"RECOMMENDATION_MODEL_CHECK_SECONDS": str(CHECK_SECONDS), "RECOMMENDATION_AVAILABILITY_SECONDS": str(CHECK_SECONDS)},
    )
    yield processes
    processes.stop_all()


@pytest.fixture
def database_forwarder(transactional_db):
    forwarder = TcpForwarder(database_target())
    forwarder.start()
    yield forwarder
    forwarder.stop()


def poll(fetch, until, *, seconds: float):
    """Call ``fetch`` until ``until(result)`` or the time is up; return the last result."""
    deadline = time.monotonic() + seconds
    while True:
        result = fetch()
        if until(result) or time.monotonic() >= deadline:
            return result
        time.sleep(0.1)


def served_version(server: ServingProcess, path: str = TRENDING):
    reply = server.get(path)
    return reply.status, (reply.json().get("model_version") if reply.status == 200 else reply.body[:300])


# -- a model activated in one process, served by another -----------------------------------


def test_a_model_activated_here_is_served_by_another_process_within_the_check_interval(small_store, serving_processes):
    (server,) = serving_processes.start("server")
    before = server.get(TRENDING).json()
    assert (before["strategy"], before["model_version"]) == ("popular", None)

    for _ in ("v1", "v2"):
        version = activate_trained_model()

        result = poll(lambda: served_version(server), lambda found: found == (200, version.pk), seconds=CHECK_SECONDS + SLACK_SECONDS)

        assert result == (200, version.pk), f"still serving {result}, not v{version.pk}:\n{server.log()}"
        body = server.get(TRENDING).json()
        assert (body["strategy"], body["model_version"], len(body["results"])) == ("trending", version.pk, 4)
        assert server.get(HEALTH).json()["model"]["loaded_version"] == version.pk


# -- a database outage while serving -------------------------------------------------------


def test_during_a_database_outage_cached_lists_answer_from_the_cache_and_health_says_503(
    active_model, serving_processes, database_forwarder
):
    warmer, other = serving_processes.start("warmer", "other", through=database_forwarder)
    warmed = {}
    for path in CACHED_LISTS:
        assert warmer.get(path).json()["source"] == "model"
        body = warmer.get(path).json()
        assert (body["source"], body["model_version"]) == ("cache", active_model.pk)
        assert body["results"]
        warmed[path] = body["results"]
    # The other process loads the model with a list of its own: the warmer's lists it finds only in Redis.
    assert other.get("/api/recommendations/similar/BOO0/?k=2").json()["model_version"] == active_model.pk

    database_forwarder.stop()
    time.sleep(CHECK_SECONDS + 0.5)  # past the interval: the next requests re-check the model and availability

    for server in (warmer, other):
        for path in CACHED_LISTS:
            reply = server.get(path)
            assert reply.status == 200, f"{server.name} {path}: {reply.status} {reply.body[:300]!r}\n{server.log()}"
            body = reply.json()
            assert (body["source"], body["model_version"], body["results"]) == ("cache", active_model.pk, warmed[path])
    health = warmer.get(HEALTH)
    assert health.status == 503
    report = health.json()
    assert report["status"] == "unavailable"
    assert report["database"] == {"status": "unavailable", "error": "OperationalError"}
    assert report["cache"]["status"] == "ok"
    assert (report["model"]["status"], report["model"]["loaded_version"]) == ("unknown", active_model.pk)

    database_forwarder.start()

    for server in (warmer, other):
        recovered = poll(lambda: server.get(HEALTH).status, lambda status: status == 200, seconds=SLACK_SECONDS)
        assert recovered == 200, server.log()
        assert server.get(TRENDING).json()["results"] == warmed[TRENDING]
        fresh = server.get(UNCACHED_LIST)
        assert fresh.status == 200, fresh.body[:300]
        assert (fresh.json()["model_version"], len(fresh.json()["results"])) == (active_model.pk, 6)


def test_during_a_database_outage_an_uncached_list_answers_503_in_the_api_error_shape(
    active_model, serving_processes, database_forwarder
):
    (server,) = serving_processes.start("server", through=database_forwarder)
    assert server.get(TRENDING).status == 200  # the model is loaded, as in any process that has served

    database_forwarder.stop()
    reply = server.get(UNCACHED_LIST)

    assert (reply.status, reply.content_type) == (503, "application/json")
    assert set(reply.json()) == ERROR_KEYS
