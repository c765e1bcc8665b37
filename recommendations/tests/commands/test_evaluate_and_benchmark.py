import json
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recommendations.engine.movielens import default_path

STRATEGIES = {"popularity", "content", "cf", "hybrid", "hybrid_diversity_off"}
METRICS = {"precision", "recall", "ndcg", "map", "coverage", "ild"}
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.mark.django_db
def test_evaluate_prints_a_table_and_writes_json_and_plot(small_store, tmp_path, capsys):
    json_path, plot_path = tmp_path / "eval.json", tmp_path / "eval.png"
    call_command("evaluate", json=str(json_path), plot=str(plot_path), weights="0,0.5,1")

    out = capsys.readouterr().out
    for label in ("popularity", "content", "cf", "hybrid 0.00/1.00", "hybrid 0.50/0.50", "hybrid 1.00/0.00", "div. off", "ILD@10", "best blend"):
        assert label in out
    report = json.loads(json_path.read_text())
    assert report["k"] == 10
    assert set(report["results"]) == STRATEGIES
    for strategy in STRATEGIES:
        assert METRICS <= set(report["results"][strategy])
    best = max(report["blends"], key=lambda blend: blend["ndcg"])
    assert report["results"]["hybrid"]["ndcg"] == best["ndcg"]
    assert {"w_content", "w_cf"} <= set(report["results"]["hybrid"])
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.django_db
def test_evaluate_refuses_an_empty_store():
    with pytest.raises(CommandError, match="Nothing to evaluate"):
        call_command("evaluate")


@pytest.mark.django_db
def test_evaluate_refuses_weights_outside_zero_to_one(small_store):
    with pytest.raises(CommandError, match="between 0 and 1"):
        call_command("evaluate", weights="0,1.5")


def test_benchmark_movielens_names_a_wrong_folder(tmp_path):
    with pytest.raises(CommandError, match="has no u.data"):
        call_command("benchmark_movielens", str(tmp_path))


def test_benchmark_movielens_writes_the_evaluate_shape_and_holds_todays_figure(tmp_path, capsys):
    if not (default_path() / "u.data").is_file():
        message = f"MovieLens 100K not found: no u.data in {default_path()} (set MOVIELENS_100K or clone beside the project)"
        if IN_CI:
            pytest.fail(message, pytrace=False)  # CI must run the benchmark, never skip it
        pytest.skip(message)
    json_path = tmp_path / "ml.json"
    call_command("benchmark_movielens", str(default_path()), json=str(json_path), no_time_split=True)
    assert "published split (74,992 train / 25,008 test rows)" in capsys.readouterr().out
    report = json.loads(Path(json_path).read_text())
    assert report["k"] == 10 and set(report["results"]) == STRATEGIES
    assert report["split"]["train"] == 74_992 and report["split"]["test"] == 25_008
    assert report["results"]["cf"]["ndcg"] >= 0.47  # measured 0.4764 (EASE); the floor in test_movielens.py
