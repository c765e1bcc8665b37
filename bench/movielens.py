"""Print the MovieLens 100K benchmark next to the published references.

    .venv/bin/python bench/movielens.py [PATH] [--json OUT] [--grid]

PATH defaults to $MOVIELENS_100K or ../shared/data/ml-100k. ``--grid`` also prints the item kNN
similarity x K table that chose the store's CF defaults (published split / time split nDCG@10).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommendations.engine.collaborative import ItemKNN  # noqa: E402
from recommendations.engine.evaluation import evaluate_model, random_split, time_split  # noqa: E402
from recommendations.engine.movielens import MovieLensData, benchmark_movielens, default_path, format_report  # noqa: E402

GRID = [
    ("cosine", {}),
    ("jaccard", {}),
    ("asymmetric_cosine", {"alpha": 0.7}),
    ("bm25", {}),
    ("bm25", {"power": 2.0}),
]
KS = (20, 50, 100, 200)


def similarity_grid(path: Path) -> str:
    """Return the item kNN table: nDCG@10 on the published split / on the time split."""
    data = MovieLensData(path)
    users = data.ratings["user"].to_numpy()
    masks = [random_split(users), time_split(users, data.ratings["timestamp"].to_numpy())]
    matrices = [(data.matrix(m), data.matrix(~m)) for m in masks]
    lines = ["item kNN nDCG@10, published split / time split", f"{'similarity':<32}" + "".join(f"{'K=' + str(k):>17}" for k in KS)]
    for similarity, extra in GRID:
        label = similarity + (" " + ",".join(f"{k}={v}" for k, v in extra.items()) if extra else "")
        cells = []
        for k in KS:
            scores = [evaluate_model(ItemKNN(similarity, k=k, **extra).fit(train), train, test)["ndcg"] for train, test in matrices]
            cells.append(f"{scores[0]:.4f}/{scores[1]:.4f}")
        lines.append(f"{label:<32}" + "".join(f"{c:>17}" for c in cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write the figures as JSON")
    parser.add_argument("--grid", action="store_true", help="also print the similarity x K table")
    args = parser.parse_args()
    path = args.path or default_path()
    report = benchmark_movielens(path)
    print(format_report(report))
    if args.grid:
        print()
        print(similarity_grid(path))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
