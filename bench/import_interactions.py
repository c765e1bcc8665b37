"""Benchmark the interactions CSV import: time and peak memory for a million generated rows.

Generates a catalog and N interactions as CSV files (in blocks, so generation itself stays
small), imports both into the configured database through the import services, and prints
rows, seconds, rows/s and the process's peak RSS. On PostgreSQL it also times a plain COPY of
the same file into an unlogged table without indexes, the physical limit the import is held
against. Not a test: run it by hand, e.g.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/storefront_bench_imp \\
        .venv/bin/python bench/import_interactions.py --rows 1000000 --reimport

Re-running it first deletes the interactions of its own `bench-` products, so every run
measures creation; `--reimport` then imports the same file again (every row unchanged).
`--orm` writes through the ORM instead of COPY, as on SQLite.
"""

import argparse
import multiprocessing
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
    parser.add_argument("--orm", action="store_true", help="write through the ORM, not COPY (PostgreSQL)")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time inserting the imported rows into an empty copy of the interactions table (PostgreSQL)",
    )
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


def plain_copy_print(connection, path: Path, rows: int) -> None:
    """Time COPY of the file as it is into an unlogged table with no index or constraint: the floor."""
    with connection.cursor() as cursor, open(path, "rb") as handle:
        cursor.execute("DROP TABLE IF EXISTS bench_plain_copy")
        cursor.execute("CREATE UNLOGGED TABLE bench_plain_copy (user_id text, product_id text, kind text, ts text)")
        started = time.perf_counter()
        with cursor.copy("COPY bench_plain_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            while block := handle.read(1 << 20):
                copy.write(block)
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_plain_copy")
    print(f"plain COPY of the same file into a table without indexes: {rows} rows in {seconds:.2f} s ({rows / seconds:,.0f} rows/s)")


def database_floor_print(connection) -> None:
    """Time one INSERT ... SELECT of the imported rows into an empty copy of the table, indexes and foreign keys included.

    What the database itself spends storing the rows, with no parsing, validation or round
    trips: the floor of any import into this table, well above a plain COPY's.
    """
    from django.db import transaction

    from shop.models import Customer, Interaction, Product

    table = connection.ops.quote_name(Interaction._meta.db_table)
    columns = "customer_id, product_id, kind, timestamp, quantity, context, event_id"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor")
        cursor.execute(f"CREATE TABLE bench_floor (LIKE {table} INCLUDING ALL)")
        for column, model in (("customer_id", Customer), ("product_id", Product)):
            cursor.execute(
                f"ALTER TABLE bench_floor ADD FOREIGN KEY ({column}) REFERENCES {model._meta.db_table} (id) "
                "DEFERRABLE INITIALLY DEFERRED"
            )
        cursor.execute(
            f"CREATE TEMPORARY TABLE bench_floor_rows AS SELECT {columns} FROM {table} "
            f"WHERE event_id LIKE 'csv-%%' ORDER BY id"
        )
        started = time.perf_counter()
        with transaction.atomic():
            cursor.execute(
                f"INSERT INTO bench_floor ({columns}) SELECT {columns} FROM bench_floor_rows ON CONFLICT (event_id) DO NOTHING"
            )
            rows = cursor.rowcount
        seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'bench_floor'")
        (indexes,) = cursor.fetchone()
        cursor.execute("DROP TABLE bench_floor, bench_floor_rows")
    print(
        f"database floor: INSERT ... SELECT of the {rows} stored rows into an empty copy of the table "
        f"({indexes} indexes, 2 foreign keys): {seconds:.1f} s ({rows / seconds:,.0f} rows/s)"
    )


def csv_files_write(directory: Path, args: argparse.Namespace) -> None:
    """Write both files (run in a child process, so the figures below are the import's memory alone)."""
    rng = np.random.default_rng(args.seed)
    products_csv_write(directory / "products.csv", products=args.products, rng=rng)
    interactions_csv_write(
        directory / "interactions.csv",
        rows=args.rows,
        products=args.products,
        customers=args.customers,
        unordered=args.unordered,
        rng=rng,
    )


def main() -> None:
    args = arguments_parse()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as scratch:
        directory = args.dir or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        writer = multiprocessing.get_context("fork").Process(target=csv_files_write, args=(directory, args))
        writer.start()
        writer.join()
        if writer.exitcode:
            sys.exit(f"generating the files failed (exit {writer.exitcode})")
        products_csv, interactions_csv = directory / "products.csv", directory / "interactions.csv"
        print(
            f"generated {args.products} products and {args.rows} interactions "
            f"({interactions_csv.stat().st_size / 2**20:.0f} MB) in {time.perf_counter() - started:.1f} s"
        )
        import_and_print(args, products_csv, interactions_csv)


def import_and_print(args: argparse.Namespace, products_csv: Path, interactions_csv: Path) -> None:
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY_FILE", str(PROJECT_DIR / ".secret_key"))
    import django

    django.setup()
    from django.db import connection

    from shop.importers import interactions_import, products_import
    from shop.models import Interaction

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; load average {load_average()}")
    deleted, _ = Interaction.objects.filter(product__product_id__startswith="bench-").delete()
    if deleted:
        print(f"deleted {deleted} interactions left by an earlier run (a fresh database gives steadier figures)")
    options = {"chunk_size": args.chunk_size} if args.chunk_size else {}
    if args.orm:
        options["use_copy"] = False
    report_print("products", products_import(path=products_csv, **options))
    report_print("interactions", interactions_import(path=interactions_csv, **options))
    if args.reimport:
        report_print("interactions again", interactions_import(path=interactions_csv, **options))
    if connection.vendor == "postgresql":
        plain_copy_print(connection, interactions_csv, args.rows)
        if args.floor:
            database_floor_print(connection)
    print(f"peak RSS: {peak_rss_mb():.0f} MB; load average {load_average()}")


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
