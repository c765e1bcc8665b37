import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from recommendations.engine import ModelBundle
from recommendations.models import ModelVersion, RecommenderSettings
from recommendations.services import model_train

pytestmark = pytest.mark.django_db


def test_a_training_run_stores_and_activates_a_loadable_model(small_store):
    version = model_train(run_key="run-1", trigger="command")

    assert version.status == ModelVersion.Status.ACTIVE, version.error
    assert (version.product_count, version.customer_count, version.interaction_count) == (12, 12, 132)
    assert version.artifact.name.startswith("models/model-")
    assert version.artifact_bytes == version.artifact.size > 0
    assert set(version.step_seconds) >= {"read_database", "build_matrix", "fit_content", "fit_cf", "fit_trending"}
    assert version.cf_algorithm == "ease"
    assert version.params["event_weights"] == {"view": 1.0, "click": 2.0, "add_to_cart": 4.0, "purchase": 8.0}

    with version.artifact.open("rb") as handle:
        bundle = ModelBundle.load(handle)
    assert sorted(bundle.item_ids.tolist()) == sorted(small_store)
    camera = bundle.index_of("CAM0")
    also_bought = bundle.ids_of(bundle.hybrid.also_bought(camera, 3))
    assert len(also_bought) == 3 and "CAM0" not in also_bought
    assert all(product_id.startswith(("CAM", "MEM")) for product_id in also_bought), also_bought


def test_the_next_run_uses_the_tunables_staff_edited(small_store):
    tunables = RecommenderSettings.load()
    tunables.w_content, tunables.w_cf, tunables.purchase_weight = 0.6, 0.4, 10.0
    tunables.save()
    version = model_train(run_key="run-2")
    assert version.params["w_content"] == 0.6 and version.params["w_cf"] == 0.4
    assert version.params["event_weights"]["purchase"] == 10.0


def test_an_empty_store_fails_the_validation_gate_and_keeps_the_active_model(small_store):
    good = model_train(run_key="good")
    from shop.models import Interaction

    Interaction.objects.all().delete()
    failed = model_train(run_key="empty")
    assert failed.status == ModelVersion.Status.FAILED
    assert failed.error == "Validation gate: the store has no interactions to learn from"
    assert not failed.artifact
    good.refresh_from_db()
    assert good.status == ModelVersion.Status.ACTIVE


def test_a_run_that_cannot_store_its_artifact_fails_and_keeps_the_active_model(small_store, settings, tmp_path):
    good = model_train(run_key="good")
    not_a_directory = tmp_path / "media-is-a-file"
    not_a_directory.write_text("")
    settings.MEDIA_ROOT = not_a_directory / "media"

    failed = model_train(run_key="broken")

    assert failed.status == ModelVersion.Status.FAILED
    assert failed.error.startswith(("NotADirectoryError", "FileExistsError", "OSError"))
    assert failed.finished_at is not None
    good.refresh_from_db()
    assert good.status == ModelVersion.Status.ACTIVE
    assert not ModelVersion.objects.filter(status="training").exists()


def test_retrain_command_prints_steps_and_activates(small_store, capsys):
    call_command("retrain")
    out = capsys.readouterr().out
    assert "fit_content" in out and "is active" in out
    assert ModelVersion.objects.get().status == "active"


def test_retrain_command_refuses_while_a_run_is_in_progress(small_store):
    ModelVersion.objects.create(run_key="running", status="training", heartbeat_at=timezone.now())
    with pytest.raises(CommandError, match="already in progress"):
        call_command("retrain")
    assert ModelVersion.objects.count() == 1
