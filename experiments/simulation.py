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

In an interleaving experiment every entering shopper gets one list merging both rankings, each
product marked with the team that placed it (A: the control's ranking, B: the other's). The shopper
looks at each position on its own: position ``i`` (0 = first) of an ``n``-long list is clicked with
probability ``base_ctr x b_i / (b_0 + ... + b_(n-1))`` with the position bias ``b_i = 1 / (i + 1)``,
times ``(1 + lift)`` when team B placed the product. So without a lift a list draws ``base_ctr``
clicks on average (the A/B control's CTR), several clicks on one list are possible, and ``lift`` is
the true preference for B's ranking. Each click carries the product's ``team`` in its context, as
the storefront sends it; what follows a click (add to cart, order) is drawn per clicked product
with the same probabilities as in an A/B test, and the ordered products are checked out together.

The merge's coin is seeded by the list's request id. So that the same seed replays the same merged
lists too, an interleaving run seeds the list views' request-id source
(``recommendations.api.views.request_ids``, this process only, for the run's duration) from the
seed and the store's state (the latest impression id): the same seed on the same store gives the
same lists, a rerun on a store that has the first run's rows gets fresh request ids. A list whose
request id did not come from that stream makes the report say the run is not replayable
(``SimulationReport.replayable``).

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
from django.db.models import Max
from django.http import HttpResponse
from rest_framework.test import APIClient

from experiments.models import Experiment, Impression, Placement
from recommendations.api.views import RequestIdSource
from recommendations.api.views import request_ids as list_request_ids
from shop.middleware import VISITOR_COOKIE_SALT
from shop.models import Product

PERSONAL_PLACEMENTS = {Placement.HOME_FOR_YOU, Placement.CART_FOR_YOU, Placement.ORDER_FOR_YOU}
PRODUCT_PLACEMENTS = {Placement.PRODUCT_SIMILAR: "similar", Placement.PRODUCT_ALSO_BOUGHT: "also-bought"}
OUTSIDE = ""  # the tally of shoppers the list was not served under an experiment arm (outside its traffic)
INTERLEAVED = "interleaved"  # the tally of shoppers who got an interleaving experiment's merged list (the list's strategy)
TEAMS = ("A", "B")  # A: the control's ranking, B: the other variant's


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
class TeamTally:
    """What the clicks credited to one team of an interleaving experiment led to, as the simulation saw it."""

    key: str  # the variant whose ranking the team is
    click_weight: float = 1.0  # how much more likely than the position bias alone its products are clicked
    clicks: int = 0
    carts: int = 0
    orders: int = 0  # orders with at least one line of a product this team placed and the shopper clicked
    revenue: Decimal = Decimal("0")  # those lines' totals
    lists_won: int = 0  # lists where this team's products got more clicks than the other team's


@dataclass
class SimulationReport:
    """The shoppers' doings per variant key (``""``: outside the experiment), and how long they took.

    An interleaving experiment's shoppers are tallied under ``INTERLEAVED``, and what each team's
    clicks led to under ``teams`` ("A", "B"); ``ties`` counts lists with as many clicks on each team.
    """

    experiment: str
    placement: str
    options: SimulationOptions
    arms: dict[str, ArmTally] = field(default_factory=dict)
    teams: dict[str, TeamTally] = field(default_factory=dict)
    ties: int = 0
    empty_lists: int = 0
    checkouts_refused: int = 0  # sold out or no longer sold by the time the shopper checked out
    requests: int = 0
    seconds: float = 0.0
    replayable: bool = True  # False when an interleaved list's request id (its merge's seed) did not come from the seed

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

    report = SimulationReport(experiment=experiment.key, placement=experiment.placement, options=options)
    if experiment.is_interleaving:
        team_variants = {
            "A": next((variant for variant in variants.values() if variant.is_control), None),
            "B": next((variant for variant in variants.values() if not variant.is_control), None),
        }
        if None in team_variants.values():
            raise SimulationError(f"Interleaving experiment '{experiment.key}' needs a control (team A) and one other variant (team B).")
        report.teams = {
            team: TeamTally(key=variant.key, click_weight=(1 + options.lift) if variant.key in lifted else 1.0)
            for team, variant in team_variants.items()
        }

    # Separate streams, so that a longer run with the same seed starts with the same shoppers doing the same things.
    # (SeedSequence.spawn numbers its children, so the first two are the same however many are spawned.)
    id_stream, behaviour_stream, list_stream = (np.random.default_rng(seed) for seed in np.random.SeedSequence(options.seed).spawn(3))
    ids = id_stream.bytes(16 * options.visitors)
    draws = behaviour_stream.random((options.visitors, 5))  # click, position, add to cart, order, page product

    shopper = _Shopper(experiment=experiment, options=options, lifted=lifted, report=report)
    started = time.perf_counter()
    with _commits_without_flush_wait(), _seeded_request_ids(options.seed, enabled=bool(report.teams)) as request_ids:
        shopper.request_ids = request_ids
        for index in range(options.visitors):
            page_product = pages[int(draws[index, 4] * len(pages))] if pages else None
            # Interleaved lists: per position a click, an add to cart and an order draw, taken for every shopper alike.
            list_draws = list_stream.random((3, options.k)) if report.teams else None
            shopper.visit("v-" + ids[16 * index : 16 * (index + 1)].hex(), draws[index, :4], page_product, list_draws)
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


@contextmanager
def _seeded_request_ids(seed: int, *, enabled: bool) -> Iterator[RequestIdSource | None]:
    """While an interleaving run lasts, let the list views mint request ids (the merges' seeds) from ``seed``.

    The store's latest impression id goes into the stream too: the same seed on the same store
    gives the same ids, a rerun after the first run's rows gives new ones (request ids are unique).
    """
    if not enabled:
        yield None
        return
    latest = Impression.objects.aggregate(latest=Max("id"))["latest"] or 0
    with list_request_ids.seeded(np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1_000, latest)))) as source:
        yield source


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
        self.request_ids: RequestIdSource | None = None  # set for an interleaving run whose request ids come from the seed
        # Position bias: the first products of a carousel draw more clicks (weights 1, 1/2, 1/3, ...).
        weights = 1.0 / np.arange(1, options.k + 1)
        self.position_cdfs = [np.cumsum(weights[:n]) / weights[:n].sum() for n in range(1, options.k + 1)]
        self.position_shares = [weights[:n] / weights[:n].sum() for n in range(1, options.k + 1)]

    def visit(self, visitor_id: str, draws: np.ndarray, page_product: str | None, list_draws: np.ndarray | None = None) -> None:
        u_click, u_position, u_cart, u_order = (float(value) for value in draws)
        client = self.client
        client.cookies = SimpleCookie()
        client.cookies[self.cookie_name] = visitor_cookie_value(visitor_id)

        page = self._call(client.get, "/", expected=(200, 503))  # 503: the SPA is not built; the cookie is what matters
        if self.cookie_name in page.cookies:
            raise SimulationError("The storefront did not accept the simulated visitor cookie (it set a new one).")

        listing = self._call(client.get, self._list_path(page_product), expected=(200,)).json()
        if listing.get("experiment") not in (None, self.report.experiment):
            raise SimulationError(f"The list was served under experiment '{listing['experiment']}', not '{self.report.experiment}'.")
        if listing.get("strategy") == INTERLEAVED and listing.get("experiment"):
            if not self.report.teams or list_draws is None:
                raise SimulationError(f"The list was interleaved, but experiment '{self.report.experiment}' is not an interleaving one.")
            self._visit_interleaved(client, listing, list_draws)
            return
        arm = listing.get("variant") or OUTSIDE
        tally = self.report.arms.setdefault(arm, ArmTally())
        tally.click_probability = self.options.base_ctr * ((1 + self.options.lift) if arm in self.lifted else 1.0)
        tally.visitors += 1
        results = listing.get("results") or []
        if not results:
            self.report.empty_lists += 1
            return

        self._post_impression(client, listing, results)
        tally.impressions += 1
        if u_click >= tally.click_probability:
            return

        position = int(np.searchsorted(self.position_cdfs[len(results) - 1], u_position, side="right"))
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
        order = self._checkout(client, {"lines": [{"product_id": product["product_id"], "quantity": 1, "context": context}]})
        if order is None:
            return
        tally.orders += 1
        tally.revenue += Decimal(str(order["total"]))

    def _post_impression(self, client, listing: dict, results: list[dict]) -> None:
        """Report the list as seen, every position of it."""
        impression = {
            "request_id": listing["request_id"],
            "placement": self.placement,
            "positions": list(range(len(results))),
            "product_ids": [item["product_id"] for item in results],
            "experiment": listing.get("experiment"),
            "variant": listing.get("variant"),
            "strategy": listing.get("strategy") or "",
            "model_version": listing.get("model_version"),
            "event_id": f"imp-{listing['request_id']}",
        }
        self._call(client.post, "/api/impressions/", [impression], expected=(201,))

    def _visit_interleaved(self, client, listing: dict, draws: np.ndarray) -> None:
        """One shopper on an interleaved list: each position clicked on its own, B's products (1 + lift) times as likely.

        ``draws`` holds per position (columns) a click, an add-to-cart and an order draw (rows).
        """
        teams = self.report.teams
        if self.request_ids is None or listing["request_id"] != self.request_ids.last:
            self.report.replayable = False  # the merge's seed came from elsewhere: the same seed may give other lists
        tally = self.report.arms.setdefault(INTERLEAVED, ArmTally())
        tally.click_probability = self.options.base_ctr  # clicks per list without a lift
        tally.visitors += 1
        results = (listing.get("results") or [])[: self.options.k]
        if not results:
            self.report.empty_lists += 1
            return
        if any(item.get("team") not in teams for item in results):
            raise SimulationError(f"An interleaved list came with an item without a team A or B: {results!r:.300}")
        self._post_impression(client, listing, results)
        tally.impressions += 1

        shares = self.position_shares[len(results) - 1]
        clicked = [
            position for position, item in enumerate(results)
            if draws[0, position] < self.options.base_ctr * shares[position] * teams[item["team"]].click_weight
        ]  # fmt: skip
        if not clicked:
            return
        events, carted, contexts = [], [], {}
        for position in clicked:
            item = results[position]
            context = {
                "request_id": listing["request_id"],
                "placement": self.placement,
                "experiment": listing.get("experiment"),
                "position": position,
                "strategy": listing.get("strategy"),
                "team": item["team"],
            }
            context = contexts[item["product_id"]] = {key: value for key, value in context.items() if value is not None}
            event_id = f"{listing['request_id']}-{position}"
            events += [
                {"product_id": item["product_id"], "kind": "click", "context": context, "event_id": f"{event_id}-click"},
                {"product_id": item["product_id"], "kind": "view", "context": context, "event_id": f"{event_id}-view"},
            ]
            if draws[1, position] < self.options.cart_rate:
                events.append({"product_id": item["product_id"], "kind": "add_to_cart", "quantity": 1, "context": context,
                               "event_id": f"{event_id}-cart"})  # fmt: skip
                carted.append(position)
        self._call(client.post, "/api/interactions/", events, expected=(201,))
        clicks = {team: sum(1 for position in clicked if results[position]["team"] == team) for team in TEAMS}
        for team in TEAMS:
            teams[team].clicks += clicks[team]
            teams[team].carts += sum(1 for position in carted if results[position]["team"] == team)
        if clicks["A"] == clicks["B"]:
            self.report.ties += 1
        else:
            teams["A" if clicks["A"] > clicks["B"] else "B"].lists_won += 1
        tally.clicks += len(clicked)
        tally.carts += len(carted)

        ordered = [results[position] for position in carted if draws[2, position] < self.options.order_rate]
        if not ordered:
            return
        body = {"lines": [{"product_id": item["product_id"], "quantity": 1, "context": contexts[item["product_id"]]} for item in ordered]}
        order = self._checkout(client, body)
        if order is None:
            return
        tally.orders += 1
        tally.revenue += Decimal(str(order["total"]))
        team_of = {item["product_id"]: item["team"] for item in ordered}
        line_totals = {team: Decimal("0") for team in TEAMS}
        for line in order.get("lines") or []:
            if line.get("product_id") in team_of:
                line_totals[team_of[line["product_id"]]] += Decimal(str(line["line_total"]))
        for team in set(team_of.values()):
            teams[team].orders += 1
            teams[team].revenue += line_totals[team]

    def _checkout(self, client, body: dict) -> dict | None:
        """Place the order; None when the store refused it as sold out or no longer sold (counted in the report)."""
        response = self._call(client.post, "/api/checkout/", body, expected=(201, 400, 409))
        if response.status_code != 201:
            code = response.json().get("code")
            if code not in {"out_of_stock", "insufficient_stock", "product_unavailable"}:
                raise SimulationError(f"POST /api/checkout/ answered {response.status_code}: {response.content[:300]!r}")
            self.report.checkouts_refused += 1
            return None
        return response.json()

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
