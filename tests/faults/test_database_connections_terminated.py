"""PostgreSQL terminating the web server's connections in the middle of traffic (a failover, an admin's kill).

A gunicorn child of the test serves on the test database while three clients keep requesting;
the test then has PostgreSQL terminate every other connection to the database
(``pg_terminate_backend``). Persistent connections (CONN_MAX_AGE) are checked before reuse
(CONN_HEALTH_CHECKS), so a dead one is replaced at the start of the next request: only a
request whose query was running at that moment may fail, and none may be a 500.
"""

import threading
import time
from dataclasses import dataclass

import pytest
from django.db import connection

from tests.web_processes import ServingProcesses, shared_database_marks

pytestmark = shared_database_marks("pg_terminate_backend and a shared test database")

CLIENTS = 3
URLS = [
    "/api/health/",  # a query on every request
    "/api/products/CAM0/",
    "/api/recommendations/similar/CAM0/?k=3",
    "/api/recommendations/trending/?k=4",
]
REQUESTS_AFTER = 40  # requests that start once the connections are gone
LIVENESS_SECONDS = 60.0


@dataclass(frozen=True)
class Exchange:
    started: float
    ended: float
    url: str
    status: int | str


@pytest.fixture
def serving_processes(transactional_db, tmp_path):
    processes = ServingProcesses(tmp_path)
    yield processes
    processes.stop_all()


def terminate_other_connections() -> int:
    """Have PostgreSQL end every other session on the test database; return how many it ended."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_terminated_connections_cost_at_most_the_requests_in_flight(active_model, serving_processes):
    (server,) = serving_processes.start("server", threads=CLIENTS + 1)
    for url in URLS:
        assert server.get(url).status == 200, f"{url}\n{server.log()}"
    exchanges: list[Exchange] = []
    stop = threading.Event()

    def client(offset: int) -> None:
        for count in range(10_000):
            if stop.is_set():
                return
            url = URLS[(offset + count) % len(URLS)]
            started = time.monotonic()
            try:
                status = server.get(url).status
            except OSError as exc:
                status = type(exc).__name__
            exchanges.append(Exchange(started, time.monotonic(), url, status))

    threads = [threading.Thread(target=client, args=(offset,), daemon=True) for offset in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: len(exchanges) >= 10)
        terminating = time.monotonic()
        ended_sessions = terminate_other_connections()
        terminated = time.monotonic()
        wait_for(lambda: sum(exchange.started > terminated for exchange in exchanges) >= REQUESTS_AFTER)
    finally:
        stop.set()
        for thread in threads:
            thread.join(LIVENESS_SECONDS)

    after = [exchange for exchange in exchanges if exchange.started > terminated]
    in_flight = [exchange for exchange in exchanges if exchange.started < terminated and exchange.ended > terminating]
    failed = [exchange for exchange in exchanges if exchange.status != 200]
    print(f"{len(exchanges)} requests, {ended_sessions} sessions terminated, {len(in_flight)} in flight, failed: {failed}")
    assert ended_sessions >= 1, "the server held no connection to terminate"
    assert {exchange.status for exchange in after} == {200}, f"{[e for e in after if e.status != 200]}\n{server.log()}"
    assert set(failed) <= set(in_flight)
    assert 500 not in {exchange.status for exchange in exchanges}


def wait_for(condition) -> None:
    deadline = time.monotonic() + LIVENESS_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "the traffic stalled"
        time.sleep(0.05)
