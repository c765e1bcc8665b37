"""Time `manage.py retrain` step by step on the 10M-event demo store in PostgreSQL, with its peak RSS.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/retrain_bench \\
        .venv/bin/python bench/retrain_scale.py [--data DIR] [--runs 2] [--load bulk|import] [--replace]

The store is the demo generator's (`generate_demo_data --products 100000 --customers 1000000
--interactions 10000000 --out DIR`; written to DIR, default /tmp/demo_big, when DIR has no CSV
files yet). It is loaded once into the database DATABASE_URL names, and later runs find it there:

- `--load bulk` (the default): the products through the import service (`products_import`, 100,000
  rows), the 10M interactions with one `COPY` into an unlogged staging table and two set-based
  INSERTs (customers, then interactions joined to their customer and product), with the
  interaction table's secondary indexes dropped during the insert and built again after, and its
  foreign-key triggers skipped (`session_replication_role = replica`: the join already proves both keys):
  3.5 minutes here. Rows get no `event_id` (the importer's replay key), which training never reads.
- `--load import`: both files through `import_products` / `import_interactions`, as a store would.
  With the importer's COPY path that took 10 minutes here (601 s for the 10M interactions, every
  index of the table kept up to date row by row), so the bench defaults to the bulk path.

A store other than the demo one is never touched: the load refuses a database holding
products or interactions unless `--replace` is given, which deletes them and loads the demo store
again (also when it is there already).

Each run starts `manage.py retrain` as its own process, prints each step's seconds (as the
command reports them) and the process's RSS: "peak MB" is the highest RSS sampled (every 20 ms)
while the step ran, and the last line the whole command's wall time and the kernel's peak RSS of
the retrain processes run so far. The load average is printed before and after each run.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

PROJECT_DIR = Path(__file__).resolve().parent.parent
PRODUCTS, CUSTOMERS, INTERACTIONS = 100_000, 1_000_000, 10_000_000
STEP_LINE = re.compile(r"^\s+(?P<name>[a-z_]+)\s+(?P<seconds>[0-9.]+) s$")
MB = 1024 * 1024


def arguments_parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/demo_big"), help="folder of the demo CSV files")
    parser.add_argument("--runs", type=int, default=2, help="retrain runs to time (default 2)")
    parser.add_argument("--load", choices=("bulk", "import"), default="bulk", help="how to load the store (default bulk)")
    parser.add_argument("--replace", action="store_true", help="delete the database's store and load it again")
    parser.add_argument("--load-only", action="store_true", help="load the store and stop")
    return parser.parse_args()


def demo_files(folder: Path) -> tuple[Path, Path]:
    """Return the demo CSV files in ``folder``, generating them first when missing."""
    products, interactions = folder / "products.csv", folder / "interactions.csv"
    if not (products.exists() and interactions.exists()):
        from shop.demo.store import DemoStoreOptions, write_demo_store

        print(f"generating the demo store into {folder} ...", flush=True)
        options = DemoStoreOptions(products=PRODUCTS, customers=CUSTOMERS, interactions=INTERACTIONS)
        summary = write_demo_store(folder, options)
        print(f"generated in {summary.seconds:.0f} s", flush=True)
    return products, interactions


def store_counts() -> tuple[int, int]:
    from shop.models import Interaction, Product

    return Product.objects.count(), Interaction.objects.count()


def store_clear() -> None:
    """Delete every interaction, product, customer and category (only with --replace)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE shop_interaction, shop_orderline, shop_order, experiments_impression, experiments_assignment, "
            "shop_product, shop_customer, shop_category CASCADE"
        )


def interactions_bulk_load(path: Path) -> None:
    """Load the interactions CSV with COPY and two set-based INSERTs (see the module docstring)."""
    from django.db import connection, transaction

    started = time.perf_counter()

    def done(what: str) -> None:
        print(f"  {what}: {time.perf_counter() - started:.0f} s", flush=True)

    with transaction.atomic(), connection.cursor() as cursor:
        # The rows come from a join on both keys, so the foreign-key triggers (20M checks) are skipped.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_interaction_staging (user_id text, product_id text, kind text, ts timestamptz)"
        )
        with path.open("rb") as source, cursor.copy(
            "COPY bench_interaction_staging FROM STDIN (FORMAT csv, HEADER true)"
        ) as copy:
            while block := source.read(1 << 20):
                copy.write(block)
        done("COPY into the staging table")
        cursor.execute(
            "INSERT INTO shop_customer (customer_id, created_at) "
            "SELECT DISTINCT user_id, now() FROM bench_interaction_staging ON CONFLICT (customer_id) DO NOTHING"
        )
        done("customers")
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'shop_interaction' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'shop_interaction'::regclass)"
        )
        secondary = cursor.fetchall()
        for name, _ in secondary:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(
            "INSERT INTO shop_interaction (customer_id, product_id, kind, timestamp, quantity, context) "
            "SELECT c.id, p.id, s.kind, s.ts, 1, '{}'::jsonb FROM bench_interaction_staging s "
            "JOIN shop_customer c ON c.customer_id = s.user_id JOIN shop_product p ON p.product_id = s.product_id"
        )
        done("interactions")
        for _, definition in secondary:
            cursor.execute(definition)
        done("indexes")
        cursor.execute("DROP TABLE bench_interaction_staging")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE shop_customer")
        cursor.execute("ANALYZE shop_interaction")


def store_load(products_csv: Path, interactions_csv: Path, *, how: str) -> None:
    from django.core.management import call_command

    from shop.importers import products_import

    started = time.perf_counter()
    if how == "import":
        call_command("import_products", str(products_csv))
        call_command("import_interactions", str(interactions_csv))
    else:
        report = products_import(path=products_csv)
        print(f"products: {report.summary()}", flush=True)
        interactions_bulk_load(interactions_csv)
    products, interactions = store_counts()
    print(f"loaded {products:,} products and {interactions:,} interactions in {time.perf_counter() - started:.0f} s ({how})", flush=True)


class ChildMemory:
    """Sample a process's RSS (children included) every 20 ms; ``take()`` returns the peak since the last take."""

    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _rss(self) -> int:
        try:
            return self.process.memory_info().rss + sum(child.memory_info().rss for child in self.process.children(recursive=True))
        except psutil.Error:
            return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.02)

    def take(self) -> float:
        peak, self.peak = self.peak, self._rss()
        return peak / MB

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def retrain_run() -> None:
    """Run `manage.py retrain` once and print its steps with their seconds and peak RSS."""
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    started = time.perf_counter()
    command = [sys.executable, str(PROJECT_DIR / "manage.py"), "retrain"]
    process = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    memory = ChildMemory(process.pid)
    print(f"{'step':<18}{'seconds':>9}{'peak MB':>10}")
    for line in process.stdout:
        step = STEP_LINE.match(line.rstrip("\n"))
        if step:
            print(f"{step['name']:<18}{float(step['seconds']):>9.2f}{memory.take():>10,.0f}", flush=True)
        elif line.strip() and not line.startswith("Training") and " INFO " not in line:
            print(f"  {line.rstrip()}")
    process.wait()
    memory.stop()
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{'retrain (wall)':<18}{wall:>9.2f}{peak:>10,.0f}  exit {process.returncode}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)


def main() -> None:
    args = arguments_parse()
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY_FILE", str(PROJECT_DIR / ".secret_key"))
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("retrain_scale measures PostgreSQL: set DATABASE_URL to a database of its own")
    print(f"database: postgresql {connection.settings_dict['NAME']}; machine: {os.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GiB")

    products, interactions = store_counts()
    if args.replace or (products, interactions) != (PRODUCTS, INTERACTIONS):
        if (products or interactions) and not args.replace:
            sys.exit(f"the database holds {products:,} products and {interactions:,} interactions, not the demo store: "
                     "use a database of its own, or --replace to delete them")
        products_csv, interactions_csv = demo_files(args.data)
        if products or interactions:
            store_clear()
        store_load(products_csv, interactions_csv, how=args.load)
    else:
        print(f"store already loaded: {products:,} products, {interactions:,} interactions")
    connection.close()
    if args.load_only:
        return
    for run in range(1, args.runs + 1):
        print(f"\nrun {run} of {args.runs}")
        retrain_run()


if __name__ == "__main__":
    main()
