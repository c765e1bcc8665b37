"""Time an experiment's results at scale: 1,000,000 interactions and 100,000 assigned visitors (a benchmark, not a test).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/storefront_bench_exp \\
        .venv/bin/python bench/experiment_results.py [--visitors 100000] [--interactions 1000000] [--explain] [--keep]

Needs PostgreSQL, migrated (``manage.py migrate``); a database of its own gives the steadiest
figures. It bulk-loads (COPY: a fixture, not a test of tracking) one running experiment on
home_for_you with two arms and, for each assigned visitor, 1 + Poisson(2) impressions, clicks
carrying the experiment's context (CTR 10 % control, 11 % treatment), add-to-carts of clicked
products, orders of carted products (lines and purchase events), 14 days of pre-period history
and later unattributed views; background customers' events fill the interactions up to
``--interactions``. Then it vacuums and analyses, and times (median of ``--repeat``, 3 by default):

- the per-visitor outcomes query alone (``experiments.selectors.experiment_visitor_outcomes``);
- ``experiments.results.experiment_results``, the dict the API, the admin and ``experiment_report`` show;
- the admin's results page (``admin:experiments_experiment_results``), when the admin has one.

Every row it writes is namespaced ``bench-exp-`` (category, products, customers, orders, the
experiment key, the admin user) and deleted at the end, and rows left by an interrupted run are
deleted first; ``--keep`` leaves them, to EXPLAIN by hand. ``--explain`` prints the outcomes
query's EXPLAIN (ANALYZE, BUFFERS). Target: results in 2 s or less.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

PROJECT_DIR = Path(__file__).resolve().parent.parent
NAMESPACE = "bench-exp-"
EXPERIMENT_KEY = f"{NAMESPACE}results"
TARGET_SECONDS = 2.0
PRODUCTS = 5_000
PRE_PERIOD_DAYS = 14
RUN_DAYS = 14
BACKGROUND_DAYS = 60
CTR = {"control": 0.10, "treatment": 0.11}
CART_RATE, ORDER_RATE = 0.3, 0.35
KINDS = np.array(["view", "click", "add_to_cart", "purchase"])
KIND_WEIGHTS = np.array([0.7, 0.2, 0.07, 0.03])


def arguments_parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=100_000, help="assigned visitors of the experiment")
    parser.add_argument("--interactions", type=int, default=1_000_000, help="interactions in all (experiment and background)")
    parser.add_argument("--background-customers", type=int, default=None, help="customers outside the experiment (default visitors / 2)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each step; the median is reported")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of the outcomes query")
    parser.add_argument("--keep", action="store_true", help="leave the rows in the database afterwards")
    return parser.parse_args()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeakRss:
    """The process's highest RSS (MB) while the block runs, sampled every 10 ms (ru_maxrss only grows)."""

    def __enter__(self):
        import psutil

        self._process, self._done = psutil.Process(), threading.Event()
        self.start = self.peak = self._process.memory_info().rss / 2**20
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, self._process.memory_info().rss / 2**20)

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def timestamps_text(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds (float) as PostgreSQL timestamptz text, vectorised."""
    micros = np.round(seconds * 1e6).astype(np.int64).astype("datetime64[us]")
    return np.char.add(np.datetime_as_string(micros, unit="us"), "+00")


def copy_rows(table: str, columns: tuple[str, ...], rows) -> int:
    """COPY rows (tuples of text or None) into a table; return how many."""
    from django.db import connection

    connection.ensure_connection()
    count = 0
    with connection.connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def pks_by_name(table: str, column: str, prefix: str) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column}, id FROM {table} WHERE {column} LIKE %s", [prefix + "%"])
        return dict(cursor.fetchall())


def rows_remove() -> dict[str, int]:
    """Delete every row this benchmark wrote (children first: the database has no ON DELETE CASCADE)."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    customers = "SELECT id FROM shop_customer WHERE customer_id LIKE %s"
    experiments = "SELECT id FROM experiments_experiment WHERE key LIKE %s"
    statements = [
        ("impressions", f"DELETE FROM experiments_impression WHERE experiment_id IN ({experiments}) OR customer_id IN ({customers})", 2),
        ("assignments", f"DELETE FROM experiments_assignment WHERE experiment_id IN ({experiments}) OR customer_id IN ({customers})", 2),
        ("variants", f"DELETE FROM experiments_variant WHERE experiment_id IN ({experiments})", 1),
        ("experiments", "DELETE FROM experiments_experiment WHERE key LIKE %s", 1),
        ("order lines", f"DELETE FROM shop_orderline WHERE order_id IN (SELECT id FROM shop_order WHERE customer_id IN ({customers}))", 1),
        ("orders", f"DELETE FROM shop_order WHERE customer_id IN ({customers})", 1),
        ("interactions", f"DELETE FROM shop_interaction WHERE customer_id IN ({customers})", 1),
        ("customers", "DELETE FROM shop_customer WHERE customer_id LIKE %s", 1),
        ("products", "DELETE FROM shop_product WHERE product_id LIKE %s", 1),
        ("categories", "DELETE FROM shop_category WHERE slug LIKE %s", 1),
    ]
    deleted = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for name, sql, placeholders in statements:
            cursor.execute(sql, [NAMESPACE + "%"] * placeholders)
            deleted[name] = cursor.rowcount
    deleted["admin users"] = get_user_model().objects.filter(username__startswith=NAMESPACE).delete()[0]
    return {name: count for name, count in deleted.items() if count}


def store_fill(*, visitors: int, background: int, interactions: int, seed: int) -> dict:
    """Bulk-load the experiment and its traffic; return the row counts."""
    from django.db import connection, transaction
    from django.utils import timezone

    from experiments.models import Assignment, Experiment, Placement, Variant
    from shop.models import Category

    rng = np.random.default_rng(seed)
    now = timezone.now()
    now_s = now.timestamp()
    started_s = now_s - RUN_DAYS * 86400
    counts: dict[str, int] = {}

    with transaction.atomic():
        category = Category.objects.create(name=f"{NAMESPACE}category", slug=f"{NAMESPACE}category")
        prices = np.round(rng.gamma(2.0, 30.0, PRODUCTS) + 1, 2)
        counts["products"] = copy_rows(
            "shop_product",
            ("product_id", "title", "category_id", "description", "price", "currency", "image_url", "stock", "is_active", "created_at", "updated_at"),
            ((f"{NAMESPACE}P{index:05d}", f"Bench product {index}", category.pk, "", f"{price:.2f}", "USD", "", None, True, now, now)
             for index, price in enumerate(prices.tolist())),
        )  # fmt: skip
        product_pk = np.array([pk for _, pk in sorted(pks_by_name("shop_product", "product_id", NAMESPACE).items())])
        customers = visitors + background
        counts["customers"] = copy_rows(
            "shop_customer", ("customer_id", "created_at"), ((f"{NAMESPACE}C{index:07d}", now) for index in range(customers))
        )
        customer_pk = np.array([pk for _, pk in sorted(pks_by_name("shop_customer", "customer_id", NAMESPACE).items())])

        # Running where nothing else runs (one experiment a placement); paused, which reads the same, when all are taken.
        taken = set(Experiment.objects.filter(status=Experiment.Status.RUNNING).values_list("placement", flat=True))
        free = [placement for placement in Placement.values if placement not in taken]
        experiment = Experiment.objects.create(
            key=EXPERIMENT_KEY, name="Bench: results at scale", placement=free[0] if free else Placement.HOME_FOR_YOU,
            status=Experiment.Status.RUNNING if free else Experiment.Status.PAUSED, started_at=now - timedelta(days=RUN_DAYS),
        )  # fmt: skip
        arms = [
            Variant.objects.create(experiment=experiment, key="control", name="control", is_control=True, strategy="hybrid"),
            Variant.objects.create(experiment=experiment, key="treatment", name="treatment", strategy="content"),
        ]
        popularity = 1.0 / np.arange(1, PRODUCTS + 1) ** 0.9
        popularity /= popularity.sum()

        # Assignments: the first `visitors` customers, split 50/50, assigned over the run.
        arm = (rng.random(visitors) < 0.5).astype(int)
        assigned_s = started_s + rng.random(visitors) * (now_s - 3600 - started_s)
        assigned_text = timestamps_text(assigned_s)
        counts["assignments"] = copy_rows(
            "experiments_assignment",
            ("experiment_id", "customer_id", "variant_id", "assigned_at", "request_id"),
            ((experiment.pk, int(customer_pk[v]), arms[arm[v]].pk, assigned_text[v], f"{NAMESPACE}r{v:07d}x0") for v in range(visitors)),
        )

        # Impressions: the first list at the assignment, the others later in the run.
        lists = 1 + rng.poisson(2.0, visitors)
        owner = np.repeat(np.arange(visitors), lists)
        nth = np.arange(owner.size) - np.repeat(np.cumsum(lists) - lists, lists)
        shown_s = np.where(nth == 0, assigned_s[owner], assigned_s[owner] + rng.random(owner.size) * (now_s - assigned_s[owner]))
        shown_text = timestamps_text(shown_s)
        counts["impressions"] = copy_rows(
            "experiments_impression",
            ("customer_id", "request_id", "placement", "experiment_id", "variant_id", "strategy", "model_version",
             "positions", "product_ids", "timestamp", "event_id"),
            ((int(customer_pk[v]), f"{NAMESPACE}r{v:07d}x{n}", experiment.placement, experiment.pk, arms[arm[v]].pk, arms[arm[v]].strategy, 1,
              "[0, 1, 2, 3]", "[]", shown_text[i], f"{NAMESPACE}i{v:07d}x{n}")
             for i, (v, n) in enumerate(zip(owner.tolist(), nth.tolist()))),
        )  # fmt: skip

        # Clicks on those lists (context names the experiment), add-to-carts, orders.
        ctr = np.where(arm[owner] == 1, CTR["treatment"], CTR["control"])
        clicked = rng.random(owner.size) < ctr
        click_list = np.flatnonzero(clicked)
        click_visitor, click_nth = owner[click_list], nth[click_list]
        click_s = np.minimum(shown_s[click_list] + rng.random(click_list.size) * 60, now_s)
        click_product = rng.choice(PRODUCTS, click_list.size, p=popularity)
        carted = rng.random(click_list.size) < CART_RATE
        cart_s = np.minimum(click_s + rng.random(click_list.size) * 7200, now_s)
        ordered = carted & (rng.random(click_list.size) < ORDER_RATE)
        order_s = np.minimum(cart_s + rng.random(click_list.size) * 86400, now_s)
        n_clicks, n_carts, n_orders = int(click_list.size), int(carted.sum()), int(ordered.sum())

        # Pre-period history and later unattributed views of the visitors; background events fill the rest.
        pre_owner = np.repeat(np.arange(visitors), rng.poisson(3.0, visitors))
        pre_s = assigned_s[pre_owner] - rng.random(pre_owner.size) * PRE_PERIOD_DAYS * 86400
        post_owner = np.repeat(np.arange(visitors), rng.poisson(1.0, visitors))
        post_s = assigned_s[post_owner] + rng.random(post_owner.size) * (now_s - assigned_s[post_owner])
        n_background = interactions - n_clicks - n_carts - n_orders - pre_owner.size - post_owner.size
        if n_background < 0:
            sys.exit(f"--interactions {interactions:,} is fewer than the experiment's own events; raise it.")
        background_customer = rng.integers(0, customers, n_background)
        background_s = now_s - rng.random(n_background) * BACKGROUND_DAYS * 86400
        background_kind = KINDS[rng.choice(4, n_background, p=KIND_WEIGHTS)]

        # Orders first: the purchase events name their order numbers.
        order_rows = np.flatnonzero(ordered)
        order_number = {int(row): f"{NAMESPACE}O{index:07d}" for index, row in enumerate(order_rows)}
        quantity = 1 + (rng.random(click_list.size) < 0.2)
        order_text = timestamps_text(order_s)
        counts["orders"] = copy_rows(
            "shop_order",
            ("number", "customer_id", "created_at", "currency", "total"),
            ((order_number[row], int(customer_pk[click_visitor[row]]), order_text[row], "USD",
              f"{prices[click_product[row]] * quantity[row]:.2f}") for row in order_rows.tolist()),
        )  # fmt: skip
        order_pk = pks_by_name("shop_order", "number", NAMESPACE)
        counts["order lines"] = copy_rows(
            "shop_orderline",
            ("order_id", "product_id", "quantity", "unit_price"),
            ((order_pk[order_number[row]], int(product_pk[click_product[row]]), int(quantity[row]), f"{prices[click_product[row]]:.2f}")
             for row in order_rows.tolist()),
        )  # fmt: skip

        click_text, cart_text = timestamps_text(click_s), timestamps_text(cart_s)
        pre_text, post_text, background_text = timestamps_text(pre_s), timestamps_text(post_s), timestamps_text(background_s)
        pre_kind = KINDS[rng.choice(4, pre_owner.size, p=KIND_WEIGHTS)]
        pre_product, post_product = rng.choice(PRODUCTS, pre_owner.size, p=popularity), rng.choice(PRODUCTS, post_owner.size, p=popularity)
        background_product = rng.choice(PRODUCTS, n_background, p=popularity)

        def context(row: int, order: str | None = None) -> str:
            v = int(click_visitor[row])
            variant = arms[arm[v]]
            extra = f', "order": "{order}"' if order else ""
            return (f'{{"request_id": "{NAMESPACE}r{v:07d}x{int(click_nth[row])}", "placement": "{experiment.placement}", "experiment": "{EXPERIMENT_KEY}", '
                    f'"variant": "{variant.key}", "position": {row % 4}, "strategy": "{variant.strategy}"{extra}}}')  # fmt: skip

        def events():
            for row in range(n_clicks):
                customer, product = int(customer_pk[click_visitor[row]]), int(product_pk[click_product[row]])
                yield customer, product, "click", click_text[row], 1, context(row), None
                if carted[row]:
                    yield customer, product, "add_to_cart", cart_text[row], 1, context(row), None
                if ordered[row]:
                    yield customer, product, "purchase", order_text[row], int(quantity[row]), context(row, order_number[row]), None
            for rows, owners, texts, kinds, products in (
                (pre_owner.size, pre_owner, pre_text, pre_kind, pre_product),
                (post_owner.size, post_owner, post_text, None, post_product),
            ):
                for index in range(rows):
                    yield (int(customer_pk[owners[index]]), int(product_pk[products[index]]),
                           kinds[index] if kinds is not None else "view", texts[index], 1, "{}", None)  # fmt: skip
            for index in range(n_background):
                yield (int(customer_pk[background_customer[index]]), int(product_pk[background_product[index]]),
                       background_kind[index], background_text[index], 1, "{}", None)  # fmt: skip

        counts["interactions"] = copy_rows(
            "shop_interaction", ("customer_id", "product_id", "kind", "timestamp", "quantity", "context", "event_id"), events()
        )
        counts.update(clicks=n_clicks, add_to_carts=n_carts, purchases=n_orders, pre_period=int(pre_owner.size))
    assert Assignment.objects.filter(experiment=experiment).count() == visitors
    with connection.cursor() as cursor:
        # The steady state autovacuum keeps a live database in: statistics and a fresh visibility map.
        cursor.execute("VACUUM ANALYZE shop_interaction, experiments_impression, experiments_assignment, shop_order, shop_orderline, shop_customer")
    return counts


def timed(repeat: int, call) -> tuple[float, list[float], object]:
    times, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times, value


def outcomes_explain(experiment) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) the outcomes query exactly as the selector sends it."""
    from django.db import connection

    from experiments.selectors import experiment_visitor_outcomes

    captured = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        experiment_visitor_outcomes(experiment=experiment)
    sql, params = next((sql, params) for sql, params in captured if "WITH a AS" in sql)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def admin_page_timer(experiment):
    """Return a call that renders the admin results page, or None when the admin has none."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    try:
        url = reverse("admin:experiments_experiment_results", args=[experiment.pk])
    except NoReverseMatch:
        return None, None
    settings.ALLOWED_HOSTS = ["*"]
    # Plain static storage: without collectstatic the manifest storage cannot name the admin's CSS.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    user = get_user_model().objects.create_superuser(f"{NAMESPACE}admin", "bench@example.com", None)
    client = Client()
    client.force_login(user)

    def render():
        response = client.get(url)
        assert response.status_code == 200, (response.status_code, response.content[:300])
        return len(response.content)

    return url, render


def main() -> None:
    args = arguments_parse()
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY_FILE", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".secret_key"))
    import django

    django.setup()
    from django.db import DatabaseError, connection

    from experiments.models import Experiment
    from experiments.results import experiment_results
    from experiments.selectors import experiment_visitor_outcomes

    if connection.vendor != "postgresql":
        sys.exit("bench/experiment_results.py needs PostgreSQL: set DATABASE_URL (see the docstring).")
    try:
        Experiment.objects.exists()
    except DatabaseError:
        sys.exit(f"The database {connection.settings_dict['NAME']} is not migrated: run `manage.py migrate` against it first.")
    print(f"database: postgresql {connection.settings_dict['NAME']} on {connection.settings_dict['HOST'] or 'localhost'}")
    leftovers = rows_remove()
    if leftovers:
        print(f"deleted rows left by an earlier run: {leftovers}")

    try:
        started = time.perf_counter()
        background = args.visitors // 2 if args.background_customers is None else args.background_customers
        counts = store_fill(visitors=args.visitors, background=background, interactions=args.interactions, seed=args.seed)
        print(f"loaded and analysed in {time.perf_counter() - started:.1f} s: "
              + ", ".join(f"{value:,} {name}" for name, value in counts.items()))  # fmt: skip
        experiment = Experiment.objects.get(key=EXPERIMENT_KEY)

        experiment_visitor_outcomes(experiment=experiment)  # warm: the plan, the buffers
        with PeakRss() as memory:
            query_median, query_times, outcomes = timed(args.repeat, lambda: experiment_visitor_outcomes(experiment=experiment))
            results_median, results_times, results = timed(args.repeat, lambda: experiment_results(experiment=experiment))
        print(f"outcomes query:     median {query_median:.3f} s of {', '.join(f'{t:.3f}' for t in query_times)} ({len(outcomes):,} visitors)")
        print(f"experiment_results: median {results_median:.3f} s of {', '.join(f'{t:.3f}' for t in results_times)} "
              f"(stats and dict: {results_median - query_median:.3f} s)")  # fmt: skip
        treatment = next(row for row in results["variants"] if not row["is_control"])
        lift = treatment["lifts"]["ctr"]
        print(f"  results: {results['visitors']:,} visitors, CTR lift {lift['relative']:+.1%} "
              f"[{lift['relative_ci'][0]:+.1%}, {lift['relative_ci'][1]:+.1%}] (true +10.0%), decision {results['decision']}, "
              f"SRM p {results['srm']['p']:.3f}")  # fmt: skip
        url, render = admin_page_timer(experiment)
        if render is None:
            print("admin results page: skipped (no admin:experiments_experiment_results URL)")
        else:
            render()  # warm: templates
            page_median, page_times, size = timed(args.repeat, render)
            print(f"admin results page: median {page_median:.3f} s of {', '.join(f'{t:.3f}' for t in page_times)} ({size / 1024:,.0f} KiB, {url})")
        print(f"peak RSS: {peak_rss_mb():,.0f} MB for the whole run (the load's arrays included); while timing the results "
              f"{memory.peak:,.0f} MB, {memory.peak - memory.start:+,.0f} MB above its start")  # fmt: skip
        verdict = "PASS" if results_median <= TARGET_SECONDS else "FAIL"
        print(f"{verdict}  experiment_results median {results_median:.3f} s <= {TARGET_SECONDS:.0f} s "
              f"at {args.visitors:,} visitors / {counts['interactions']:,} interactions")  # fmt: skip
        if args.explain:
            print(outcomes_explain(experiment))
    finally:
        if args.keep:
            print(f"kept the rows (namespace {NAMESPACE!r}); the next run deletes them first")
        else:
            started = time.perf_counter()
            removed = rows_remove()
            print(f"removed the benchmark's rows in {time.perf_counter() - started:.1f} s: {removed}")


if __name__ == "__main__":
    main()
