"""The diversity tunables staff edit reach the next trained model and its version record."""

import pytest

from recommendations.engine import ModelBundle
from recommendations.models import ModelVersion, RecommenderSettings
from recommendations.services import model_train

pytestmark = pytest.mark.django_db


def test_a_new_store_trains_with_mild_diversity_recorded_on_the_version(small_store):
    version = model_train(run_key="diversity-default")
    assert version.status == ModelVersion.Status.ACTIVE, version.error
    assert (version.params["diversity"], version.params["category_cap"]) == (0.2, 0)
    hybrid = version.metrics["results"]["hybrid"]
    assert (hybrid["diversity"], hybrid["category_cap"]) == (0.2, 0)
    off = version.metrics["results"]["hybrid_diversity_off"]
    assert off["diversity"] == 0.0 and off["w_content"] == hybrid["w_content"]
    for strategy in ("popularity", "content", "cf", "hybrid", "hybrid_diversity_off"):
        assert 0.0 <= version.metrics["results"][strategy]["ild"] <= 1.0
        assert 0.0 < version.metrics["results"][strategy]["coverage"] <= 1.0


def test_edited_diversity_flows_into_the_trained_model_and_its_params(small_store):
    tunables = RecommenderSettings.load()
    tunables.diversity, tunables.category_cap = 0.6, 3
    tunables.save()

    version = model_train(run_key="diversity-edited")

    assert (version.params["diversity"], version.params["category_cap"]) == (0.6, 3)
    with version.artifact.open("rb") as handle:
        served = ModelBundle.load(handle).hybrid
    assert (served.diversity, served.category_cap) == (0.6, 3)
