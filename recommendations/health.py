"""The health report behind ``GET /api/health/``: database, cache, broker (``core.health``), active model.

Only an unreachable database makes the service unavailable (503): without the cache,
lists are computed on every request; without the broker, retraining waits; without a
model, lists fall back to popular products. Those report ``degraded``.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from rest_framework import serializers

from core.health import (
    NOT_CONFIGURED,
    OK,
    UNAVAILABLE,
    ComponentHealth,
    ComponentHealthSerializer,
    broker_health,
    cache_health,
    database_health,
)
from recommendations.models import ModelVersion
from recommendations.serving import active_model_holder

DEGRADED = "degraded"
MISSING = "missing"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ModelHealth:
    status: str
    version: int | None = None
    activated_at: datetime | None = None
    age_seconds: float | None = None
    loaded_version: int | None = None


@dataclass(frozen=True)
class HealthReport:
    database: ComponentHealth
    cache: ComponentHealth
    broker: ComponentHealth
    model: ModelHealth
    checked_at: datetime = field(default_factory=timezone.now)

    @property
    def status(self) -> str:
        if self.database.status != OK:
            return UNAVAILABLE
        parts = (self.cache.status, self.broker.status, self.model.status)
        return OK if all(status in {OK, NOT_CONFIGURED} for status in parts) else DEGRADED

    @property
    def http_status(self) -> int:
        return 503 if self.status == UNAVAILABLE else 200


def model_health(*, database_up: bool) -> ModelHealth:
    loaded = active_model_holder.model
    loaded_version = loaded.version_id if loaded is not None else None
    if not database_up:
        return ModelHealth(UNKNOWN, loaded_version=loaded_version)
    row = (
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE)
        .order_by()
        .values_list("pk", "activated_at", "finished_at")
        .first()
    )
    if row is None:
        return ModelHealth(MISSING, loaded_version=loaded_version)
    version, activated_at, finished_at = row
    trained_at = finished_at or activated_at
    age = (timezone.now() - trained_at).total_seconds() if trained_at else None
    return ModelHealth(OK, version, activated_at, round(age, 1) if age is not None else None, loaded_version)


def health_report() -> HealthReport:
    """Check every dependency once and return the report."""
    database = database_health()
    return HealthReport(
        database=database,
        cache=cache_health(),
        broker=broker_health(),
        model=model_health(database_up=database.status == OK),
    )


class ModelHealthSerializer(serializers.Serializer):
    """The active model version, its age, and the version this process serves."""

    status = serializers.ChoiceField(choices=[OK, MISSING, UNKNOWN], help_text="missing: no version is active yet.")
    version = serializers.IntegerField(allow_null=True)
    activated_at = serializers.DateTimeField(allow_null=True)
    age_seconds = serializers.FloatField(allow_null=True, help_text="Seconds since the version finished training.")
    loaded_version = serializers.IntegerField(
        allow_null=True, help_text="The version this web process has loaded (it follows within seconds)."
    )


class HealthReportSerializer(serializers.Serializer):
    """The health report: ok, degraded (cache, broker or model missing) or unavailable (no database)."""

    status = serializers.ChoiceField(choices=[OK, DEGRADED, UNAVAILABLE])
    database = ComponentHealthSerializer()
    cache = ComponentHealthSerializer()
    broker = ComponentHealthSerializer()
    model = ModelHealthSerializer()
    checked_at = serializers.DateTimeField()
