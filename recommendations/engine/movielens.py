"""The MovieLens 100K benchmark: the published random split and a per-user time split.

``benchmark_movielens(path)`` loads ``u.data``/``u.item`` from ``path`` (never bundled with
the project), reproduces the protocol in ``shared/data/README.md`` (every rating a positive;
per-user 75/25 random split with seed 42, 74,992 / 25,008 rows; top 10 of all unseen items)
and returns figures in the shape ``evaluate`` writes, next to the published references.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .collaborative import EASE, ItemKNN, make_cf_model
from .content import ContentModel
from .evaluation import evaluate_model, random_split, time_split
from .hybrid import HybridRecommender
from .interactions import interaction_matrix
from .pipeline import DEFAULT_PARAMS
from .trending import TrendingModel

GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip

#: Published and locally measured nDCG@10 / P@10 / MAP on the published split (shared/data/README.md).
REFERENCE_FIGURES: list[dict[str, Any]] = [
    {"model": "popularity", "ndcg": 0.250, "precision": 0.224, "map": 0.056, "source": "measured"},
    {"model": "SAR (jaccard, 30-day decay)", "ndcg": 0.3825, "precision": 0.331, "map": 0.111, "source": "published"},
    {"model": "NCF", "ndcg": 0.396, "precision": 0.347, "map": 0.108, "source": "published"},
    {"model": "item kNN, BM25, 100 neighbours", "ndcg": 0.416, "precision": 0.372, "map": 0.117, "source": "measured"},
    {"model": "LightGCN", "ndcg": 0.420, "precision": 0.380, "map": 0.089, "source": "published"},
    {"model": "BPR", "ndcg": 0.442, "precision": 0.388, "map": 0.132, "source": "published"},
    {"model": "BiVAE (best published)", "ndcg": 0.475, "precision": 0.412, "map": 0.146, "source": "published"},
    {"model": "EASE, lambda 500", "ndcg": 0.480, "precision": 0.420, "map": 0.148, "source": "measured"},
]
#: Per-user time split references (nDCG@10) from the same README.
TIME_SPLIT_REFERENCES: dict[str, float] = {
    "popularity": 0.121,
    "item_knn": 0.195,
    "ease": 0.202,
    "hybrid": 0.204,
}
PUBLISHED_TRAIN_ROWS = 74_992
PUBLISHED_TEST_ROWS = 25_008
SAR_SANITY_NDCG = 0.3795

ALL_MODELS = ("popularity", "sar", "item_knn", "ease", "content", "hybrid", "hybrid_diversity_off", "hybrid_all_history", "cf")


def default_path(repo_root: Optional[Path] = None) -> Path:
    """Return ``$MOVIELENS_100K`` or ``<repo>/../shared/data/ml-100k``."""
    override = os.environ.get("MOVIELENS_100K")
    if override:
        return Path(override)
    root = repo_root or Path(__file__).resolve().parents[2]
    return (root / ".." / "shared" / "data" / "ml-100k").resolve()


def load_ratings(path) -> pd.DataFrame:
    """Return ``u.data`` as columns user, item, rating, timestamp (file order kept)."""
    return pd.read_csv(
        Path(path) / "u.data",
        sep="\t",
        header=None,
        names=["user", "item", "rating", "timestamp"],
        dtype={"user": np.int64, "item": np.int64, "rating": np.float64, "timestamp": np.int64},
    )


def load_items(path) -> pd.DataFrame:
    """Return ``u.item`` as columns item, title, genres (genre names joined by spaces)."""
    columns = ["item", "title", "release", "video_release", "url", *GENRES]
    frame = pd.read_csv(Path(path) / "u.item", sep="|", header=None, names=columns, encoding="latin-1")
    flags = frame[list(GENRES)].to_numpy(dtype=bool)
    genres = [" ".join(g for g, on in zip(GENRES, row) if on) for row in flags]
    return pd.DataFrame({"item": frame["item"].astype(np.int64), "title": frame["title"].fillna(""), "genres": genres})


class MovieLensData:
    """Ratings mapped to indices (user - 1, item - 1) and one text per movie."""

    def __init__(self, path):
        self.path = Path(path)
        self.ratings = load_ratings(path)
        self.items = load_items(path)
        self.n_users = int(self.ratings["user"].max())
        self.n_items = int(max(self.items["item"].max(), self.ratings["item"].max()))
        self.user_index = self.ratings["user"].to_numpy() - 1
        self.item_index = self.ratings["item"].to_numpy() - 1
        texts = [""] * self.n_items
        for item, title, genres in self.items.itertuples(index=False):
            texts[item - 1] = f"{title} . {genres}"
        self.texts = texts

    def matrix(self, mask: np.ndarray, *, weights=None, half_life_days=None, reference_time=None) -> sp.csr_matrix:
        return interaction_matrix(
            self.user_index[mask],
            self.item_index[mask],
            n_users=self.n_users,
            n_items=self.n_items,
            weights=None if weights is None else np.asarray(weights)[mask],
            timestamps=self.ratings["timestamp"].to_numpy()[mask],
            half_life_days=half_life_days,
            reference_time=reference_time,
        )


    def recency(self, mask: np.ndarray) -> sp.csr_matrix:
        """Return the user x item matrix of rating times (+1), to order histories oldest first."""
        stamps = self.ratings["timestamp"].to_numpy()[mask].astype(np.float64) + 1.0
        return sp.csr_matrix((stamps, (self.user_index[mask], self.item_index[mask])), shape=(self.n_users, self.n_items))


def _fit_models(data: MovieLensData, train_mask: np.ndarray, names: Iterable[str]) -> dict[str, Any]:
    names = set(names)
    train = data.matrix(train_mask)
    models: dict[str, Any] = {}
    if "popularity" in names:
        models["popularity"] = TrendingModel().fit(train)
    if "sar" in names:
        # SAR-like: jaccard over binary co-occurrence, full (unpruned) similarity,
        # affinity = rating decayed with a 30-day half-life from the last training time.
        stamps = data.ratings["timestamp"].to_numpy()
        sar = ItemKNN("jaccard", k=data.n_items).fit(train)
        affinity = data.matrix(
            train_mask, weights=data.ratings["rating"], half_life_days=30, reference_time=float(stamps[train_mask].max())
        )
        models["sar"] = (sar, affinity)
    if "item_knn" in names:
        models["item_knn"] = ItemKNN("bm25", k=100).fit(train)
    hybrids = {"hybrid", "hybrid_diversity_off", "hybrid_all_history"}
    need_ease = names & {"ease", *hybrids}
    if need_ease:
        models["ease"] = EASE(l2=500.0, k=200).fit(train)
    if names & {"content", *hybrids}:
        models["content"] = ContentModel(k=50).fit(data.texts)
    if "hybrid" in names:
        models["hybrid"] = HybridRecommender(w_content=0.25, w_cf=0.75, diversity=DEFAULT_PARAMS["diversity"]).fit(
            cf=models["ease"], content=models["content"]
        )
    if "hybrid_diversity_off" in names:
        models["hybrid_diversity_off"] = HybridRecommender(w_content=0.25, w_cf=0.75).fit(cf=models["ease"], content=models["content"])
    if "hybrid_all_history" in names:
        models["hybrid_all_history"] = HybridRecommender(w_content=0.25, w_cf=0.75, n_recent=0, diversity=DEFAULT_PARAMS["diversity"]).fit(
            cf=models["ease"], content=models["content"]
        )
    if "cf" in names:
        cf, choice = make_cf_model(data.n_items)
        models["cf"] = (cf.fit(train), choice)
    return models


def _evaluate(data: MovieLensData, train_mask: np.ndarray, models: dict[str, Any], k: int) -> dict[str, Any]:
    train = data.matrix(train_mask)
    test = data.matrix(~train_mask)
    results = {}
    similarity = models["content"].similarity_matrix() if "content" in models else None  # for ILD
    for name, model in models.items():
        started = time.perf_counter()
        extra: dict[str, Any] = {}
        if name == "sar":
            model, affinity = model
            metrics = evaluate_model(model, train, test, k=k, history=affinity, similarity=similarity)
        elif name == "cf":
            model, choice = model
            extra["choice"] = choice
            metrics = evaluate_model(model, train, test, k=k, similarity=similarity)
        elif name in ("hybrid", "hybrid_diversity_off", "hybrid_all_history"):
            # Served request by request: each history ordered by time, its 20 latest items used.
            metrics = evaluate_model(model, train, test, k=k, recency=data.recency(train_mask), similarity=similarity)
        else:
            metrics = evaluate_model(model, train, test, k=k, similarity=similarity)
        metrics["seconds"] = round(time.perf_counter() - started, 3)
        results[name] = {**metrics, **extra}
    return results


def benchmark_movielens(
    path=None,
    *,
    k: int = 10,
    models: Iterable[str] = ALL_MODELS,
    include_time_split: bool = True,
) -> dict[str, Any]:
    """Run the MovieLens 100K benchmark and return its figures.

    Returns ``{"k", "dataset", "split": {"train", "test"}, "results": {name: metrics},
    "time_split": {"split", "results"}, "references", "time_split_references"}`` where each
    metrics dict has precision, recall, ndcg, map, hit_rate, coverage, users, seconds;
    ``results["cf"]`` is the model the store would get for this catalogue (with its ``choice``).
    Model names: popularity, sar (the harness sanity check), item_knn (BM25, 100
    neighbours), ease (lambda 500, pruned to 200 per item), content (TF-IDF of title and
    genres), hybrid (0.75 EASE + 0.25 content over the 20 latest history items, re-ranked with the
    default diversity, as served),
    hybrid_diversity_off (the same without re-ranking), hybrid_all_history (the served hybrid over
    the whole history), cf.
    """
    path = Path(path) if path is not None else default_path()
    if not (path / "u.data").exists():
        raise FileNotFoundError(f"no MovieLens 100K u.data under {path}")
    models = tuple(models)
    data = MovieLensData(path)
    started = time.perf_counter()
    train_mask = random_split(data.ratings["user"].to_numpy(), train_ratio=0.75, seed=42)
    fitted = _fit_models(data, train_mask, models)
    report: dict[str, Any] = {
        "k": k,
        "dataset": str(path),
        "split": {"protocol": "per-user random 75/25, seed 42", "train": int(train_mask.sum()), "test": int((~train_mask).sum())},
        "results": _evaluate(data, train_mask, fitted, k),
        "references": REFERENCE_FIGURES,
        "time_split_references": TIME_SPLIT_REFERENCES,
    }
    if include_time_split:
        time_mask = time_split(data.ratings["user"].to_numpy(), data.ratings["timestamp"].to_numpy(), test_ratio=0.2)
        fitted = _fit_models(data, time_mask, [m for m in models if m != "sar"])
        report["time_split"] = {
            "split": {"protocol": "per-user last 20% by time", "train": int(time_mask.sum()), "test": int((~time_mask).sum())},
            "results": _evaluate(data, time_mask, fitted, k),
        }
    report["seconds"] = round(time.perf_counter() - started, 2)
    return report


def format_report(report: dict[str, Any]) -> str:
    """Return the figures as plain-text tables, measured next to the references."""
    k = report["k"]
    lines = [
        f"MovieLens 100K, published split ({report['split']['train']:,} train / {report['split']['test']:,} test rows), top {k}",
        f"{'model':<34} {'nDCG':>7} {'P':>7} {'R':>7} {'MAP':>7} {'HR':>7} {'cov':>7}",
    ]
    for name, m in report["results"].items():
        label = name
        if name == "cf" and "choice" in m:
            label = f"cf (store choice: {m['choice']['model']})"
        lines.append(
            f"{label:<34} {m['ndcg']:>7.4f} {m['precision']:>7.4f} {m['recall']:>7.4f} {m['map']:>7.4f} "
            f"{m['hit_rate']:>7.4f} {m['coverage']:>7.4f}"
        )
    lines.append("")
    lines.append("references (shared/data/README.md)")
    for ref in report["references"]:
        lines.append(f"  {ref['model']:<32} {ref['ndcg']:>7.4f} {ref['precision']:>7.4f} {'':>7} {ref['map']:>7.4f}  {ref['source']}")
    if "time_split" in report:
        split = report["time_split"]["split"]
        lines.append("")
        lines.append(f"per-user time split ({split['train']:,} train / {split['test']:,} test rows), top {k}")
        refs = report.get("time_split_references", {})
        for name, m in report["time_split"]["results"].items():
            ref = refs.get(name)
            ref_text = f"  (reference {ref:.3f})" if ref is not None else ""
            lines.append(f"{name:<34} {m['ndcg']:>7.4f} {m['precision']:>7.4f} {m['recall']:>7.4f} {m['map']:>7.4f}{ref_text}")
    return "\n".join(lines)
