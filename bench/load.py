"""Load benchmark of the recommendation and catalog APIs: gunicorn on loopback, latency percentiles and throughput.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/storefront REDIS_URL=redis://127.0.0.1:6379/0
    export DJANGO_SECRET_KEY_FILE=.secret_key          # gunicorn runs with DEBUG off
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py collectstatic --noinput
    .venv/bin/python manage.py generate_demo_data      # the demo store: 5,000 products, 2,000 customers
    .venv/bin/python manage.py retrain                 # an active model
    .venv/bin/python bench/load.py [--requests 2000] [--concurrency 8] [--workers 4] [--threads 2] [--experiment] [--catalog]

It needs the store and an active model in the database DATABASE_URL names (it says so and
stops when they are missing), and Redis (REDIS_URL) for figures that mean anything: without
it every gunicorn worker has its own local-memory cache. It starts gunicorn (gthread workers)
on a free loopback port with the same environment, then measures, each with ``--requests``
requests from ``--concurrency`` client threads (spread over ``--client-processes`` processes)
holding keep-alive connections (http.client):

- ``trivial``: ``GET /health``, a DRF view that touches nothing: the framework's ceiling;
- ``similar uncached`` / ``for-you uncached``: a different product / returning customer on every
  request, after deleting the ``rec:*`` lists and ``activity:*`` tokens from the cache, so every
  request seeds its customer's token and computes its list;
- ``similar cached`` / ``for-you cached``: 100 products / customers asked once beforehand,
  then requested over and over (every response is checked to say ``"source":"cache"``).
  A cached for-you reads the customer's activity token from Redis (``shop.activity``: one
  round trip, no database query), which names the key, then the list from the worker's
  own LRU; a cached similar needs no token.
- ``for-you cached, in experiment`` (with ``--experiment``): the same 100 customers and the same k
  asking for the same endpoint in a placement where an experiment runs (``cart_for_you``, two arms,
  all traffic; created before the run and deleted with its assignments afterwards). Each visitor
  is assigned at its warm-up request, so what is measured is a cached list plus the experiment's
  share of the hot path: the running experiment (per-process), the visitor's stored variant
  (per-process LRU, else Redis) and the variant's cache key. Reported next to ``for-you cached``
  as the experiment's overhead; the goal is within 10 % of its server CPU per request.
- ``catalog`` (with ``--catalog``): the catalog requests every shopper makes, in turn: the
  storefront's first page (``ordering=popularity&page=1&page_size=24``, as the storefront asks
  for it), a category page whose category has sub-categories, each other sort order, page 2,
  a product's page (100 products), a search (10 words) and the category list; about 120
  distinct URLs, each asked beforehand as the cached lists are. The demo store's categories
  are flat, so the run files four of them under a parent category (``bench-load-group``) for
  its duration and puts them back afterwards. Reported side by side with the cached
  recommendation lists; the goal is at least a cached for-you list's throughput.
- ``catalog uncached`` (with ``--catalog``): product list pages no request asked before (every
  sort order's later pages, every category's pages), so each one is read from the database.

Customers are returning storefront visitors: each request carries a signed visitor cookie
naming a demo customer, as the browser of that customer would. Latency is measured by the
client (request written to body read), so it includes the loopback round trip and the
client's own share of the two CPUs; two client processes keep one client GIL from queueing
every response behind the others. "server CPU ms/req"
is the gunicorn workers' CPU time over the run divided by its requests (PostgreSQL and
Redis not included): unlike latency it hardly moves when something else loads the machine.
The load average before and after the run is printed, as other work on the machine skews
every figure, so the trivial and cached scenarios run in ``--rounds`` interleaved rounds and
the round with the median throughput is reported for each.

Targets (issue 4): cached similar and for-you p99 <= 15 ms and >= 60 % of the trivial
endpoint's throughput; uncached for-you p99 <= 50 ms; with ``--experiment``, the in-experiment
list's server CPU per request within 10 % of the plain one's; with ``--catalog`` (issue 13),
the catalog mix's throughput at least the cached for-you list's. Exit status 1 when one is missed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY_FILE", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".secret_key"))

TARGET_CACHED_P99_MS = 15.0
TARGET_CACHED_SHARE_OF_TRIVIAL = 0.60
TARGET_UNCACHED_FOR_YOU_P99_MS = 50.0
TARGET_EXPERIMENT_OVERHEAD = 0.10
WARM_SET = 100
EXPERIMENT_KEY = "bench-load-experiment"
EXPERIMENT_PLACEMENT = "cart_for_you"  # the same for-you list as the home page's, where nothing else runs
IN_EXPERIMENT = "for-you cached, in experiment"
CATALOG = "catalog"
CATALOG_UNCACHED = "catalog uncached"
CATALOG_GROUP_SLUG = "bench-load-group"
CATALOG_GROUP_CHILDREN = 4
CATALOG_VISITORS = 200
CATALOG_PAGE = "page_size=24"  # the storefront always names its page size
CATALOG_SORTS = ["newest", "price", "-price", "title"]  # the storefront's other sort orders (its default is popularity)
CATALOG_SEARCHES = ["laptop", "wireless", "coffee", "black", "steel", "travel", "usb-c", "cotton", "pro", "camera"]


@dataclass
class Scenario:
    name: str
    requests: list[tuple[str, str]]  # (path, visitor cookie header)
    expect_source: str | None  # "cache" / "model": every response must say so


@dataclass
class Result:
    name: str
    requests: int
    concurrency: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms: float  # gunicorn workers' CPU time per request (database and Redis not included)
    errors: int
    wrong_source: int


def percentile(sorted_values: list[float], share: float) -> float:
    """Return the nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(share * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def workers_cpu_seconds(server: subprocess.Popen | None) -> float:
    if server is None:
        return 0.0
    total = 0.0
    for worker in psutil.Process(server.pid).children():
        times = worker.cpu_times()
        total += times.user + times.system
    return total


def client_process(port: int, slices: list[list[tuple[str, str]]], expected: bytes | None, barrier, results) -> None:
    """Send each slice from its own thread on a keep-alive connection; report (latencies, errors, wrong, samples)."""
    latencies: list[float] = []
    problems = {"errors": 0, "wrong_source": 0}
    samples: list[str] = []
    lock = threading.Lock()
    go = threading.Event()
    ready = threading.Barrier(len(slices) + 1)

    def client(requests: list[tuple[str, str]]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        ready.wait()
        go.wait()
        for path, cookie in requests:
            began = time.perf_counter()
            try:
                connection.request("GET", path, headers={"Cookie": cookie, "Accept": "application/json"})
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                with lock:
                    problems["errors"] += 1
                    samples.append(f"{path}: {type(exc).__name__} {exc}")
                continue
            mine.append(time.perf_counter() - began)
            if response.status != 200:
                with lock:
                    problems["errors"] += 1
                    samples.append(f"{path}: HTTP {response.status} {body[:200]!r}")
            elif expected is not None and expected not in body:
                with lock:
                    problems["wrong_source"] += 1
                    samples.append(f"{path}: not {expected.decode()}: {body[-120:]!r}")
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(requests,), daemon=True) for requests in slices]
    for thread in threads:
        thread.start()
    ready.wait()
    barrier.wait()
    go.set()
    for thread in threads:
        thread.join()
    results.put((latencies, problems["errors"], problems["wrong_source"], samples[:5]))


def run_load(
    port: int, scenario: Scenario, concurrency: int, server: subprocess.Popen | None = None, *, processes: int = 2
) -> Result:
    """Send the scenario's requests from ``concurrency`` threads spread over ``processes`` client processes.

    Every thread holds its own keep-alive connection. Several processes keep the client's
    own GIL from adding to the measured latency.
    """
    expected = f'"source":"{scenario.expect_source}"'.encode() if scenario.expect_source else None
    processes = max(1, min(processes, concurrency))
    slices = [scenario.requests[slot::concurrency] for slot in range(concurrency)]
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes + 1), context.Queue()
    children = [
        context.Process(target=client_process, args=(port, slices[index::processes], expected, barrier, results), daemon=True)
        for index in range(processes)
    ]
    for child in children:
        child.start()
    cpu_before = workers_cpu_seconds(server)
    barrier.wait()
    began = time.perf_counter()
    reports = [results.get() for _ in children]
    seconds = time.perf_counter() - began
    cpu = workers_cpu_seconds(server) - cpu_before
    for child in children:
        child.join()
    values = sorted(value * 1000 for report in reports for value in report[0])
    for sample in [sample for report in reports for sample in report[3]][:5]:
        print(f"{scenario.name}: {sample}", file=sys.stderr)
    return Result(
        name=scenario.name,
        requests=len(scenario.requests),
        concurrency=concurrency,
        seconds=round(seconds, 3),
        requests_per_second=round(len(values) / seconds, 1),
        p50_ms=round(percentile(values, 0.50), 2),
        p95_ms=round(percentile(values, 0.95), 2),
        p99_ms=round(percentile(values, 0.99), 2),
        max_ms=round(values[-1], 2) if values else float("nan"),
        server_cpu_ms=round(cpu * 1000 / max(len(values), 1), 3),
        errors=sum(report[1] for report in reports),
        wrong_source=sum(report[2] for report in reports),
    )


def get(port: int, path: str, cookie: str = "") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_until_up(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn exited with status {process.returncode}")
        try:
            if get(port, "/health")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("gunicorn did not answer /health within a minute")


def store_summary() -> dict:
    """Check the database holds a store and an active model; return what the run is about."""
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from recommendations.models import ModelVersion
    from shop.models import Customer, Interaction, Product

    version = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
    products = Product.objects.count()
    if not products or version is None:
        sys.exit(
            "bench/load.py needs the demo store and an active model in the database DATABASE_URL names:\n"
            "  .venv/bin/python manage.py migrate && .venv/bin/python manage.py generate_demo_data "
            "&& .venv/bin/python manage.py retrain"
        )
    from experiments.models import Experiment

    running = Experiment.objects.filter(status=Experiment.Status.RUNNING, placement="home_for_you").exclude(key=EXPERIMENT_KEY).first()
    if running is not None:
        print(f"note: experiment '{running.key}' runs on home_for_you, so the plain for-you scenarios are inside it", file=sys.stderr)
    return {
        "database": connection.vendor,
        "cache": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1],
        "products": products,
        "customers": Customer.objects.count(),
        "interactions": Interaction.objects.count(),
        "model_version": version.pk,
        "cpus": os.cpu_count(),
    }


def visitor_cookie(customer_id: str) -> str:
    """Return the Cookie header a returning storefront visitor who is ``customer_id`` sends."""
    from django.conf import settings
    from django.http import HttpResponse

    from shop.middleware import VISITOR_COOKIE_SALT

    response = HttpResponse()
    response.set_signed_cookie(settings.VISITOR_COOKIE_NAME, customer_id, salt=VISITOR_COOKIE_SALT)
    return f"{settings.VISITOR_COOKIE_NAME}={response.cookies[settings.VISITOR_COOKIE_NAME].value}"


def recommendation_cache_clear() -> None:
    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("rec:*")
        cache.delete_pattern("activity:*")
    else:
        print("note: no Redis (REDIS_URL unset): each worker caches on its own and the uncached runs may hit", file=sys.stderr)


def bench_experiment_start() -> None:
    """Start a two-arm experiment on EXPERIMENT_PLACEMENT for the run (first removing one an interrupted run left)."""
    from experiments.models import Experiment
    from experiments.services import experiment_create, experiment_start

    bench_experiment_remove()
    other = Experiment.objects.filter(status=Experiment.Status.RUNNING, placement=EXPERIMENT_PLACEMENT).first()
    if other is not None:
        sys.exit(f"--experiment: experiment '{other.key}' runs on {EXPERIMENT_PLACEMENT}; pause it for the benchmark.")
    experiment = experiment_create(
        fields={"key": EXPERIMENT_KEY, "name": "Load benchmark", "placement": EXPERIMENT_PLACEMENT},
        variants=[
            {"key": "control", "is_control": True, "strategy": "hybrid"},
            {"key": "treatment", "strategy": "content"},
        ],
    )
    experiment_start(experiment=experiment)


def bench_experiment_remove() -> None:
    """Delete the benchmark's experiment with its assignments, and their cached copies in Redis."""
    from django.core.cache import cache

    from experiments.models import Experiment

    for experiment in Experiment.objects.filter(key=EXPERIMENT_KEY):
        if hasattr(cache, "delete_pattern"):
            cache.delete_pattern(f"exp:a:{experiment.pk}:*")
        experiment.delete()


def bench_catalog_group_start() -> str:
    """File the largest top-level categories without sub-categories under a parent for the run; return its slug."""
    from django.db.models import Count

    from shop.models import Category

    bench_catalog_group_remove()
    existing = Category.objects.filter(parent__isnull=False).values_list("parent__slug", flat=True).first()
    if existing is not None:
        return existing  # the store has a hierarchy of its own
    children = list(
        Category.objects.filter(parent__isnull=True, children__isnull=True)
        .annotate(product_total=Count("products"))
        .order_by("-product_total", "slug")[:CATALOG_GROUP_CHILDREN]
    )
    parent = Category.objects.create(name="Bench load group", slug=CATALOG_GROUP_SLUG)
    for child in children:
        child.parent = parent
        child.save(update_fields=["parent"])
    return parent.slug


def bench_catalog_group_remove() -> None:
    """Put the categories the run grouped back at the top level and delete its parent category."""
    from shop.models import Category

    for parent in Category.objects.filter(slug=CATALOG_GROUP_SLUG):
        for child in parent.children.all():
            child.parent = None
            child.save(update_fields=["parent"])
        parent.delete()


def catalog_requests(
    requests: int, rng: random.Random, group_slug: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """Return (the mix's distinct requests, the common catalog mix, ``requests`` list pages nobody asked for before).

    The requests come from CATALOG_VISITORS returning visitors in turn, so that no one of them
    searches faster than the search rate limit allows a shopper.
    """
    from django.db.models import Count, Q

    from shop.models import Category, Product

    base = "/api/products/"
    products = list(Product.objects.active().order_by("product_id").values_list("product_id", flat=True))
    rng.shuffle(products)
    counts = dict(
        Category.objects.annotate(n=Count("products", filter=Q(products__is_active=True))).values_list("slug", "n")
    )
    leaves = sorted(slug for slug in counts if slug != group_slug)
    kinds = [
        [f"{base}?ordering=popularity&page=1&{CATALOG_PAGE}"],
        [f"{base}?category={slug}&ordering=popularity&page=1&{CATALOG_PAGE}" for slug in [group_slug] + leaves[:4]],
        [f"{base}?ordering={sort}&page=1&{CATALOG_PAGE}" for sort in CATALOG_SORTS],
        [f"{base}?ordering=popularity&page=2&{CATALOG_PAGE}"],
        [f"{base}{product_id}/" for product_id in products[:WARM_SET]],
        [f"{base}?search={word}&ordering=popularity&page=1&{CATALOG_PAGE}" for word in CATALOG_SEARCHES],
        ["/api/categories/"],
    ]
    cookies = [visitor_cookie(f"v-load-catalog-{n:03d}") for n in range(CATALOG_VISITORS)]
    mix = [(kinds[n % len(kinds)][(n // len(kinds)) % len(kinds[n % len(kinds)])], cookies[n % len(cookies)]) for n in range(requests)]
    pages = -(-len(products) // 24)
    fresh = [
        f"{base}?ordering={sort}&page={page}&{CATALOG_PAGE}"
        for sort in ["popularity", *CATALOG_SORTS, "-title"]
        for page in range(3, pages + 1)
    ]
    fresh += [
        f"{base}?category={slug}&ordering={sort}&page={page}&{CATALOG_PAGE}"
        for slug in leaves
        for sort in ["popularity", *CATALOG_SORTS, "-title"]
        for page in range(2, -(-counts[slug] // 24) + 1)
    ]
    rng.shuffle(fresh)
    if len(fresh) < requests:
        print(f"note: {CATALOG_UNCACHED} is capped by the store: {len(fresh)} distinct pages", file=sys.stderr)
    distinct = list(dict.fromkeys(path for path, _ in mix))
    return (
        [(path, cookies[n % len(cookies)]) for n, path in enumerate(distinct)],
        mix,
        [(path, cookies[n % len(cookies)]) for n, path in enumerate(fresh[:requests])],
    )


def scenarios(
    requests: int, seed: int, *, experiment: bool = False, catalog_group: str | None = None
) -> tuple[list[Scenario], dict[str, list[tuple[str, str]]]]:
    """Build the scenarios and the warm-up requests for the cached ones."""
    from shop.models import Customer, Product

    rng = random.Random(seed)
    products = list(Product.objects.available().order_by("product_id").values_list("product_id", flat=True))
    customers = list(
        Customer.objects.filter(user__isnull=True, interactions__isnull=False)
        .distinct()
        .order_by("customer_id")
        .values_list("customer_id", flat=True)
    )
    rng.shuffle(products)
    rng.shuffle(customers)
    cookies = {customer_id: visitor_cookie(customer_id) for customer_id in customers}
    anonymous = visitor_cookie("v-load-benchmark")

    def similar(product_id: str) -> tuple[str, str]:
        return f"/api/recommendations/similar/{product_id}/", anonymous

    def for_you(customer_id: str) -> tuple[str, str]:
        return "/api/recommendations/for-you/", cookies[customer_id]

    def for_you_in_experiment(customer_id: str) -> tuple[str, str]:
        return f"/api/recommendations/for-you/?placement={EXPERIMENT_PLACEMENT}", cookies[customer_id]

    if len(products) < requests or len(customers) < requests:
        print(
            f"note: uncached runs are capped by the store: {len(products)} products, {len(customers)} customers with history",
            file=sys.stderr,
        )
    warm_products, warm_customers = products[:WARM_SET], customers[:WARM_SET]
    built = [
        Scenario("trivial (/health)", [("/health", anonymous)] * requests, None),
        Scenario("similar uncached", [similar(p) for p in products[WARM_SET : WARM_SET + requests]], "model"),
        Scenario("similar cached", [similar(warm_products[n % len(warm_products)]) for n in range(requests)], "cache"),
        Scenario("for-you uncached", [for_you(c) for c in customers[WARM_SET : WARM_SET + requests]], "model"),
        Scenario("for-you cached", [for_you(warm_customers[n % len(warm_customers)]) for n in range(requests)], "cache"),
    ]
    warm = {
        "similar cached": [similar(p) for p in warm_products],
        "for-you cached": [for_you(c) for c in warm_customers],
    }
    if experiment:
        # The same customers and k as "for-you cached". The first request assigns each one; the later
        # passes put the stored variant in (nearly) every worker's LRU, as steady traffic would.
        built.append(Scenario(IN_EXPERIMENT, [for_you_in_experiment(warm_customers[n % len(warm_customers)]) for n in range(requests)], "cache"))
        warm[IN_EXPERIMENT] = [for_you_in_experiment(c) for c in warm_customers] * 4
    if catalog_group is not None:
        distinct, mix, fresh = catalog_requests(requests, rng, catalog_group)
        built += [Scenario(CATALOG, mix, None), Scenario(CATALOG_UNCACHED, fresh, None)]
        warm[CATALOG] = distinct
    return built, warm


def start_gunicorn(port: int, *, workers: int, threads: int) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--worker-class", "gthread",
        "--workers", str(workers),
        "--threads", str(threads),
        "--keep-alive", "30",
        "--max-requests", "0",  # gunicorn.conf.py recycles workers: a fresh one would reload the model mid-run
        "--log-level", "warning",
    ]  # fmt: skip
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "0", "LOG_LEVEL": "WARNING",
        "REQUEST_LOG_LEVEL": "WARNING",  # no line per request: the run measures serving, not logging
    }  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env)


REPEATED_SCENARIOS = {"trivial (/health)", "similar cached", "for-you cached", IN_EXPERIMENT, CATALOG}


def median_round(runs: list[Result]) -> Result:
    """Return the round with the median throughput: interleaved rounds share the machine's noise."""
    return sorted(runs, key=lambda result: result.requests_per_second)[len(runs) // 2]


def table(results: list[Result]) -> str:
    lines = [
        "| scenario | requests | concurrency | req/s | p50 ms | p95 ms | p99 ms | max ms | server CPU ms/req | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        errors = r.errors + r.wrong_source
        lines.append(
            f"| {r.name} | {r.requests} | {r.concurrency} | {r.requests_per_second:,.0f} | {r.p50_ms:.1f} | "
            f"{r.p95_ms:.1f} | {r.p99_ms:.1f} | {r.max_ms:.1f} | {r.server_cpu_ms:.2f} | {errors} |"
        )
    return "\n".join(lines)


def verdicts(results: dict[str, Result]) -> list[tuple[str, bool]]:
    trivial = results["trivial (/health)"].requests_per_second
    checks = []
    for name in ("similar cached", "for-you cached"):
        r = results[name]
        checks.append((f"{name}: p99 {r.p99_ms:.1f} ms <= {TARGET_CACHED_P99_MS:.0f} ms", r.p99_ms <= TARGET_CACHED_P99_MS))
        share = r.requests_per_second / trivial
        checks.append((
            f"{name}: {share:.0%} of the trivial endpoint's throughput >= {TARGET_CACHED_SHARE_OF_TRIVIAL:.0%}",
            share >= TARGET_CACHED_SHARE_OF_TRIVIAL,
        ))  # fmt: skip
    r = results["for-you uncached"]
    checks.append((
        f"for-you uncached: p99 {r.p99_ms:.1f} ms <= {TARGET_UNCACHED_FOR_YOU_P99_MS:.0f} ms",
        r.p99_ms <= TARGET_UNCACHED_FOR_YOU_P99_MS,
    ))  # fmt: skip
    overhead = experiment_overhead(results)
    if overhead is not None:
        checks.append((
            f"{IN_EXPERIMENT}: server CPU per request {overhead['server_cpu']:+.0%} against for-you cached "
            f"(<= {TARGET_EXPERIMENT_OVERHEAD:+.0%})",
            overhead["server_cpu"] <= TARGET_EXPERIMENT_OVERHEAD,
        ))  # fmt: skip
    if CATALOG in results:
        catalog, cached_list = results[CATALOG], results["for-you cached"]
        checks.append((
            f"{CATALOG}: {catalog.requests_per_second:,.0f} req/s >= for-you cached {cached_list.requests_per_second:,.0f} req/s",
            catalog.requests_per_second >= cached_list.requests_per_second,
        ))  # fmt: skip
    for r in results.values():
        checks.append((f"{r.name}: every response 200 with the expected source", r.errors == 0 and r.wrong_source == 0))
    return checks


def side_by_side(results: dict[str, Result]) -> str:
    """The catalog's figures next to the cached recommendation lists' (with --catalog)."""
    names = [CATALOG, "similar cached", "for-you cached", CATALOG_UNCACHED]
    return "catalog vs cached recommendation lists: " + "; ".join(
        f"{name} {r.requests_per_second:,.0f} req/s, p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms"
        for name in names
        if (r := results.get(name)) is not None
    )


def experiment_overhead(results: dict[str, Result]) -> dict[str, float] | None:
    """The in-experiment list's relative cost over the plain cached for-you list (None without --experiment)."""
    inside, outside = results.get(IN_EXPERIMENT), results.get("for-you cached")
    if inside is None or outside is None:
        return None
    return {
        "p50": inside.p50_ms / outside.p50_ms - 1,
        "p99": inside.p99_ms / outside.p99_ms - 1,
        "requests_per_second": inside.requests_per_second / outside.requests_per_second - 1,
        "server_cpu": inside.server_cpu_ms / outside.server_cpu_ms - 1,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per scenario (default 2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--client-processes", type=int, default=2, help="client processes sharing the threads (default 2)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker (default 2)")
    parser.add_argument(
        "--rounds", type=int, default=3,
        help="rounds of the trivial and cached scenarios, interleaved; the median round is reported (default 3)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--experiment", action="store_true",
        help=f"also measure the cached for-you list inside a running experiment ({EXPERIMENT_PLACEMENT}; removed afterwards)",
    )  # fmt: skip
    parser.add_argument(
        "--catalog", action="store_true",
        help="also measure the catalog's common requests, cached and not, beside the recommendation lists",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    summary = store_summary()
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    catalog_group = bench_catalog_group_start() if args.catalog else None
    built, warm = scenarios(args.requests, args.seed, experiment=args.experiment, catalog_group=catalog_group)
    recommendation_cache_clear()
    if args.experiment:
        bench_experiment_start()
    port = free_port()
    server = start_gunicorn(port, workers=args.workers, threads=args.threads)
    try:
        wait_until_up(port, server)
        # Every worker loads the model before anything is measured: fresh connections spread over them.
        for _ in range(8 * args.workers):
            get(port, "/api/recommendations/trending/?k=1")
        warm_up = Scenario("warm-up", [("/health", "")] * 400 + [("/api/recommendations/trending/", "")] * 400, None)
        run_load(port, warm_up, args.concurrency, processes=args.client_processes)
        for requests in warm.values():
            run_load(port, Scenario("fill", requests, None), args.concurrency, processes=args.client_processes)
        rounds: dict[str, list[Result]] = {scenario.name: [] for scenario in built}
        for round_index in range(max(1, args.rounds)):
            for scenario in built:
                # Uncached scenarios run once: a second round would find their lists cached.
                if round_index == 0 or scenario.name in REPEATED_SCENARIOS:
                    rounds[scenario.name].append(
                        run_load(port, scenario, args.concurrency, server, processes=args.client_processes)
                    )
        results = {name: median_round(runs) for name, runs in rounds.items()}
    finally:
        server.terminate()
        server.wait(timeout=30)
        if args.experiment:
            bench_experiment_remove()
        if args.catalog:
            bench_catalog_group_remove()

    print(f"load average before {load_before}, after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{summary['products']:,} products, {summary['customers']:,} customers, {summary['interactions']:,} interactions; "
        f"model v{summary['model_version']}; {summary['database']}, {summary['cache']}; "
        f"gunicorn gthread {args.workers} workers x {args.threads} threads; {summary['cpus']} CPUs; "
        f"client: {args.concurrency} threads in {args.client_processes} processes; "
        f"median of {max(1, args.rounds)} interleaved rounds for the trivial and cached scenarios"
    )
    print(table(list(results.values())))
    overhead = experiment_overhead(results)
    if overhead is not None:
        print(
            f"experiment overhead on the cached for-you list (same {WARM_SET} customers, same k): "
            f"p50 {overhead['p50']:+.1%}, p99 {overhead['p99']:+.1%}, req/s {overhead['requests_per_second']:+.1%}, "
            f"server CPU/req {overhead['server_cpu']:+.1%}"
        )
    if args.catalog:
        print(side_by_side(results))
    checks = verdicts(results)
    for text, passed in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {text}")
    if args.json:
        args.json.write_text(json.dumps({
            "setup": {**summary, **vars(args), "json": None},
            "results": [asdict(r) for r in results.values()],
            "experiment_overhead": overhead,
        }, indent=2))  # fmt: skip
    return 0 if all(passed for _, passed in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
