"""The experiment add and change forms: a bad variant set is a form error and nothing is saved."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from experiments.models import Experiment, Variant
from experiments.services import experiment_stop
from experiments.tests.admin.conftest import CONTROL, TREATMENT, experiment_form_data
from experiments.tests.conftest import running_experiment

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:experiments_experiment_add")


def errors_of(response) -> str:
    formset = response.context["inline_admin_formsets"][0].formset
    lines = list(formset.non_form_errors())
    for form in formset.forms:
        lines.extend(f"{field}: {message}" for field, messages in form.errors.items() for message in messages)
    return "\n".join(lines)


def assert_nothing_saved():
    assert Experiment.objects.count() == 0
    assert Variant.objects.count() == 0


def test_a_good_variant_set_creates_a_draft_with_its_variants(admin_client):
    response = admin_client.post(ADD_URL, experiment_form_data([CONTROL, {**TREATMENT, "w_content": "", "options": '{"exclude_purchased": false}'}]))
    assert response.status_code == 302, errors_of(response)
    experiment = Experiment.objects.get()
    assert (experiment.key, experiment.status, experiment.placement) == ("home-blend", "draft", "home_for_you")
    variants = {variant.key: variant for variant in experiment.variants.all()}
    assert set(variants) == {"control", "content"}
    assert variants["control"].is_control and not variants["content"].is_control
    assert variants["content"].options == {"exclude_purchased": False}
    assert LogEntry.objects.get().object_id == str(experiment.pk)  # the history names the saved experiment


def test_two_controls_are_refused(admin_client):
    response = admin_client.post(ADD_URL, experiment_form_data([CONTROL, {**TREATMENT, "is_control": True}]))
    assert response.status_code == 200
    assert "Exactly one variant must be the control; 2 are." in errors_of(response)
    assert "Please correct the error" in response.content.decode()
    assert_nothing_saved()


def test_no_control_is_refused(admin_client):
    response = admin_client.post(ADD_URL, experiment_form_data([{**CONTROL, "is_control": False}, TREATMENT]))
    assert "Exactly one variant must be the control; 0 are." in errors_of(response)
    assert_nothing_saved()


def test_duplicate_keys_are_refused(admin_client):
    response = admin_client.post(ADD_URL, experiment_form_data([CONTROL, {**TREATMENT, "key": "control"}]))
    assert "Variant keys must be unique; repeated: control." in errors_of(response)
    assert_nothing_saved()


def test_a_single_variant_is_refused(admin_client):
    response = admin_client.post(ADD_URL, experiment_form_data([CONTROL]))
    assert "at least two variants" in errors_of(response)
    assert_nothing_saved()


def test_a_zero_weight_is_refused(admin_client):
    response = admin_client.post(ADD_URL, experiment_form_data([CONTROL, {**TREATMENT, "weight": "0"}]))
    assert "weight: The weight must be greater than 0." in errors_of(response)
    assert_nothing_saved()


def test_an_unknown_strategy_is_refused(admin_client):
    response = admin_client.post(ADD_URL, experiment_form_data([CONTROL, {**TREATMENT, "strategy": "astrology"}]))
    assert "strategy: Select a valid choice. astrology is not one of the available choices." in errors_of(response)
    assert_nothing_saved()


def test_an_unknown_serving_option_is_refused_by_the_serving_config_rules(admin_client):
    response = admin_client.post(ADD_URL, experiment_form_data([CONTROL, {**TREATMENT, "options": '{"shuffle": true}'}]))
    assert "options: shuffle: Unknown option; known: exclude_purchased." in errors_of(response)
    assert_nothing_saved()


def test_a_blend_weight_above_one_is_refused(admin_client):
    response = admin_client.post(ADD_URL, experiment_form_data([CONTROL, {**TREATMENT, "strategy": "hybrid", "w_content": "1.5"}]))
    assert "w_content:" in errors_of(response)
    assert_nothing_saved()


def test_a_draft_can_swap_its_control(admin_client):
    admin_client.post(ADD_URL, experiment_form_data([CONTROL, TREATMENT]))
    experiment = Experiment.objects.get()
    stored = {variant.key: variant for variant in experiment.variants.all()}
    data = experiment_form_data(
        [
            {**CONTROL, "id": stored["control"].pk, "experiment": experiment.pk, "is_control": False},
            {**TREATMENT, "id": stored["content"].pk, "experiment": experiment.pk, "is_control": True},
        ],
        initial=2,
    )
    response = admin_client.post(reverse("admin:experiments_experiment_change", args=[experiment.pk]), data)
    assert response.status_code == 302, errors_of(response)
    assert experiment.variants.get(is_control=True).key == "content"


def test_a_running_experiment_keeps_its_key_and_variants_but_weights_may_change(admin_client):
    experiment = running_experiment(weights=(50, 50))
    control, treatment = experiment.variants.order_by("-is_control", "id")
    url = reverse("admin:experiments_experiment_change", args=[experiment.pk])
    page = admin_client.get(url)
    form = page.context["adminform"].form
    assert "key" not in form.fields and "placement" not in form.fields and "salt" not in form.fields
    formset = page.context["inline_admin_formsets"][0].formset
    assert "strategy" not in formset.forms[0].fields and "weight" in formset.forms[0].fields
    assert not page.context["inline_admin_formsets"][0].has_add_permission
    assert not page.context["inline_admin_formsets"][0].has_delete_permission

    data = experiment_form_data(
        [
            {"id": control.pk, "experiment": experiment.pk, "name": "Hybrid", "weight": "70"},
            {"id": treatment.pk, "experiment": experiment.pk, "name": "Content", "weight": "30"},
        ],
        initial=2,
        key="sneaky-new-key",
        placement="cart_for_you",
        name="Home blend, 70/30",
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, errors_of(response)
    experiment.refresh_from_db()
    assert (experiment.key, experiment.placement, experiment.name) == ("home-blend", "home_for_you", "Home blend, 70/30")
    assert sorted(experiment.variants.values_list("key", "weight", "strategy")) == [
        ("control", 70.0, "hybrid"), ("treatment-1", 30.0, "content"),
    ]  # fmt: skip


def test_a_running_experiment_cannot_gain_a_variant(admin_client):
    experiment = running_experiment()
    control, treatment = experiment.variants.order_by("-is_control", "id")
    data = experiment_form_data(
        [
            {"id": control.pk, "experiment": experiment.pk, "weight": "50"},
            {"id": treatment.pk, "experiment": experiment.pk, "weight": "50"},
            {"key": "extra", "weight": "10", "strategy": "cf"},
        ],
        initial=2,
    )
    admin_client.post(reverse("admin:experiments_experiment_change", args=[experiment.pk]), data)
    assert experiment.variants.count() == 2


def test_a_stopped_experiment_is_read_only(admin_client):
    experiment = experiment_stop(experiment=running_experiment())
    url = reverse("admin:experiments_experiment_change", args=[experiment.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    response = admin_client.post(url, experiment_form_data([], name="Renamed"))
    assert response.status_code == 403
    experiment.refresh_from_db()
    assert experiment.name == "Home Blend"


def test_the_add_form_offers_two_blank_variant_rows(admin_client):
    page = admin_client.get(ADD_URL)
    assert page.status_code == 200
    assert len(page.context["inline_admin_formsets"][0].formset.forms) == 2


def test_a_refusal_at_save_time_is_a_message_and_nothing_is_saved(admin_client, monkeypatch):
    """The forms check the services' rules first; a refusal they could not foresee (a race) still saves nothing."""
    from core.api_errors import ApiError

    admin_client.post(ADD_URL, experiment_form_data([CONTROL, TREATMENT]))
    experiment = Experiment.objects.get()

    def refuse(**kwargs):
        raise ApiError("A stopped experiment cannot be edited; its results are frozen.", code="experiment_stopped")

    monkeypatch.setattr("experiments.admin.experiment_update", refuse)
    url = reverse("admin:experiments_experiment_change", args=[experiment.pk])
    stored = {variant.key: variant.pk for variant in experiment.variants.all()}
    data = experiment_form_data(
        [{**CONTROL, "id": stored["control"], "experiment": experiment.pk}, {**TREATMENT, "id": stored["content"], "experiment": experiment.pk}],
        initial=2,
        name="Renamed",
    )
    response = admin_client.post(url, data, follow=True)
    assert "Not saved: A stopped experiment cannot be edited; its results are frozen." in response.content.decode()
    experiment.refresh_from_db()
    assert experiment.name == "Home blend"
