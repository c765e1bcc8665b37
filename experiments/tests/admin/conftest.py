"""Admin test helpers: staff who may only look, and the experiment form's POST data.

Superusers come from pytest-django's ``admin_client``.
"""

import pytest
from django.contrib.auth.models import Permission

from experiments.models import Experiment
from experiments.services import experiment_create
from shop.tests.factories import UserFactory

EXPERIMENT_FIELDS = {
    "key": "home-blend",
    "name": "Home blend",
    "hypothesis": "Content similarity finds more relevant products for new visitors.",
    "placement": "home_for_you",
    "kind": "ab",
    "primary_metric": "ctr",
    "traffic": "100",
    "salt": "",
    "minimum_detectable_effect": "0.1",
    "cart_window_hours": "24",
    "purchase_window_days": "7",
}

CONTROL = {"key": "control", "name": "Hybrid", "weight": "50", "is_control": True, "strategy": "hybrid"}
TREATMENT = {"key": "content", "name": "Content only", "weight": "50", "is_control": False, "strategy": "content"}


def variant_form_data(variants: list[dict], *, initial: int = 0, prefix: str = "variants") -> dict:
    """The inline formset's POST fields for these variants (dicts of Variant fields; `id` for stored ones)."""
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(variants)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, variant in enumerate(variants):
        values = {"name": "", "weight": "1", "strategy": "hybrid", "w_content": "", "w_cf": "", "options": "{}", **variant}
        for name, value in values.items():
            if name == "is_control":
                if value:
                    data[f"{prefix}-{index}-is_control"] = "on"
                continue
            if name == "DELETE":
                if value:
                    data[f"{prefix}-{index}-DELETE"] = "on"
                continue
            data[f"{prefix}-{index}-{name}"] = "" if value is None else str(value)
    return data


def experiment_form_data(variants: list[dict], *, initial: int = 0, **fields) -> dict:
    return {**EXPERIMENT_FIELDS, **fields, **variant_form_data(variants, initial=initial)}


def draft(key: str, placement: str = "home_for_you") -> Experiment:
    """A draft experiment with a hybrid control and a content treatment."""
    return experiment_create(
        fields={"key": key, "name": key.title(), "placement": placement},
        variants=[{"key": "control", "is_control": True, "strategy": "hybrid"}, {"key": "content", "strategy": "content"}],
    )


@pytest.fixture
def viewer_client(client):
    """A client signed in as staff who may look at experiments but not change them."""
    user = UserFactory(username="viewer", staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_experiment", content_type__app_label="experiments"))
    client.force_login(user)
    return client
