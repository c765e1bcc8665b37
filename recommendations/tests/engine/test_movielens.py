"""The MovieLens 100K floor: runs when the benchmark data is present (it is in CI)."""

import os
from pathlib import Path

import pytest

from recommendations.engine.movielens import (
    PUBLISHED_TEST_ROWS,
    PUBLISHED_TRAIN_ROWS,
    SAR_SANITY_NDCG,
    benchmark_movielens,
    default_path,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA = Path(os.environ["MOVIELENS_100K"]) if os.environ.get("MOVIELENS_100K") else default_path(REPO_ROOT)
SAR_PUBLISHED_NDCG = 0.3825

pytestmark = pytest.mark.skipif(not (DATA / "u.data").exists(), reason=f"MovieLens 100K not found at {DATA}")


@pytest.fixture(scope="module")
def report():
    return benchmark_movielens(DATA, models=("sar", "cf"), include_time_split=False)


def test_published_split_has_the_published_row_counts(report):
    assert report["split"]["train"] == PUBLISHED_TRAIN_ROWS
    assert report["split"]["test"] == PUBLISHED_TEST_ROWS
    assert report["results"]["cf"]["users"] == 943


def test_sar_like_model_reproduces_the_harness_sanity_figure(report):
    assert report["results"]["sar"]["ndcg"] == pytest.approx(SAR_SANITY_NDCG, abs=0.002)


def test_cf_beats_the_published_sar_figure(report):
    assert report["results"]["cf"]["ndcg"] >= SAR_PUBLISHED_NDCG
