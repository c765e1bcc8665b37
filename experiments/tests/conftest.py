"""Fixtures for experiment tests: the small store with a trained model, fresh serving state, running experiments."""

import pytest

from experiments.services import experiment_create, experiment_start
from recommendations.tests.api.conftest import activate_trained_model, fresh_serving_state, visitor_id_of  # noqa: F401
from recommendations.tests.conftest import media_in_tmp, small_store  # noqa: F401


@pytest.fixture
def active_model(small_store):  # noqa: F811
    return activate_trained_model()


def running_experiment(*, key="home-blend", placement="home_for_you", weights=(50, 50), traffic=100, **fields):
    """Create and start an experiment whose control is the hybrid and whose treatments rank by content, then CF."""
    strategies = ["hybrid", "content", "cf", "trending"]
    variants = [
        {"key": "control" if index == 0 else f"treatment-{index}", "weight": weight, "is_control": index == 0,
         "strategy": strategies[index]}
        for index, weight in enumerate(weights)
    ]  # fmt: skip
    experiment = experiment_create(
        fields={"key": key, "name": key.replace("-", " ").title(), "placement": placement, "traffic": traffic, **fields},
        variants=variants,
    )
    return experiment_start(experiment=experiment)
