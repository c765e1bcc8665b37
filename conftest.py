"""Project-wide test setup: service checks that fail (in CI) instead of skipping."""

import os
import socket
from urllib.parse import urlparse

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=2):
            return True
    except OSError:
        return False


def pytest_sessionstart(session):
    """In CI every real service must be configured and reachable, or the run fails at once."""
    if not IN_CI:
        return
    missing = [name for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL") if not os.environ.get(name)]
    if missing:
        pytest.exit(f"CI=true but {', '.join(missing)} not set: CI must test against the real services.", returncode=3)
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        if not _reachable(os.environ[name]):
            pytest.exit(f"{name}={os.environ[name]} is unreachable.", returncode=3)


def pytest_collection_modifyitems(config, items):
    if IN_CI:
        return
    needed = {"REDIS_URL": os.environ.get("REDIS_URL"), "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL")}
    missing = [name for name, value in needed.items() if not value]
    if not missing:
        return
    skip = pytest.mark.skip(reason=f"needs {', '.join(missing)} (set by .ci/run; CI fails instead of skipping)")
    for item in items:
        if item.get_closest_marker("services") is not None:
            item.add_marker(skip)


@pytest.fixture
def api_client():
    """A storefront visitor's API client (the visitor cookie arrives with the first response)."""
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def token_client(db):
    """A server-to-server client holding an API token."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from shop.tests.factories import UserFactory

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory(username='api-client')).key}")
    return client


@pytest.fixture
def staff_client(db):
    """An API client signed in as a staff member."""
    from rest_framework.test import APIClient

    from shop.tests.factories import UserFactory

    client = APIClient()
    client.force_login(UserFactory(username="staffer", staff=True))
    return client


@pytest.fixture(autouse=True)
def fresh_catalog_version():
    """Each test starts at a catalogue version of its own: a rolled-back test's rows leave cached pages behind."""
    from shop.catalog_cache import catalog_cache_reset, catalog_version_bump

    catalog_cache_reset()
    catalog_version_bump()


@pytest.fixture(autouse=True)
def closed_cache_breakers():
    """Every test starts with the cache circuit breakers closed: an outage a test made ends with it."""
    from core.cache import breakers_reset

    breakers_reset()
    yield
    breakers_reset()


@pytest.fixture
def redis_server():
    """A redis-server this test starts on a free port and stops (tests.fault_servers.RedisServer)."""
    from tests.fault_servers import RedisServer

    server = RedisServer.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis(settings, redis_server):
    """The cache pointed at this test's own redis-server; yields the server's process, to stop or SIGSTOP."""
    import uuid

    from config.settings import redis_cache

    settings.CACHES = {
        "default": {**redis_cache(redis_server.url(0), socket_timeout=0.25), "KEY_PREFIX": f"t{uuid.uuid4().hex[:6]}"}
    }
    return redis_server.process


@pytest.fixture
def silent_listener():
    """A loopback port that accepts connections and never answers (tests.fault_servers.SilentListener)."""
    from tests.fault_servers import SilentListener

    listener = SilentListener().start()
    yield listener
    listener.stop()
