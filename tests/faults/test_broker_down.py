"""The broker down or hung when someone asks for retraining, and under the health probe.

Faults made for real: a loopback port nobody listens on (connections refused), and this test's
own redis-server as broker, paused with SIGSTOP (connections accepted, nothing ever answered).
Before the fix, "Retrain now" was a 500 with the broker refusing and hung for minutes with it
hung; the health probe made two attempts of a second each. Now each asks the broker once, with
the socket timeout as its bound, and says what happened. Durations are printed, not asserted.
"""

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings as django_settings
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.urls import reverse

from recommendations.models import ModelVersion
from tests.fault_servers import refused_url

pytestmark = [pytest.mark.services, pytest.mark.django_db]

RETRAIN = "admin:recommendations_modelversion_retrain"
TIMEOUT_SECONDS = 0.5  # BROKER_TIMEOUT_SECONDS here: the bound is one attempt, whatever the timeout is


@pytest.fixture
def quick_broker_timeout(settings):
    settings.BROKER_TIMEOUT_SECONDS = TIMEOUT_SECONDS


def messages_of(response) -> list[tuple[str, str]]:
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


def timed(label: str, call):
    started = time.perf_counter()
    result = call()
    print(f"{label}: {time.perf_counter() - started:.2f} s")
    return result


def test_retrain_now_with_the_broker_refusing_says_so_and_writes_nothing(admin_client, small_store, settings):
    settings.CELERY_BROKER_URL = broker = refused_url()

    response = timed("retrain now, broker refusing", lambda: admin_client.post(reverse(RETRAIN)))

    assert (response.status_code, response.url) == (302, reverse("admin:recommendations_modelversion_changelist"))
    [(level, text)] = messages_of(response)
    assert level == "error"
    assert text.startswith(f"Not started: The task broker at {broker.split('//')[1].rsplit('/', 1)[0]} is unreachable (")
    assert "No training run was created" in text
    assert ModelVersion.objects.count() == 0


def test_retrain_now_with_a_hung_broker_gives_up_after_one_attempt_then_works_once_it_answers(
    admin_client, small_store, settings, redis_server, quick_broker_timeout
):
    settings.CELERY_BROKER_URL = redis_server.url(0)
    before = redis_server.connections_received()

    redis_server.hang()
    try:
        response = timed("retrain now, broker hung", lambda: admin_client.post(reverse(RETRAIN)))
    finally:
        redis_server.resume()
    attempts = redis_server.connections_received() - before
    recovered = admin_client.post(reverse(RETRAIN))

    assert response.status_code == 302
    [(level, text)] = messages_of(response)
    assert level == "error"
    assert f"The task broker at 127.0.0.1:{redis_server.port} is unreachable" in text and "Timeout" in text
    assert attempts == 1  # one connection, given up after its socket timeout: no pool retry, no reconnect
    assert ModelVersion.objects.count() == 0
    assert messages_of(recovered)[-1] == ("success", "Retraining requested; the new version appears below when it is done.")
    assert redis_server.client().llen("celery") == 1  # the request the worker will find


def test_retrain_async_with_the_broker_refusing_is_a_command_error_naming_it(settings):
    settings.CELERY_BROKER_URL = broker = refused_url()

    with pytest.raises(CommandError) as refused:
        call_command("retrain", "--async")

    host_port = broker.split("//")[1].rsplit("/", 1)[0]
    assert str(refused.value).startswith(f"Not enqueued: The task broker at {host_port} is unreachable (")
    assert ModelVersion.objects.count() == 0


def test_retrain_async_with_a_hung_broker_exits_non_zero_with_a_clear_message(redis_server):
    env = {**os.environ, "CELERY_BROKER_URL": redis_server.url(0), "CELERY_BROKER_TIMEOUT": str(TIMEOUT_SECONDS)}

    redis_server.hang()
    try:
        finished = timed(
            "retrain --async, broker hung (with Django's start-up)",
            lambda: subprocess.run(
                [sys.executable, "manage.py", "retrain", "--async"],
                cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
            ),
        )  # fmt: skip
    finally:
        redis_server.resume()

    assert finished.returncode == 1, finished.stdout + finished.stderr
    expected = f"CommandError: Not enqueued: The task broker at 127.0.0.1:{redis_server.port} is unreachable ("
    assert expected in finished.stderr
    assert "Traceback" not in finished.stderr
    assert "Enqueued" not in finished.stdout


def test_health_with_a_hung_broker_reports_it_after_one_attempt(api_client, settings, redis_server):
    settings.CELERY_BROKER_URL = redis_server.url(0)
    before = redis_server.connections_received()

    redis_server.hang()
    try:
        response = timed("health, broker hung", lambda: api_client.get("/api/health/"))
    finally:
        redis_server.resume()

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["broker"] == {"status": "unavailable", "error": "OperationalError"}
    assert redis_server.connections_received() - before == 1
