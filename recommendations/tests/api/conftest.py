"""Fixtures for the recommendation API: clients, a trained model over the small store, fresh serving state."""

import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.test import APIClient

from recommendations.models import ModelVersion
from recommendations.serving import serving_reset
from recommendations.services import model_activate, model_train
from shop.middleware import VISITOR_COOKIE_SALT

# The small store's trained artifact, kept after the first training so later tests only activate it.
_trained_artifact: dict[str, bytes] = {}


@pytest.fixture(autouse=True)
def fresh_serving_state(settings):
    """Every test starts with an empty cache and no loaded model, and sees changes at once."""
    settings.RECOMMENDATION_MODEL_CHECK_SECONDS = 0
    settings.RECOMMENDATION_AVAILABILITY_SECONDS = 0
    cache.clear()
    serving_reset()
    yield
    serving_reset()
    cache.clear()


def activate_trained_model() -> ModelVersion:
    """Train on the small store once per session; afterwards store the same artifact as a new active version."""
    if "artifact" not in _trained_artifact:
        version = model_train(run_key=f"test-{uuid.uuid4()}", trigger="command")
        assert version.status == ModelVersion.Status.ACTIVE, version.error
        with version.artifact.open("rb") as handle:
            _trained_artifact["artifact"] = handle.read()
        return version
    version = ModelVersion.objects.create(
        run_key=f"test-{uuid.uuid4()}", status=ModelVersion.Status.READY, finished_at=timezone.now()
    )
    version.artifact.save(f"model-{version.pk}.npz", ContentFile(_trained_artifact["artifact"]), save=True)
    return model_activate(version=version)


@pytest.fixture
def active_model(small_store) -> ModelVersion:
    """The small store with a trained, active model."""
    return activate_trained_model()


def visitor_id_of(client: APIClient) -> str:
    """Return the visitor id in a client's signed visitor cookie."""
    request = HttpRequest()
    request.COOKIES[settings.VISITOR_COOKIE_NAME] = client.cookies[settings.VISITOR_COOKIE_NAME].value
    return request.get_signed_cookie(settings.VISITOR_COOKIE_NAME, salt=VISITOR_COOKIE_SALT)


def result_ids(response) -> list[str]:
    return [item["product_id"] for item in response.json()["results"]]
