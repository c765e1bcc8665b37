"""Scale benchmark: fit time and peak memory per training step at store scale.

    .venv/bin/python bench/scale.py [--data DIR] [--products N --customers N --interactions N]

Uses DIR/products.csv and DIR/interactions.csv (the demo generator's format; default
/tmp/demo_big when present), otherwise synthesises a store of the requested size (default
100,000 products, 1,000,000 customers, 10,000,000 interactions: Zipf-like popularity,
category-loyal customers, templated texts). Runs the same ``train_bundle`` the shop uses
(evaluation off unless ``--evaluate``), then save, load and per-request serving latency.
Memory is the process RSS sampled every 10 ms: "peak" is the step's highest RSS, "+peak"
its rise above the RSS when the step started.

Last, the item-kNN fit on the store's CF matrix (BM25, 100 neighbours) side by side with the
`implicit` library's BM25 item kNN (C++) when that is installed (``pip install implicit``; it is
not a dependency of the project): wall and CPU seconds of each of ``--cf-runs`` fits, and how
far their neighbour lists agree. ``--no-cf-compare`` skips it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommendations.engine import ModelBundle, train_bundle  # noqa: E402

MB = 1024 * 1024


class MemorySampler:
    """Track the process's peak RSS since the last ``reset`` from a background thread."""

    def __init__(self, interval: float = 0.01):
        self.process = psutil.Process()
        self.interval = interval
        self.start_rss = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def reset(self) -> None:
        self.start_rss = self.peak = self.process.memory_info().rss

    def read(self) -> tuple[float, float]:
        """Return (peak RSS MB, rise above the starting RSS MB) since the last reset."""
        self.peak = max(self.peak, self.process.memory_info().rss)
        return self.peak / MB, (self.peak - self.start_rss) / MB

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def load_csv(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return engine frames from the demo generator's CSV files."""
    products = pd.read_csv(folder / "products.csv", dtype={"product_id": str, "stock": "Int64"}, keep_default_na=False, na_values={"stock": [""]})
    products = pd.DataFrame(
        {
            "item_id": products["product_id"],
            "title": products["title"],
            "category": products["category"],
            "description": products["description"],
            "available": products["stock"].fillna(1).to_numpy() != 0,
        }
    )
    interactions = pd.read_csv(folder / "interactions.csv", dtype={"user_id": str, "product_id": str, "interaction_type": str, "ts": str})
    interactions = pd.DataFrame(
        {
            "user_id": interactions["user_id"],
            "item_id": interactions["product_id"],
            "kind": interactions["interaction_type"],
            "timestamp": pd.to_datetime(interactions["ts"], utc=True, format="ISO8601"),
        }
    )
    return products, interactions


WORDS = (
    "wireless compact premium classic smart portable ergonomic durable lightweight waterproof stainless "
    "organic vintage modern professional digital analog silent rapid rechargeable foldable adjustable "
    "ultra slim heavy duty eco friendly deluxe travel outdoor indoor kids family gaming studio kitchen"
).split()
NOUNS = (
    "camera lens tripod laptop keyboard mouse monitor headphones speaker phone charger cable backpack "
    "jacket shoes watch kettle blender pan knife lamp chair desk tent bottle novel cookbook puzzle drone"
).split()


def synthesize(n_products: int, n_customers: int, n_interactions: int, seed: int = 0):
    """Return (products, interactions) frames of a synthetic store."""
    rng = np.random.default_rng(seed)
    n_categories = 200
    categories = np.array([f"Category {c:03d}" for c in range(n_categories)])
    item_category = rng.integers(0, n_categories, n_products)
    brands = np.array([f"Brand{b}" for b in range(2000)])
    words = np.array(WORDS)
    nouns = np.array(NOUNS)
    noun_of_category = rng.integers(0, nouns.size, n_categories)
    titles, descriptions = [], []
    brand = rng.integers(0, brands.size, n_products)
    adjectives = rng.integers(0, words.size, (n_products, 6))
    for i in range(n_products):
        noun = nouns[noun_of_category[item_category[i]]]
        titles.append(f"{brands[brand[i]]} {words[adjectives[i, 0]]} {noun} {i % 997}")
        descriptions.append(
            f"A {words[adjectives[i, 1]]} {words[adjectives[i, 2]]} {noun} by {brands[brand[i]]}. "
            f"Great for {words[adjectives[i, 3]]} use, {words[adjectives[i, 4]]} and {words[adjectives[i, 5]]}."
        )
    item_ids = np.array([f"P{i:06d}" for i in range(n_products)], dtype=object)
    products = pd.DataFrame(
        {
            "item_id": item_ids,
            "title": titles,
            "category": categories[item_category],
            "description": descriptions,
            "available": rng.random(n_products) > 0.05,
        }
    )
    # Popularity ~ 1 / rank^0.9; each customer shops mostly in two favourite categories.
    popularity = 1.0 / np.arange(1, n_products + 1) ** 0.9
    popularity = popularity[rng.permutation(n_products)]
    by_category = [np.flatnonzero(item_category == c) for c in range(n_categories)]
    category_weights = [popularity[items] / popularity[items].sum() for items in by_category]
    users = rng.integers(0, n_customers, n_interactions)
    favourite = rng.integers(0, n_categories, (n_customers, 2))
    loyal = rng.random(n_interactions) < 0.8
    items = rng.choice(n_products, n_interactions, p=popularity / popularity.sum())
    chosen_category = favourite[users, rng.integers(0, 2, n_interactions)]
    for c in range(n_categories):
        rows = np.flatnonzero(loyal & (chosen_category == c))
        items[rows] = rng.choice(by_category[c], rows.size, p=category_weights[c])
    kinds = np.array(["view", "click", "add_to_cart", "purchase"], dtype=object)[
        rng.choice(4, n_interactions, p=[0.7, 0.2, 0.07, 0.03])
    ]
    user_ids = np.array([f"C{u:07d}" for u in range(n_customers)], dtype=object)
    start = pd.Timestamp("2026-01-01", tz="UTC")
    interactions = pd.DataFrame(
        {
            "user_id": user_ids[users],
            "item_id": item_ids[items],
            "kind": kinds,
            "timestamp": start + pd.to_timedelta(rng.integers(0, 180 * 86400, n_interactions), unit="s"),
        }
    )
    return products, interactions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="folder with products.csv and interactions.csv")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--interactions", type=int, default=10_000_000)
    parser.add_argument("--synthetic", action="store_true", help="ignore /tmp/demo_big and synthesise")
    parser.add_argument("--evaluate", action="store_true", help="also run the evaluation step")
    parser.add_argument("--no-cf-compare", dest="cf_compare", action="store_false", help="skip the item-kNN vs implicit fits")
    parser.add_argument("--cf-runs", type=int, default=2, help="fits of each item kNN to time (default 2)")
    args = parser.parse_args()

    sampler = MemorySampler()
    started = time.perf_counter()
    folder = args.data or (None if args.synthetic else Path("/tmp/demo_big"))
    if folder is not None and (folder / "products.csv").exists() and (folder / "interactions.csv").exists():
        source = f"CSV from {folder}"
        products, interactions = load_csv(folder)
    else:
        source = "synthetic"
        products, interactions = synthesize(args.products, args.customers, args.interactions)
    load_seconds = time.perf_counter() - started
    print(f"data: {source}: {len(products):,} products, {interactions['user_id'].nunique():,} customers, "
          f"{len(interactions):,} interactions (loaded in {load_seconds:.1f} s, RSS {sampler.read()[0]:,.0f} MB)")
    print(f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB")
    print(f"{'step':<18}{'seconds':>10}{'peak MB':>10}{'+peak MB':>10}  detail")

    def report(name: str, seconds: float, info: dict) -> None:
        peak, rise = sampler.read()
        print(f"{name:<18}{seconds:>10.1f}{peak:>10,.0f}{rise:>10,.0f}  {info}", flush=True)
        sampler.reset()

    sampler.reset()
    bundle, steps, metrics = train_bundle(products, interactions, {"evaluate": args.evaluate}, on_step=report)
    cf_matrix = store_cf_matrix(products, interactions) if args.cf_compare else None
    del products, interactions

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bundle.npz"
        sampler.reset()
        t0 = time.perf_counter()
        bundle.save(path)
        report("save", time.perf_counter() - t0, {"MB": round(path.stat().st_size / MB)})
        t0 = time.perf_counter()
        loaded = ModelBundle.load(path)
        report("load", time.perf_counter() - t0, {})

    hybrid = loaded.hybrid
    rng = np.random.default_rng(1)
    n_items = loaded.n_items
    histories = [(rng.integers(0, n_items, 20), np.ones(20, dtype=np.float32)) for _ in range(300)]
    timings = {}
    for label, call in (
        ("history of 20", lambda h: hybrid.recommend(h, 10, purchased=h[0][:2])),
        ("current product", lambda h: hybrid.recommend(None, 10, current_item=int(h[0][0]))),
        ("also bought", lambda h: hybrid.also_bought(int(h[0][0]), 10)),
        ("trending", lambda h: hybrid.recommend(None, 10, category=3)),
    ):
        for h in histories[:20]:
            call(h)  # warm up
        t0 = time.perf_counter()
        for h in histories:
            call(h)
        timings[label] = (time.perf_counter() - t0) / len(histories) * 1000
    print("serving, ms per request: " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
    print(f"cf model: {loaded.metadata['cf_choice']}")
    if metrics:
        print({name: round(m["ndcg"], 4) for name, m in metrics.get("results", {}).items()})
    print(f"total {time.perf_counter() - started:.0f} s, process peak RSS {psutil.Process().memory_info().rss / MB:,.0f} MB now")
    sampler.stop()
    if cf_matrix is not None:
        compare_item_knn(cf_matrix, runs=args.cf_runs)


def store_cf_matrix(products: pd.DataFrame, interactions: pd.DataFrame):
    """Return the matrix the CF step fits on (weighted, decayed, customers with one product left out)."""
    from recommendations.engine.pipeline import TrainingData, keep_active_users, resolve_params

    settings = resolve_params({})
    data = TrainingData(products, interactions, settings)
    matrix = data.matrix(params=settings, half_life_days=settings["half_life_days"])
    return keep_active_users(matrix, int(settings["min_interactions"]))


def cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


def compare_item_knn(user_items, *, runs: int) -> None:
    """Print the engine's item-kNN fit next to implicit's BM25 item kNN on the same matrix."""
    from recommendations.engine.collaborative import ItemKNN

    print(f"\nitem kNN fit, BM25, 100 neighbours, on {user_items.shape[0]:,} x {user_items.shape[1]:,} "
          f"({user_items.nnz:,} non-zeros); load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    fits = {"engine ItemKNN (2 threads)": lambda: ItemKNN("bm25", 100, n_jobs=2).fit(user_items)}
    try:
        from implicit.nearest_neighbours import BM25Recommender
        import implicit
    except ImportError:
        print("implicit is not installed: engine only")
    else:
        matrix32 = user_items.astype(np.float32)

        def implicit_fit():
            # K=101: implicit lists each item among its own neighbours, the engine never does.
            model = BM25Recommender(K=101, K1=1.2, B=0.75, num_threads=0)
            model.fit(matrix32, show_progress=False)
            return model

        fits[f"implicit {implicit.__version__} BM25Recommender (all cores)"] = implicit_fit
    fitted = {}
    for run in range(1, runs + 1):
        for label, fit in fits.items():
            wall, cpu = time.perf_counter(), cpu_seconds()
            fitted[label] = fit()
            print(f"  run {run}: {label:<44} {time.perf_counter() - wall:6.2f} s wall {cpu_seconds() - cpu:6.2f} s CPU", flush=True)
    if len(fitted) == 2:
        engine, other = fitted.values()
        print(f"  neighbour lists agreeing (share of the engine's 100 found in implicit's): {_agreement(engine, other.similarity):.4f}")


def _agreement(engine, similarity) -> float:
    """Return the mean share of each item's engine neighbours that implicit lists too (itself excluded)."""
    similarity = similarity.tocsr()
    shared = total = 0
    for item in range(0, engine.neighbors_.shape[0], max(1, engine.neighbors_.shape[0] // 2000)):
        ours = engine.neighbors_[item][engine.neighbors_[item] >= 0]
        theirs = similarity.indices[similarity.indptr[item] : similarity.indptr[item + 1]]
        shared += np.isin(ours, theirs[theirs != item]).sum()
        total += ours.size
    return shared / max(total, 1)


if __name__ == "__main__":
    main()
