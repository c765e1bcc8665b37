"""Schemathesis against the running API: every operation in the OpenAPI schema, fuzzed over HTTP.

gunicorn serves the project on loopback (the test database and Redis, a small demo catalogue,
an active model, a draft experiment), with rate limits set far above what the run sends, so
that the fuzzing measures the API rather than the limiter. Schemathesis (its CLI, in a child
process, with a fixed seed) loads /api/schema/ from that server and sends generated requests
twice: as a staff member's API-token client that also carries a returning visitor's cookie,
which reaches every operation's inside, and as that visitor alone, who meets the refusals.
Every response must not be a 5xx, must have a documented status, and must match its
documented body.

The schema's own examples (P001, P002, ...) and a few real ids are offered as values for ids,
so that generated requests also reach the code behind a known product or experiment.
"""

import collections
import io
import json
import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.http import HttpResponse
from rest_framework.authtoken.models import Token

from experiments.services import experiment_create
from recommendations.models import ModelVersion
from recommendations.services import model_train
from shop.middleware import VISITOR_COOKIE_SALT
from shop.models import Category, Customer, Product
from shop.tests.factories import ProductFactory, UserFactory
from tests.web_processes import ServingProcesses, shared_database_marks

pytestmark = shared_database_marks("the server process must share the test database")

SEED = 20261201
MIN_CASES = 1000
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
RUN_SECONDS = 600  # a hung run fails instead of blocking CI; a normal one takes well under a minute
EXAMPLE_PRODUCT_IDS = ["P001", "P002"]  # the ids the schema's examples use
EXPERIMENT_KEY = "fuzz-experiment"
UNTHROTTLED = "1000000/min"
PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def demo_store(settings, tmp_path):
    """A small demo store with an active model, the schema's example products and a draft experiment."""
    settings.MEDIA_ROOT = tmp_path / "media"  # the model artifact; the server is told the same
    cache.clear()
    call_command("generate_demo_data", products=300, customers=200, interactions=6000, stdout=io.StringIO())
    category = Category.objects.order_by("slug").first()
    for product_id in EXAMPLE_PRODUCT_IDS:
        ProductFactory(product_id=product_id, title=f"Example {product_id}", category=category, stock=1_000_000)
    version = model_train(run_key=f"fuzz-{uuid.uuid4()}", trigger=ModelVersion.Trigger.COMMAND)
    assert version.status == ModelVersion.Status.ACTIVE, version.error
    experiment_create(
        fields={"key": EXPERIMENT_KEY, "name": "Fuzzed experiment", "placement": "cart_for_you"},
        variants=[{"key": "control", "is_control": True, "strategy": "hybrid"}, {"key": "treatment", "strategy": "content"}],
    )
    yield
    cache.clear()


@pytest.fixture
def server(demo_store, transactional_db, tmp_path):
    """The project under gunicorn (2 workers), rate limits out of the way; stopped before the database is flushed."""
    rates = {f"THROTTLE_RATE_{scope}": UNTHROTTLED for scope in ("EVENTS", "CHECKOUT", "FEEDBACK", "SEARCH", "SIGN_IN")}
    processes = ServingProcesses(tmp_path, env=rates)
    (process,) = processes.start("fuzzed", workers=2)
    yield process
    processes.stop_all()


def visitor_cookie(customer_id: str) -> str:
    """The Cookie header of a returning storefront visitor who is ``customer_id``."""
    response = HttpResponse()
    response.set_signed_cookie(settings.VISITOR_COOKIE_NAME, customer_id, salt=VISITOR_COOKIE_SALT)
    return f"{settings.VISITOR_COOKIE_NAME}={response.cookies[settings.VISITOR_COOKIE_NAME].value}"


def schemathesis_config(path, *, headers: dict[str, str]) -> None:
    """Write the run's schemathesis.toml: headers, no state kept between runs, and known ids to offer."""
    products = [*EXAMPLE_PRODUCT_IDS, *Product.objects.order_by("product_id").values_list("product_id", flat=True)[:5]]
    categories = list(Category.objects.order_by("slug").values_list("slug", flat=True)[:3])
    customers = list(Customer.objects.order_by("customer_id").values_list("customer_id", flat=True)[:3])
    strings = lambda values: json.dumps(list(values))  # noqa: E731  (a JSON string list is a TOML array)
    path.write_text(
        "\n".join([
            "[cache]",
            "enabled = false",
            "[headers]",
            *(f"{name} = {json.dumps(value)}" for name, value in headers.items()),
            "[dictionaries.products]", f"values = {strings(products)}",
            "[dictionaries.categories]", f"values = {strings(categories)}",
            "[dictionaries.customers]", f"values = {strings(customers)}",
            "[dictionaries.experiments]", f"values = {strings([EXPERIMENT_KEY])}",
            "[parameters]",
            '"path.product_id" = { dictionary = "products", probability = 0.5 }',
            '"query.product_id" = { dictionary = "products", probability = 0.5 }',
            '"query.category" = { dictionary = "categories", probability = 0.5 }',
            '"query.customer_id" = { dictionary = "customers", probability = 0.5 }',
            '"path.key" = { dictionary = "experiments", probability = 0.7 }',
            "",
        ])
    )  # fmt: skip


def cases_by_operation(ndjson_path) -> dict[str, collections.Counter]:
    """Count the requests schemathesis sent, by operation ("GET /api/products/") and response status."""
    statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    with ndjson_path.open() as events:
        for line in events:
            finished = json.loads(line).get("ScenarioFinished")
            if not finished:
                continue
            recorder = finished["recorder"]
            for case_id, interaction in (recorder.get("interactions") or {}).items():
                case = recorder["cases"][case_id]["value"]
                response = interaction.get("response")
                statuses[f"{case['method']} {case['path']}"][response["status_code"] if response else "no response"] += 1
    return statuses


def schemathesis_run(server, run_dir, *, headers: dict[str, str], max_examples: int):
    """Run schemathesis over the server's whole schema; return the finished process and the requests it sent."""
    run_dir.mkdir()
    schemathesis_config(run_dir / "schemathesis.toml", headers=headers)
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(run_dir / "schemathesis.toml"), "--no-color",
        "run", f"{server.url}/api/schema/",
        "--url", server.url,  # requests go to this server whatever the schema says
        "--checks", CHECKS,
        "--seed", str(SEED),
        "--max-examples", str(max_examples),
        "--workers", "1",
        "--generation-database", "none",
        "--max-redirects", "0",
        "--request-timeout", "20",
        "--output-truncate", "false",
        "--report", "ndjson", "--report-ndjson-path", str(run_dir / "events.ndjson"),
    ]  # fmt: skip
    env = {name: value for name, value in os.environ.items() if name.lower() not in PROXY_VARIABLES}
    run = subprocess.run(command, cwd=run_dir, env={**env, "NO_PROXY": "*"}, capture_output=True, text=True, timeout=RUN_SECONDS)
    assert (run_dir / "events.ndjson").exists(), f"schemathesis did not run:\n{run.stdout[-5000:]}\n{run.stderr[-5000:]}"
    return run, cases_by_operation(run_dir / "events.ndjson")


def test_schemathesis_finds_no_server_error_and_no_response_off_the_schema(server, tmp_path):
    staff = UserFactory(username="fuzz-staff", staff=True)
    customer_id = Customer.objects.filter(interactions__isnull=False).order_by("customer_id").values_list("customer_id", flat=True).first()
    cookie = visitor_cookie(customer_id)
    callers = {
        # Reaches every operation's inside: experiments, other customers' lists, variants, events for anyone.
        "staff token and visitor cookie": ({"Authorization": f"Token {Token.objects.create(user=staff).key}", "Cookie": cookie}, 30),
        # Meets the refusals: staff-only operations, CSRF on posts, schemathesis's own made-up tokens.
        "visitor cookie only": ({"Cookie": cookie}, 15),
    }
    schema = json.loads(server.get("/api/schema/?format=json").body)
    documented = {f"{method.upper()} {path}" for path, methods in schema["paths"].items() for method in methods if method in HTTP_METHODS}

    runs = {
        caller: schemathesis_run(server, tmp_path / f"schemathesis-{n}", headers=headers, max_examples=max_examples)
        for n, (caller, (headers, max_examples)) in enumerate(callers.items())
    }

    for caller, (run, statuses) in runs.items():
        print(f"as {caller}: schemathesis exit status {run.returncode}; requests by operation and status:")
        for operation in sorted(documented & set(statuses), key=lambda name: name.split(" ", 1)[::-1]):
            print(f"  {sum(statuses[operation].values()):5}  {operation}  {dict(sorted(statuses[operation].items(), key=str))}")
        probes = sum(sum(counts.values()) for operation, counts in statuses.items() if operation not in documented)
        print(f"  {probes:5}  requests with methods the schema does not list for the path (405s; OPTIONS 200)")
        print(f"  {sum(sum(counts.values()) for counts in statuses.values()):5}  in all")
    for caller, (run, statuses) in runs.items():
        assert run.returncode == 0, f"as {caller}, schemathesis found problems:\n{run.stdout[-20000:]}\n{run.stderr[-3000:]}\n{server.log()}"
        server_errors = {operation: counts for operation, counts in statuses.items() if any(isinstance(s, int) and s >= 500 for s in counts)}
        assert not server_errors, caller
        untested = {operation for operation in documented if operation.split(" ", 1)[1].startswith("/api/") and not statuses.get(operation)}
        assert not untested, f"as {caller}, operations schemathesis never called: {sorted(untested)}"
    assert sum(sum(counts.values()) for _, statuses in runs.values() for counts in statuses.values()) >= MIN_CASES
