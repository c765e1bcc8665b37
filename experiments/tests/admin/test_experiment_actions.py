"""Start / pause / stop from the experiment list (actions) and from the change page (buttons)."""

import pytest
from django.test import Client
from django.urls import reverse

from experiments.models import Experiment
from experiments.tests.admin.conftest import draft
from experiments.tests.conftest import running_experiment

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:experiments_experiment_changelist")


def run_action(client, action: str, *experiments: Experiment):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [experiment.pk for experiment in experiments]}, follow=True
    )


def status_of(experiment: Experiment) -> str:
    experiment.refresh_from_db()
    return experiment.status


def page_messages(response) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in response.context["messages"]]


def test_start_pause_and_stop_actions_move_the_experiment_along(admin_client):
    experiment = draft("home-blend")

    response = run_action(admin_client, "start_selected", experiment)
    assert status_of(experiment) == "running"
    assert ("success", "Started: home-blend.") in page_messages(response)
    assert experiment.started_at is not None

    response = run_action(admin_client, "pause_selected", experiment)
    assert status_of(experiment) == "paused"
    assert ("success", "Paused: home-blend.") in page_messages(response)

    response = run_action(admin_client, "stop_selected", experiment)
    assert status_of(experiment) == "stopped"
    assert ("success", "Stopped: home-blend.") in page_messages(response)
    assert experiment.stopped_at is not None
    assert experiment.results_snapshot["experiment"]["key"] == "home-blend"


def test_a_second_experiment_on_a_running_placement_is_refused_with_an_error(admin_client):
    first = running_experiment(key="first")
    second = draft("second")
    response = run_action(admin_client, "start_selected", second)
    assert status_of(second) == "draft"
    assert status_of(first) == "running"
    assert (
        "error",
        "second: placement: Experiment 'first' already runs on this placement; stop or pause it first.",
    ) in page_messages(response)


def test_starting_two_on_one_placement_starts_the_first_and_refuses_the_other(admin_client):
    first, second, elsewhere = draft("first"), draft("second"), draft("elsewhere", placement="cart_for_you")
    response = run_action(admin_client, "start_selected", first, second, elsewhere)
    assert [status_of(first), status_of(second), status_of(elsewhere)] == ["running", "draft", "running"]
    levels = [level for level, _ in page_messages(response)]
    assert levels.count("error") == 1 and levels.count("success") == 1


def test_pausing_a_draft_is_refused_with_the_services_words(admin_client):
    experiment = draft("home-blend")
    response = run_action(admin_client, "pause_selected", experiment)
    assert status_of(experiment) == "draft"
    assert ("error", "home-blend: Only a running experiment can be paused; this one is draft.") in page_messages(response)


def test_staff_without_the_change_permission_cannot_run_the_actions(viewer_client):
    experiment = draft("home-blend")
    listing = viewer_client.get(CHANGELIST)
    assert listing.status_code == 200
    assert "start_selected" not in listing.content.decode()
    run_action(viewer_client, "start_selected", experiment)
    assert status_of(experiment) == "draft"


def test_the_change_page_buttons_start_pause_and_stop(admin_client):
    experiment = draft("home-blend")
    page = admin_client.get(reverse("admin:experiments_experiment_change", args=[experiment.pk])).content.decode()
    assert reverse("admin:experiments_experiment_start", args=[experiment.pk]) in page
    assert reverse("admin:experiments_experiment_stop", args=[experiment.pk]) not in page  # a draft cannot stop

    response = admin_client.post(reverse("admin:experiments_experiment_start", args=[experiment.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:experiments_experiment_change", args=[experiment.pk])
    assert status_of(experiment) == "running"
    admin_client.post(reverse("admin:experiments_experiment_pause", args=[experiment.pk]))
    assert status_of(experiment) == "paused"
    admin_client.post(reverse("admin:experiments_experiment_stop", args=[experiment.pk]))
    assert status_of(experiment) == "stopped"


def test_the_buttons_need_a_post(admin_client):
    experiment = draft("home-blend")
    response = admin_client.get(reverse("admin:experiments_experiment_start", args=[experiment.pk]))
    assert response.status_code == 405
    assert status_of(experiment) == "draft"


def test_the_buttons_check_the_csrf_token(django_user_model):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-123"))
    experiment = draft("home-blend")
    response = csrf_client.post(reverse("admin:experiments_experiment_start", args=[experiment.pk]))
    assert response.status_code == 403
    assert status_of(experiment) == "draft"


def test_the_buttons_need_the_change_permission(viewer_client):
    experiment = draft("home-blend")
    page = viewer_client.get(reverse("admin:experiments_experiment_change", args=[experiment.pk])).content.decode()
    assert reverse("admin:experiments_experiment_start", args=[experiment.pk]) not in page
    response = viewer_client.post(reverse("admin:experiments_experiment_start", args=[experiment.pk]))
    assert response.status_code == 403
    assert status_of(experiment) == "draft"
