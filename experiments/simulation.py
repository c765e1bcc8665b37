"""Rehearse a running experiment: synthetic shoppers driven through the storefront's own endpoints, with a known effect.

Each shopper is a browser with its own cookie jar (its visitor cookie) talking to the site
in-process through DRF's test client: URL routing, middleware, DRF, services and the database,
no network. It loads the storefront page, asks for the placement's list (its first exposure,
which stores its assignment), reports the impression, and then, with its variant's click
probability, clicks one of the products shown, views it, maybe adds it to the cart and checks
it out, each event carrying the list's attribution context the way the storefront sends it.
Rows are written only by those endpoints, so the results read exactly what real traffic would
have left behind.

The true effect is known: a treatment's click probability is ``base_ctr x (1 + lift)``, and what
follows a click (add to cart, order) has the same probability in every arm, so CTR, add-to-cart
rate, conversion and revenue per visitor all move by ``lift`` in expectation.

Every random draw comes from numpy generators seeded with ``seed``, the visitor ids included:
each shopper arrives with a visitor cookie signed the way the storefront's middleware signs the
ones it hands out (the id is drawn here instead of minted there, since bucketing hashes it), so
the same seed on the same store replays the same shoppers into the same variants doing the same
things. A shopper whose id already has a customer row is a returning one; use another seed for
new shoppers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.cookies import SimpleCookie

import numpy as np
from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from rest_framework.test import APIClient

from experiments.models import Experiment, Placement
from shop.middleware import VISITOR_COOKIE_SALT
from shop.models import Product

PERSONAL_PLACEMENTS = {Placement.HOME_FOR_YOU, Placement.CART_FOR_YOU, Placement.ORDER_FOR_YOU}
PRODUCT_PLACEMENTS = {Placement.PRODUCT_SIMILAR: "similar", Placement.PRODUCT_ALSO_BOUGHT: "also-bought"}
OUTSIDE = ""  # the tally of shoppers the list was not served under an experiment arm (outside its traffic)


class SimulationError(Exception):
    """The simulation cannot run, or an endpoint answered what a storefront visitor never gets."""


@dataclass(frozen=True)
class SimulationOptions:
    """What the synthetic shoppers do; the probabilities are the control's, the lift the treatments' change."""

    visitors: int
    lift: float = 0.0
    seed: int = 0
    base_ctr: float = 0.1  # chance that a control shopper clicks a product of the list
    cart_rate: float = 0.4  # chance that a click is followed by an add to cart (every arm)
    base_conversion: float = 0.02  # share of control shoppers who order: base_ctr x cart_rate x P(order | cart)
    k: int = 12  # products per list, as the storefront's carousels ask
    treatment: str | None = None  # the variant the lift applies to; None: every non-control variant

    def errors(self) -> list[str]:
        """Return what is wrong with these options, one sentence each."""
        problems = []
        if self.visitors < 1:
            problems.append(f"--visitors must be at least 1, not {self.visitors}.")
        if not math.isfinite(self.lift) or self.lift <= -1:
            problems.append(f"--lift must be above -1 (a -100 % change leaves nothing to click), not {self.lift}.")
        for name, value in (("--base-ctr", self.base_ctr), ("--cart-rate", self.cart_rate), ("--base-conversion", self.base_conversion)):
            if not (math.isfinite(value) and 0 <= value <= 1):
                problems.append(f"{name} must be a probability between 0 and 1, not {value}.")
        if not problems:
            if self.base_ctr * (1 + max(self.lift, 0.0)) > 1:
                problems.append(f"--base-ctr x (1 + --lift) = {self.base_ctr * (1 + self.lift):g} is not a probability: lower one of them.")
            if self.base_conversion > self.base_ctr * self.cart_rate:
                problems.append(
                    f"--base-conversion {self.base_conversion:g} exceeds the share of shoppers who add to cart "
                    f"(--base-ctr x --cart-rate = {self.base_ctr * self.cart_rate:g}); only they can order."
                )
        if not 1 <= self.k <= 100:
            problems.append(f"--k must be between 1 and 100, not {self.k}.")
        return problems

    @property
    def order_rate(self) -> float:
        """The chance that a shopper who added the product to the cart checks out."""
        carted = self.base_ctr * self.cart_rate
        return self.base_conversion / carted if carted else 0.0


@dataclass
class ArmTally:
    """What the simulated shoppers of one variant did, as the simulation saw it (the results recount it from rows)."""

    visitors: int = 0
    impressions: int = 0
    clicks: int = 0
    carts: int = 0
    orders: int = 0
    revenue: Decimal = Decimal("0")
    click_probability: float = 0.0


@dataclass
class SimulationReport:
    """The shoppers' doings per variant key (``""``: outside the experiment), and how long they took."""

    experiment: str
    placement: str
    options: SimulationOptions
    arms: dict[str, ArmTally] = field(default_factory=dict)
    empty_lists: int = 0
    checkouts_refused: int = 0  # sold out or no longer sold by the time the shopper checked out
    requests: int = 0
    seconds: float = 0.0

    @property
    def visitors(self) -> int:
        return sum(arm.visitors for arm in self.arms.values())


def experiment_simulate(
    *,
    experiment: Experiment,
    options: SimulationOptions,
    on_progress: Callable[[int, SimulationReport], None] | None = None,
    progress_every: int = 0,
) -> SimulationReport:
    """Send ``options.visitors`` synthetic shoppers through the running experiment's placement; return what they did.

    Raises SimulationError for bad options, an experiment that is not running, or an endpoint
    answering anything a storefront visitor should never see (the answer is quoted).
    """
    problems = options.errors()
    if problems:
        raise SimulationError(" ".join(problems))
    if experiment.status != Experiment.Status.RUNNING:
        raise SimulationError(f"Experiment '{experiment.key}' is {experiment.status}, not running: start it first.")
    variants = {variant.key: variant for variant in experiment.variants.all()}
    if options.treatment is not None and (options.treatment not in variants or variants[options.treatment].is_control):
        treatments = ", ".join(key for key, variant in variants.items() if not variant.is_control)
        raise SimulationError(f"--treatment must name a treatment variant of '{experiment.key}': {treatments}.")
    lifted = {
        key for key, variant in variants.items()
        if not variant.is_control and (options.treatment is None or key == options.treatment)
    }  # fmt: skip
    pages = _page_products(experiment.placement)

    # Two streams, so that a longer run with the same seed starts with the same shoppers doing the same things.
    id_stream, behaviour_stream = (np.random.default_rng(seed) for seed in np.random.SeedSequence(options.seed).spawn(2))
    ids = id_stream.bytes(16 * options.visitors)
    draws = behaviour_stream.random((options.visitors, 5))  # click, position, add to cart, order, page product

    report = SimulationReport(experiment=experiment.key, placement=experiment.placement, options=options)
    shopper = _Shopper(experiment=experiment, options=options, lifted=lifted, report=report)
    started = time.perf_counter()
    with _commits_without_flush_wait():
        for index in range(options.visitors):
            page_product = pages[int(draws[index, 4] * len(pages))] if pages else None
            shopper.visit("v-" + ids[16 * index : 16 * (index + 1)].hex(), draws[index, :4], page_product)
            report.seconds = time.perf_counter() - started
            if on_progress is not None and progress_every and ((index + 1) % progress_every == 0 or index + 1 == options.visitors):
                on_progress(index + 1, report)
    return report


@contextmanager
def _commits_without_flush_wait() -> Iterator[None]:
    """On PostgreSQL, let this connection's commits return before their WAL reaches the disk.

    Every storefront request commits on its own, and on a busy disk waiting for each flush
    adds up over thousands of shoppers. Only durability changes (a crash may lose the last
    synthetic shoppers), never what is written or what other connections see.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield  # inside a transaction (tests) nothing commits anyway
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _page_products(placement: str) -> list[str]:
    """The products whose pages a shopper may be on (product placements only), in a stable order."""
    if placement not in PRODUCT_PLACEMENTS:
        return []
    products = list(Product.objects.available().order_by("product_id").values_list("product_id", flat=True))
    if not products:
        raise SimulationError(f"The placement {placement} is on product pages, and the store has no product to show.")
    return products


def _allowed_host() -> str:
    """A host name the site accepts (``ALLOWED_HOSTS``), for the in-process requests."""
    for host in settings.ALLOWED_HOSTS:
        if host == "*":
            return "testserver"
        if host.startswith("."):
            return "simulation" + host
        if host:
            return host
    return "localhost"  # DEBUG with an empty ALLOWED_HOSTS accepts localhost


def visitor_cookie_value(visitor_id: str) -> str:
    """Return the visitor cookie's value as the storefront's middleware signs it for ``visitor_id``."""
    response = HttpResponse()
    response.set_signed_cookie(settings.VISITOR_COOKIE_NAME, visitor_id, salt=VISITOR_COOKIE_SALT)
    return response.cookies[settings.VISITOR_COOKIE_NAME].value


class _Shopper:
    """Play one storefront visit per call, through the real endpoints, keeping the report's tallies."""

    def __init__(self, *, experiment: Experiment, options: SimulationOptions, lifted: set[str], report: SimulationReport):
        self.placement = experiment.placement
        self.options = options
        self.lifted = lifted
        self.report = report
        # One handler serves every shopper, as one server process would; each shopper brings its own cookie jar.
        self.client = APIClient(enforce_csrf_checks=False, SERVER_NAME=_allowed_host())
        self.cookie_name = settings.VISITOR_COOKIE_NAME
        # Position bias: the first products of a carousel draw more clicks (weights 1, 1/2, 1/3, ...).
        weights = 1.0 / np.arange(1, options.k + 1)
        self.position_cdfs = [np.cumsum(weights[:n]) / weights[:n].sum() for n in range(1, options.k + 1)]

    def visit(self, visitor_id: str, draws: np.ndarray, page_product: str | None) -> None:
        u_click, u_position, u_cart, u_order = (float(value) for value in draws)
        client = self.client
        client.cookies = SimpleCookie()
        client.cookies[self.cookie_name] = visitor_cookie_value(visitor_id)

        page = self._call(client.get, "/", expected=(200, 503))  # 503: the SPA is not built; the cookie is what matters
        if self.cookie_name in page.cookies:
            raise SimulationError("The storefront did not accept the simulated visitor cookie (it set a new one).")

        listing = self._call(client.get, self._list_path(page_product), expected=(200,)).json()
        arm = listing.get("variant") or OUTSIDE
        if listing.get("experiment") not in (None, self.report.experiment):
            raise SimulationError(f"The list was served under experiment '{listing['experiment']}', not '{self.report.experiment}'.")
        tally = self.report.arms.setdefault(arm, ArmTally())
        tally.click_probability = self.options.base_ctr * ((1 + self.options.lift) if arm in self.lifted else 1.0)
        tally.visitors += 1
        results = listing.get("results") or []
        if not results:
            self.report.empty_lists += 1
            return

        shown = list(range(len(results)))
        impression = {
            "request_id": listing["request_id"],
            "placement": self.placement,
            "positions": shown,
            "product_ids": [item["product_id"] for item in results],
            "experiment": listing.get("experiment"),
            "variant": listing.get("variant"),
            "strategy": listing.get("strategy") or "",
            "model_version": listing.get("model_version"),
            "event_id": f"imp-{listing['request_id']}",
        }
        self._call(client.post, "/api/impressions/", [impression], expected=(201,))
        tally.impressions += 1
        if u_click >= tally.click_probability:
            return

        position = int(np.searchsorted(self.position_cdfs[len(shown) - 1], u_position, side="right"))
        product = results[min(position, len(results) - 1)]
        context = {
            "request_id": listing["request_id"],
            "placement": self.placement,
            "experiment": listing.get("experiment"),
            "variant": listing.get("variant"),
            "position": position,
            "strategy": listing.get("strategy"),
        }
        context = {key: value for key, value in context.items() if value is not None}  # as the storefront cleans it
        events = [
            {"product_id": product["product_id"], "kind": "click", "context": context, "event_id": f"{listing['request_id']}-click"},
            {"product_id": product["product_id"], "kind": "view", "context": context, "event_id": f"{listing['request_id']}-view"},
        ]
        carted = u_cart < self.options.cart_rate
        if carted:
            events.append({"product_id": product["product_id"], "kind": "add_to_cart", "quantity": 1, "context": context,
                           "event_id": f"{listing['request_id']}-cart"})  # fmt: skip
        # One batch, as the storefront's event queue sends what happened within a few seconds.
        self._call(client.post, "/api/interactions/", events, expected=(201,))
        tally.clicks += 1
        if not carted:
            return
        tally.carts += 1
        if u_order >= self.options.order_rate:
            return
        body = {"lines": [{"product_id": product["product_id"], "quantity": 1, "context": context}]}
        response = self._call(client.post, "/api/checkout/", body, expected=(201, 400, 409))
        if response.status_code != 201:
            code = response.json().get("code")
            if code not in {"out_of_stock", "insufficient_stock", "product_unavailable"}:
                raise SimulationError(f"POST /api/checkout/ answered {response.status_code}: {response.content[:300]!r}")
            self.report.checkouts_refused += 1
            return
        tally.orders += 1
        tally.revenue += Decimal(str(response.json()["total"]))

    def _list_path(self, page_product: str | None) -> str:
        query = f"?k={self.options.k}&placement={self.placement}"
        if self.placement in PERSONAL_PLACEMENTS:
            return f"/api/recommendations/for-you/{query}"
        if self.placement in PRODUCT_PLACEMENTS:
            return f"/api/recommendations/{PRODUCT_PLACEMENTS[self.placement]}/{page_product}/{query}"
        return f"/api/recommendations/trending/{query}"

    def _call(self, method, path: str, body=None, *, expected: tuple[int, ...]):
        self.report.requests += 1
        response = method(path) if body is None else method(path, body, format="json")
        if response.status_code not in expected:
            verb = "GET" if body is None else "POST"
            raise SimulationError(f"{verb} {path} answered {response.status_code}: {response.content[:300]!r}")
        return response
