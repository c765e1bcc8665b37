"""Benchmark the interactions CSV import: time and peak memory for a million generated rows.

Generates a catalog and N interactions as CSV files (in blocks, so generation itself stays
small), imports both into the configured database through the import services, and prints
rows, seconds, rows/s and the process's peak RSS. Not a test: run it by hand, e.g.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/storefront_bench_imp \\
        .venv/bin/python bench/import_interactions.py --rows 1000000

Re-running it first deletes the interactions of its own `bench-` products, so every run
measures creation; `--reimport` then imports the same file again (every row unchanged).
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROJECT_DIR = Path(__file__).resolve().parent.parent
KINDS = np.array(["view", "click", "add_to_cart", "purchase", "viewed", "clicked", "cart", "order"])
KIND_WEIGHTS = np.array([0.55, 0.2, 0.08, 0.04, 0.05, 0.05, 0.02, 0.01])
SPAN_SECONDS = 90 * 24 * 3600
END_UNIX = 1_767_225_600  # 2026-01-01T00:00:00Z
BLOCK_ROWS = 100_000


def arguments_parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="interactions to generate and import")
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--chunk-size", type=int, default=None, help="import chunk size (default: the service's)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=None, help="keep the generated CSVs here (default: a temp dir)")
    parser.add_argument("--reimport", action="store_true", help="import the file a second time and time that too")
    parser.add_argument(
        "--unordered", action="store_true", help="random timestamps in file order (default: chronological, like a log)"
    )
    return parser.parse_args()


def products_csv_write(path: Path, *, products: int, rng: np.random.Generator) -> None:
    prices = rng.gamma(2.0, 40.0, size=products).round(2)
    with open(path, "w", encoding="utf-8") as out:
        out.write("product_id,title,category,description,price,img_url\n")
        for index, price in enumerate(prices.tolist()):
            category = index % 20
            out.write(
                f"bench-P{index:06d},Bench product {index},Bench category {category},"
                f"Generated for the import benchmark,{price:.2f},\n"
            )


def interactions_csv_write(
    path: Path, *, rows: int, products: int, customers: int, unordered: bool, rng: np.random.Generator
) -> None:
    """Write rows with a popularity skew, mixed kind aliases, and both ISO and unix timestamps."""
    popularity = 1.0 / (np.arange(products) + 10.0)
    popularity /= popularity.sum()
    with open(path, "w", encoding="utf-8") as out:
        out.write("user_id,product_id,interaction_type,ts\n")
        for start in range(0, rows, BLOCK_ROWS):
            size = min(BLOCK_ROWS, rows - start)
            users = rng.integers(0, customers, size=size)
            items = rng.choice(products, size=size, p=popularity)
            kinds = KINDS[rng.choice(len(KINDS), size=size, p=KIND_WEIGHTS)]
            if unordered:
                unix = END_UNIX - rng.integers(0, SPAN_SECONDS, size=size)
            else:
                elapsed = (start + np.sort(rng.random(size)) * size) / rows
                unix = END_UNIX - SPAN_SECONDS + (elapsed * SPAN_SECONDS).astype(np.int64)
            iso = np.datetime_as_string(unix.astype("datetime64[s]"), unit="s")
            as_unix = rng.random(size) < 0.2
            timestamps = np.where(as_unix, unix.astype(str), np.char.add(iso, "Z"))
            out.write(
                "".join(
                    f"bench-U{user:06d},bench-P{item:06d},{kind},{ts}\n"
                    for user, item, kind, ts in zip(users.tolist(), items.tolist(), kinds.tolist(), timestamps.tolist())
                )
            )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report_print(label: str, report) -> None:
    rate = report.rows / report.seconds if report.seconds else float("inf")
    print(
        f"{label}: {report.rows} rows in {report.seconds:.1f} s ({rate:,.0f} rows/s): "
        f"{report.created} created, {report.unchanged} unchanged, {report.rejected} rejected; "
        f"peak RSS so far {peak_rss_mb():.0f} MB"
    )


def main() -> None:
    args = arguments_parse()
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY_FILE", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".secret_key"))
    import django

    django.setup()
    from django.db import connection

    from shop.importers import interactions_import, products_import
    from shop.models import Interaction

    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as scratch:
        directory = args.dir or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        products_csv, interactions_csv = directory / "products.csv", directory / "interactions.csv"
        started = time.perf_counter()
        products_csv_write(products_csv, products=args.products, rng=rng)
        interactions_csv_write(
            interactions_csv,
            rows=args.rows,
            products=args.products,
            customers=args.customers,
            unordered=args.unordered,
            rng=rng,
        )
        print(
            f"generated {args.products} products and {args.rows} interactions "
            f"({interactions_csv.stat().st_size / 2**20:.0f} MB) in {time.perf_counter() - started:.1f} s; "
            f"peak RSS {peak_rss_mb():.0f} MB"
        )
        print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")

        deleted, _ = Interaction.objects.filter(product__product_id__startswith="bench-").delete()
        if deleted:
            print(f"deleted {deleted} interactions left by an earlier run (a fresh database gives steadier figures)")
        options = {"chunk_size": args.chunk_size} if args.chunk_size else {}
        report_print("products", products_import(path=products_csv, **options))
        report_print("interactions", interactions_import(path=interactions_csv, **options))
        if args.reimport:
            report_print("interactions again", interactions_import(path=interactions_csv, **options))
    print(f"peak RSS: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
