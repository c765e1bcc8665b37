"""Probes of the services every app depends on: database, cache and broker.

Each probe answers once and never raises. Errors are named by their class only, so a public
report never shows hosts or credentials. The report behind ``GET /api/health/`` adds the
recommendation model's state to these (``recommendations.health``).
"""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from rest_framework import serializers

from core.broker import BrokerUnavailable, broker_ping

OK = "ok"
UNAVAILABLE = "unavailable"
NOT_CONFIGURED = "not_configured"

BROKER_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class ComponentHealth:
    status: str
    error: str = ""


def database_health() -> ComponentHealth:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means the same thing here: no database
        return ComponentHealth(UNAVAILABLE, type(exc).__name__)
    return ComponentHealth(OK)


def cache_health() -> ComponentHealth:
    """Write and read back a throwaway key (a dead Redis reads back nothing: IGNORE_EXCEPTIONS)."""
    key, token = "health:probe", uuid.uuid4().hex
    try:
        cache.set(key, token, timeout=10)
        read = cache.get(key)
    except Exception as exc:
        return ComponentHealth(UNAVAILABLE, type(exc).__name__)
    return ComponentHealth(OK) if read == token else ComponentHealth(UNAVAILABLE, "no read-back")


def broker_health() -> ComponentHealth:
    """Connect once, waiting at most BROKER_TIMEOUT_SECONDS per socket call: a hung broker must not hang the probe."""
    if not getattr(settings, "CELERY_BROKER_URL", ""):
        return ComponentHealth(NOT_CONFIGURED)
    try:
        broker_ping(timeout=BROKER_TIMEOUT_SECONDS)
    except BrokerUnavailable as exc:
        return ComponentHealth(UNAVAILABLE, type(exc.error).__name__)
    except Exception as exc:
        return ComponentHealth(UNAVAILABLE, type(exc).__name__)
    return ComponentHealth(OK)


class ComponentHealthSerializer(serializers.Serializer):
    """One dependency's state."""

    status = serializers.ChoiceField(choices=[OK, UNAVAILABLE, NOT_CONFIGURED])
    error = serializers.CharField(allow_blank=True, help_text="The error's class name, when not ok.")
