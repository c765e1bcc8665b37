"""A model artifact that is missing, truncated or corrupt on disk: the last good model keeps serving.

The files are damaged for real, in the storage the registry points at: bytes overwritten in
the middle (a bad block), the end cut off (a full disk during a copy), or the file deleted.
Activating such a version is refused with the reason; a version whose file is damaged after
it was activated is not loaded, and the process goes on serving the model it has.
"""

import logging
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from recommendations.models import ModelVersion
from recommendations.services import model_activate
from recommendations.tests.api.conftest import activate_trained_model

pytestmark = pytest.mark.django_db

TRENDING = "/api/recommendations/trending/"


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "overwritten":
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes(256) + data[middle + 256 :])
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:
        path.unlink()


def ready_version_like(version: ModelVersion, run_key: str) -> ModelVersion:
    """A finished, not yet active version storing a copy of ``version``'s artifact."""
    ready = ModelVersion.objects.create(run_key=run_key, status=ModelVersion.Status.READY, finished_at=timezone.now())
    with version.artifact.open("rb") as handle:
        ready.artifact.save(f"model-{ready.pk}.npz", ContentFile(handle.read()), save=True)
    return ready


@pytest.mark.parametrize("how", ["overwritten", "truncated", "deleted"])
def test_activating_a_damaged_artifact_is_refused_and_the_active_model_keeps_serving(
    active_model, admin_client, api_client, how
):
    assert api_client.get(TRENDING).json()["model_version"] == active_model.pk
    damaged = ready_version_like(active_model, f"damaged-{how}")
    damage(Path(damaged.artifact.path), how)

    response = admin_client.post(
        reverse("admin:recommendations_modelversion_changelist"),
        {"action": "activate_selected", "_selected_action": [damaged.pk]},
        follow=True,
    )

    [(level, text)] = [(message.level_tag, str(message)) for message in response.context["messages"]]
    assert level == "error"
    assert text.startswith(f"v{damaged.pk} (ready) cannot be activated: its artifact {damaged.artifact.name} is unreadable")
    damaged.refresh_from_db()
    assert damaged.status == ModelVersion.Status.READY
    assert ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE).pk == active_model.pk
    assert api_client.get(TRENDING).json()["model_version"] == active_model.pk


def test_an_intact_copy_is_activated(active_model, api_client):
    intact = ready_version_like(active_model, "intact")

    model_activate(version=intact)

    assert api_client.get(TRENDING).json()["model_version"] == intact.pk


def test_an_artifact_damaged_after_activation_is_not_loaded_and_the_loaded_model_keeps_serving(
    active_model, api_client, caplog
):
    assert api_client.get(TRENDING).json()["model_version"] == active_model.pk  # this process has it loaded
    newer = activate_trained_model()  # a sound file, activated: then damaged on the shared volume
    damage(Path(newer.artifact.path), "overwritten")

    responses = [api_client.get(TRENDING) for _ in range(3)]
    health = api_client.get("/api/health/").json()

    assert [response.status_code for response in responses] == [200] * 3
    assert {response.json()["model_version"] for response in responses} == {active_model.pk}
    assert (health["model"]["version"], health["model"]["loaded_version"]) == (newer.pk, active_model.pk)
    load_errors = [
        record for record in caplog.records if record.name == "recommendations.serving" and record.levelno == logging.ERROR
    ]
    assert len(load_errors) == 1  # tried once, not on every request
    assert load_errors[0].getMessage() == (
        f"Could not load model v{newer.pk} ({newer.artifact.name}); still serving v{active_model.pk}"
    )
