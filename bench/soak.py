"""Soak test: gunicorn on loopback under a steady mix of catalog, recommendation and event traffic.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/storefront REDIS_URL=redis://127.0.0.1:6379/0
    export DJANGO_SECRET_KEY_FILE=.secret_key           # or DJANGO_SECRET_KEY: gunicorn runs with DEBUG off
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py collectstatic --noinput
    .venv/bin/python manage.py generate_demo_data && .venv/bin/python manage.py retrain
    .venv/bin/python bench/soak.py [--duration 60] [--concurrency 32] [--workers 4] [--threads 2]

It starts gunicorn as bench/load.py does (same helpers, same environment, DEBUG off) and, for
``--duration`` seconds, keeps ``--concurrency`` client threads (spread over ``--client-processes``
processes, each thread on its own keep-alive connection) sending requests drawn at random, with a
fixed seed, from this mix:

- catalog: a product list page (orderings, pages 1-3, categories) 20 %, a product's page 15 %,
  the category list 5 %;
- recommendations: trending (overall or a category's) 10 %, similar to a product 15 %, and
  for-you 15 % as a returning visitor with history (signed visitor cookie);
- events: ``POST /api/interactions/`` 20 %, a view, click or add-to-cart by one of those visitors,
  with the CSRF cookie and header a browser sends.

The events change the visitors' histories as the run goes, so for-you lists are recomputed
rather than all served from the cache, and the rows are really written. It prints the requests,
throughput, p50/p99/max latency per request type, per kind (catalog, recommendations, events) and
overall, and the errors by status. An error is any response other than the expected 200 (201 for an
event) or a failed connection; the exit status is 1 when there is one.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import multiprocessing
import os
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import free_port, get, percentile, start_gunicorn, store_summary, visitor_cookie, wait_until_up  # noqa: E402

# (request type, kind, share of the requests)
MIX = [
    ("product list", "catalog", 20),
    ("product detail", "catalog", 15),
    ("categories", "catalog", 5),
    ("trending", "recommendations", 10),
    ("similar", "recommendations", 15),
    ("for-you", "recommendations", 15),
    ("event", "events", 20),
]
KINDS = ["catalog", "recommendations", "events"]
VISITORS = 500  # returning visitors with history, at most; each posts well under the events rate limit
ORDERINGS = ["popularity", "newest", "price", "-price", "title"]
EVENT_KINDS = ["view", "view", "click", "add_to_cart"]
REQUEST_SECONDS = 30
SAMPLES = 5


@dataclass
class Plan:
    """What the clients may ask for: plain data, sent to the client processes."""

    product_ids: list[str]
    list_paths: list[str]
    trending_paths: list[str]
    visitors: list[tuple[str, str]]  # (Cookie header, CSRF token for the X-CSRFToken header)


@dataclass
class Tally:
    """What one client process saw, per request type."""

    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    statuses: dict[str, collections.Counter] = field(default_factory=lambda: collections.defaultdict(collections.Counter))
    samples: list[str] = field(default_factory=list)


def build_plan(seed: int) -> Plan:
    """Pick the products, list pages and returning visitors the run draws its requests from."""
    from django.utils.crypto import get_random_string

    from shop.models import Category, Customer, Product

    rng = random.Random(seed)
    products = list(Product.objects.available().order_by("product_id").values_list("product_id", flat=True))
    categories = list(Category.objects.filter(products__isnull=False).distinct().order_by("slug").values_list("slug", flat=True))
    customers = list(
        Customer.objects.filter(user__isnull=True, interactions__isnull=False)
        .distinct()
        .order_by("customer_id")
        .values_list("customer_id", flat=True)[:VISITORS]
    )
    if not customers:
        sys.exit("bench/soak.py needs returning visitors (customers with interactions): run generate_demo_data")
    list_paths = [f"/api/products/?ordering={o}&page={p}&page_size=24" for o in ORDERINGS for p in (1, 2, 3)]
    list_paths += [f"/api/products/?category={slug}&ordering=popularity&page=1&page_size=24" for slug in categories[:10]]
    trending_paths = ["/api/recommendations/trending/"] + [f"/api/recommendations/trending/?category={slug}" for slug in categories[:5]]
    visitors = []
    for customer_id in customers:
        # A browser's CSRF cookie holds a 32-character secret, which the header may carry as it is.
        token = get_random_string(32)
        visitors.append((f"{visitor_cookie(customer_id)}; csrftoken={token}", token))
    rng.shuffle(products)
    return Plan(products, list_paths, trending_paths, visitors)


def next_request(rng: random.Random, plan: Plan) -> tuple[str, str, str, bytes | None, dict[str, str]]:
    """Draw one request from the mix: (request type, method, path, body, headers)."""
    name = rng.choices([name for name, _, _ in MIX], weights=[share for _, _, share in MIX])[0]
    cookie, csrf = rng.choice(plan.visitors)
    headers = {"Accept": "application/json", "Cookie": cookie}
    if name == "product list":
        return name, "GET", rng.choice(plan.list_paths), None, headers
    if name == "product detail":
        return name, "GET", f"/api/products/{rng.choice(plan.product_ids)}/", None, headers
    if name == "categories":
        return name, "GET", "/api/categories/", None, headers
    if name == "trending":
        return name, "GET", rng.choice(plan.trending_paths), None, headers
    if name == "similar":
        return name, "GET", f"/api/recommendations/similar/{rng.choice(plan.product_ids)}/", None, headers
    if name == "for-you":
        return name, "GET", "/api/recommendations/for-you/", None, headers
    event = {
        "product_id": rng.choice(plan.product_ids),
        "kind": rng.choice(EVENT_KINDS),
        "context": {"placement": "product_similar", "position": rng.randrange(10)},
    }
    headers = {**headers, "Content-Type": "application/json", "X-CSRFToken": csrf}
    return name, "POST", "/api/interactions/", json.dumps(event).encode(), headers


def client_process(port: int, plan: Plan, seeds: list[int], duration: float, barrier, results) -> None:
    """Run one thread per seed, each on its own keep-alive connection, until the duration is over."""
    tally = Tally()
    lock = threading.Lock()
    ready = threading.Barrier(len(seeds) + 1)
    start = {}

    def client(seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_SECONDS)
        mine: dict[str, list[float]] = collections.defaultdict(list)
        seen: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        ready.wait()
        deadline = start["at"] + duration
        while time.perf_counter() < deadline:
            name, method, path, body, headers = next_request(rng, plan)
            began = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                content = response.read()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_SECONDS)
                seen[name]["connection error"] += 1
                with lock:
                    tally.samples.append(f"{method} {path}: {type(exc).__name__} {exc}")
                continue
            mine[name].append((time.perf_counter() - began) * 1000)
            seen[name][response.status] += 1
            expected = 201 if method == "POST" else 200
            if response.status != expected:
                with lock:
                    tally.samples.append(f"{method} {path}: HTTP {response.status} {content[:200]!r}")
        connection.close()
        with lock:
            for key, values in mine.items():
                tally.latencies_ms[key].extend(values)
            for key, counts in seen.items():
                tally.statuses[key].update(counts)

    threads = [threading.Thread(target=client, args=(seed,), daemon=True) for seed in seeds]
    for thread in threads:
        thread.start()
    barrier.wait()
    start["at"] = time.perf_counter()
    ready.wait()
    for thread in threads:
        thread.join()
    results.put((dict(tally.latencies_ms), {key: dict(counts) for key, counts in tally.statuses.items()}, tally.samples[:SAMPLES]))


def run_soak(port: int, plan: Plan, *, duration: float, concurrency: int, processes: int, seed: int):
    """Drive the mix from ``concurrency`` threads in ``processes`` processes; return (latencies, statuses, samples, seconds)."""
    processes = max(1, min(processes, concurrency))
    seeds = [seed * 1000 + slot for slot in range(concurrency)]
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes + 1), context.Queue()
    children = [
        context.Process(target=client_process, args=(port, plan, seeds[index::processes], duration, barrier, results), daemon=True)
        for index in range(processes)
    ]
    for child in children:
        child.start()
    barrier.wait()
    began = time.perf_counter()
    reports = [results.get() for _ in children]
    seconds = time.perf_counter() - began
    for child in children:
        child.join()
    latencies: dict[str, list[float]] = collections.defaultdict(list)
    statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    samples: list[str] = []
    for report_latencies, report_statuses, report_samples in reports:
        for name, values in report_latencies.items():
            latencies[name].extend(values)
        for name, counts in report_statuses.items():
            statuses[name].update(counts)
        samples.extend(report_samples)
    return latencies, statuses, samples[:SAMPLES], seconds


def errors_of(name: str, counts: collections.Counter) -> collections.Counter:
    expected = 201 if name == "event" else 200
    return collections.Counter({status: n for status, n in counts.items() if status != expected})


def table(latencies: dict[str, list[float]], statuses: dict[str, collections.Counter], seconds: float) -> str:
    """One row per request type, then per kind, then overall."""
    groups = [(name, [name]) for name, _, _ in MIX]
    groups += [(f"all {kind}", [name for name, of_kind, _ in MIX if of_kind == kind]) for kind in KINDS]
    groups.append(("overall", [name for name, _, _ in MIX]))
    lines = [
        "| requests of | requests | req/s | p50 ms | p99 ms | max ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, names in groups:
        values = sorted(value for name in names for value in latencies.get(name, []))
        sent = sum(sum(statuses.get(name, {}).values()) for name in names)
        errors = sum(sum(errors_of(name, statuses.get(name, collections.Counter())).values()) for name in names)
        lines.append(
            f"| {label} | {sent:,} | {sent / seconds:,.0f} | {percentile(values, 0.50):.1f} | "
            f"{percentile(values, 0.99):.1f} | {values[-1] if values else float('nan'):.1f} | {errors} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of traffic (default 60)")
    parser.add_argument("--concurrency", type=int, default=32, help="client threads, one connection each (default 32)")
    parser.add_argument("--client-processes", type=int, default=2, help="client processes sharing the threads (default 2)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker (default 2)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    summary = store_summary()
    plan = build_plan(args.seed)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    port = free_port()
    server = start_gunicorn(port, workers=args.workers, threads=args.threads)
    try:
        wait_until_up(port, server)
        for _ in range(8 * args.workers):  # every worker loads the model before the clock starts
            get(port, "/api/recommendations/trending/?k=1")
        latencies, statuses, samples, seconds = run_soak(
            port, plan, duration=args.duration, concurrency=args.concurrency, processes=args.client_processes, seed=args.seed
        )
        crashed = server.poll() is not None
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(f"load average before {load_before}, after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{summary['products']:,} products, {summary['customers']:,} customers, {summary['interactions']:,} interactions "
        f"before the run; model v{summary['model_version']}; {summary['database']}, {summary['cache']}; "
        f"gunicorn gthread {args.workers} workers x {args.threads} threads; {summary['cpus']} CPUs; "
        f"{seconds:.1f} s at concurrency {args.concurrency} ({args.client_processes} client processes), "
        f"{len(plan.visitors)} returning visitors, seed {args.seed}"
    )
    print(table(latencies, statuses, seconds))
    errors = collections.Counter()
    for name, counts in statuses.items():
        errors.update(errors_of(name, counts))
    print(f"errors by status: {dict(errors) if errors else 'none'}")
    for sample in samples:
        print(f"  e.g. {sample}")
    if crashed:
        print("gunicorn exited during the run")
    passed = not errors and not crashed
    print(f"{'PASS' if passed else 'FAIL'}  no errors (any status other than 200, 201 for an event, or a failed connection)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
