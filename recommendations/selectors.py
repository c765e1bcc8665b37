"""Reads for recommendation lists: score with the active model, filter, render, cache.

Every list is cached under a key naming the model version and every input, e.g.
``rec:v12:similar:P001:k10:x-:a3f9c01d2e`` (``x``: the exclude list's digest, ``a``: the
availability digest, see :mod:`recommendations.serving`). A newly activated model or a
product going out of stock changes the keys, so nothing is ever swept.

A personal list's key names whose list it is and their activity token (:mod:`shop.activity`),
read from the cache, not the database:
``rec:v12:personal:hybrid:av-1f3e...:g18c2d9a41b7f3e9a1:p-:w0.2,0.8:xp1:k10:x-:a3f9c01d2e``.
Every writer of interactions (events, checkout, feedback, the CSV import, the visitor -> user
merge) gives the customer a new token after its commit, so a click stored a moment ago gives a
new key, hence a fresh list. Who: ``c<customer_id>`` (a customer named by a token client or
staff), ``u<user pk>.<visitor id>`` (a signed-in user: their customer's token, and the visitor
cookie's, whose history they read until they have a customer of their own), ``a<visitor id>``
(an anonymous visitor: only while no user has claimed that customer; the claim changes the
token, and the next list is read from the database, which says the history is not theirs).
When the cache cannot give the token (Redis down or hung), the list is computed from the
database and cached nowhere, so it is never stale. Visitors without history share one
cold-start entry (``c-``), which depends on no customer; a visitor whose cookie this very
request minted goes straight to it (no token, no query). What can still be stale, for at most
the TTL: a list whose bump was lost while the cache kept answering reads (one failed write),
and a customer linked to a user or deleted outside the writers above (in the admin).

Without an active model every list falls back to the store's popular products
(``shop.selectors.product_list`` ordered by popularity), under ``rec:none:...`` keys.

Work per request: a cache hit runs no query (a personal list reads its token from the cache:
one round trip); a miss adds one query for the product rows (``product_id__in``), a personal
list two more: the customer with their newest event, then their latest events and purchases.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from django.core.cache import cache
from django.db import connection

from config.api_errors import ApiError
from recommendations.engine import (
    EVENT_KINDS,
    REASON_ALSO_BOUGHT,
    REASON_CF,
    REASON_CONTENT,
    REASON_TRENDING,
    REASON_TRENDING_CATEGORY,
    Recommendations,
    user_history,
)
from recommendations.engine.interleaving import TEAM_A, team_draft
from recommendations.serving import (
    Availability,
    ServingModel,
    availability_tracker,
    cache_key,
    cache_timeout,
    ids_digest,
    local_list_cache,
    serving_exclude_purchased,
    serving_model,
)
from shop.activity import activity_generation, customer_activity_key, user_activity_key
from shop.models import Category, Customer, Interaction, Product
from shop.selectors import ProductFilters, category_with_descendant_ids, product_id_may_exist, product_list

# The latest events of a customer that shape their personal list (the hybrid uses the
# most recent 20 distinct products among them).
HISTORY_EVENTS = 100
PURCHASES_READ = 1_000
# Extra candidates asked of the model, in case a product became unavailable since the
# availability mask was last read.
CANDIDATE_MARGIN = 8

STRATEGY_CONTENT = "content"
STRATEGY_ALSO_BOUGHT = "also_bought"
STRATEGY_HYBRID = "hybrid"
STRATEGY_CF = "cf"
STRATEGY_TRENDING = "trending"
STRATEGY_POPULAR = "popular"  # no active model: popular products from the database

SOURCE_MODEL = "model"
SOURCE_CACHE = "cache"


@dataclass(frozen=True)
class RecommendationList:
    """A ranked list of products ready to render, and how it was made."""

    results: list[dict]
    strategy: str
    model_version: int | None
    source: str = SOURCE_MODEL


@dataclass(frozen=True)
class CustomerRef:
    """Whose personal list: a named customer, or the request's signed-in user and visitor cookie."""

    customer_id: str | None = None
    user_id: int | None = None
    visitor_id: str | None = None


@dataclass(frozen=True)
class HistoryEvent:
    pk: int
    product_pk: int
    kind: str
    seconds: float  # since the epoch


@dataclass(frozen=True)
class CustomerHistory:
    """A customer's latest events (newest first) and the products they bought, latest first."""

    latest: list[HistoryEvent]
    purchased_product_pks: list[int]


@dataclass(frozen=True)
class CustomerState:
    """The customer a request means (None: a visitor not stored yet) and the pk of their newest event."""

    customer_pk: int | None
    latest_event_pk: int | None


# -- public lists -------------------------------------------------------------------------


def recommendations_similar(
    *, product_id: str, k: int, exclude: Sequence[str] = (), variant_digest: str | None = None
) -> RecommendationList:
    """Return products like this one by their text (content neighbours), filled from its category.

    Raises ApiError 404 (`product_not_found`) for a product the store does not have.
    """
    model = serving_model()
    if model is None:
        return _popular_for_product(product_id=product_id, k=k, exclude=exclude, kind="similar")
    availability = availability_tracker.current()
    key = cache_key(
        f"v{model.version_id}", "similar", product_id, f"k{k}", _exclude_part(exclude), f"a{availability.digest}", *_variant_part(variant_digest)
    )

    def compute() -> RecommendationList:
        mask = availability_tracker.mask_for(model, availability)
        item = model.bundle.index_of(product_id)
        banned = _indices(model, exclude)
        if item >= 0:
            found = model.similar.recommend(None, k + CANDIDATE_MARGIN, current_item=item, exclude=banned, available=mask)
            return _listing(model, found, k=k, strategy=STRATEGY_CONTENT, subject_id=product_id)
        # A product newer than the model: its category's trending products.
        category = model.bundle.category_index(_product_or_404(product_id).category.name)
        found = model.similar.recommend(None, k + CANDIDATE_MARGIN, category=category, exclude=banned, available=mask)
        return _listing(model, found, k=k, strategy=STRATEGY_CONTENT)

    return _cached(key, compute)


def recommendations_also_bought(
    *, product_id: str, k: int, exclude: Sequence[str] = (), variant_digest: str | None = None
) -> RecommendationList:
    """Return what customers who bought this product also bought (item CF on purchases), filled from its category.

    Raises ApiError 404 (`product_not_found`) for a product the store does not have.
    """
    model = serving_model()
    if model is None:
        return _popular_for_product(product_id=product_id, k=k, exclude=exclude, kind="also-bought")
    availability = availability_tracker.current()
    key = cache_key(
        f"v{model.version_id}", "also-bought", product_id, f"k{k}", _exclude_part(exclude), f"a{availability.digest}", *_variant_part(variant_digest)
    )

    def compute() -> RecommendationList:
        mask = availability_tracker.mask_for(model, availability)
        item = model.bundle.index_of(product_id)
        banned = _indices(model, exclude)
        n = k + CANDIDATE_MARGIN
        if item >= 0:
            found = model.hybrid.also_bought(item, n, exclude=banned, available=mask)
            found = _fill_from_trending(model, found, n, category=model.category_of(item), banned=np.append(banned, item), mask=mask)
            return _listing(model, found, k=k, strategy=STRATEGY_ALSO_BOUGHT, subject_id=product_id)
        category = model.bundle.category_index(_product_or_404(product_id).category.name)
        found = _fill_from_trending(model, Recommendations.empty(), n, category=category, banned=banned, mask=mask)
        return _listing(model, found, k=k, strategy=STRATEGY_ALSO_BOUGHT)

    return _cached(key, compute)


def recommendations_trending(
    *, category: str | None, k: int, exclude: Sequence[str] = (), variant_digest: str | None = None
) -> RecommendationList:
    """Return the trending products (time-decayed events), of a category and its sub-categories if given.

    Raises ApiError 400 (`unknown_category`, field `category`) for a slug the store does not have.
    """
    model = serving_model()
    if model is None:
        return _popular(category=category, k=k, exclude=exclude, key_parts=("trending", category or "all"))
    availability = availability_tracker.current()
    key = cache_key(
        f"v{model.version_id}", "trending", category or "all", f"k{k}", _exclude_part(exclude), f"a{availability.digest}",
        *_variant_part(variant_digest),
    )

    def compute() -> RecommendationList:
        mask = availability_tracker.mask_for(model, availability)
        banned = _indices(model, exclude)
        n = k + CANDIDATE_MARGIN
        if category is None:
            found = model.hybrid.trending(n, exclude=banned, available=mask)
            return _listing(model, found, k=k, strategy=STRATEGY_TRENDING)
        names = _category_names(slug=category)
        indices = [index for name in names if (index := model.bundle.category_index(name)) is not None]
        if not indices:  # a category newer than the model
            return _popular(category=category, k=k, exclude=exclude, key_parts=None)
        parts = [model.hybrid.trending(n, category=index, exclude=banned, available=mask) for index in indices]
        return _listing(model, _merge_by_score(parts, n), k=k, strategy=STRATEGY_TRENDING)

    return _cached(key, compute)


def recommendations_popular(
    *, k: int, exclude: Sequence[str] = (), product_id: str | None = None, variant_digest: str | None = None
) -> RecommendationList:
    """Return the store's popular available products, read from the database (no model needed).

    The page's product is left out. Raises ApiError 404 for a product the store does not have.
    """
    if product_id:
        _product_or_404(product_id)
    exclude = [*exclude, *([product_id] if product_id else [])]
    return _popular(category=None, k=k, exclude=exclude, key_parts=("popular", *_variant_part(variant_digest)))


# Product placements (a product page) and personal placements (home, cart, order) read a
# variant's strategy differently: "content" on a product page is its similar products,
# elsewhere the customer's list ranked by content alone.
PLACEMENT_KIND_PRODUCT = "product"
PLACEMENT_KIND_PERSONAL = "personal"


def recommendations_for_config(
    *,
    config: dict,
    variant_digest: str,
    placement_kind: str,
    customer: CustomerRef,
    product_id: str | None,
    k: int,
    exclude: Sequence[str] = (),
) -> RecommendationList:
    """Return the list an experiment variant's serving config asks for.

    ``config``: a validated serving config (``strategy``, ``w_content``, ``w_cf``, ``options``).
    """
    strategy = config["strategy"]
    options = config.get("options") or {}
    if strategy == STRATEGY_TRENDING:
        return recommendations_trending(category=None, k=k, exclude=[*exclude, *([product_id] if product_id else [])], variant_digest=variant_digest)
    if strategy == STRATEGY_POPULAR:
        return recommendations_popular(k=k, exclude=exclude, product_id=product_id, variant_digest=variant_digest)
    if placement_kind == PLACEMENT_KIND_PRODUCT and product_id and strategy == STRATEGY_CONTENT:
        return recommendations_similar(product_id=product_id, k=k, exclude=exclude, variant_digest=variant_digest)
    if placement_kind == PLACEMENT_KIND_PRODUCT and product_id and strategy == STRATEGY_CF:
        return recommendations_also_bought(product_id=product_id, k=k, exclude=exclude, variant_digest=variant_digest)
    weights = {STRATEGY_CONTENT: (1.0, 0.0), STRATEGY_CF: (0.0, 1.0)}.get(strategy, (config.get("w_content"), config.get("w_cf")))
    return recommendations_personal(
        customer=customer,
        k=k,
        product_id=product_id,
        exclude=exclude,
        w_content=weights[0],
        w_cf=weights[1],
        strategy=strategy,
        exclude_purchased=options.get("exclude_purchased"),
        variant_digest=variant_digest,
    )


STRATEGY_INTERLEAVED = "interleaved"


def recommendations_interleaved(
    *,
    teams: tuple[tuple[dict, str], tuple[dict, str]],
    request_id: str,
    placement_kind: str,
    customer: CustomerRef,
    product_id: str | None,
    k: int,
    exclude: Sequence[str] = (),
) -> RecommendationList:
    """Return one list merging two serving configs' rankings by team draft, each result marked with its ``team``.

    Both rankings come through the usual cached lists (a hit costs what it always does); the
    merge is redone per response, seeded by its request id, so a response can be replayed.
    """
    lists = [
        recommendations_for_config(
            config=config, variant_digest=digest, placement_kind=placement_kind,
            customer=customer, product_id=product_id, k=k, exclude=exclude,
        )  # fmt: skip
        for config, digest in teams
    ]
    by_id = [{item["product_id"]: item for item in listing.results} for listing in lists]
    merged = team_draft(
        [item["product_id"] for item in lists[0].results], [item["product_id"] for item in lists[1].results], k, seed=request_id
    )
    results = [
        {**by_id[0 if team == TEAM_A else 1][product_id], "team": team} for product_id, team in zip(merged.items, merged.teams)
    ]
    source = SOURCE_CACHE if all(listing.source == SOURCE_CACHE for listing in lists) else SOURCE_MODEL
    return RecommendationList(results, STRATEGY_INTERLEAVED, lists[0].model_version, source=source)


# -- personal lists -----------------------------------------------------------------------


def recommendations_personal(
    *,
    customer: CustomerRef,
    k: int,
    product_id: str | None = None,
    exclude: Sequence[str] = (),
    w_content: float | None = None,
    w_cf: float | None = None,
    strategy: str = STRATEGY_HYBRID,
    exclude_purchased: bool | None = None,
    variant_digest: str | None = None,
) -> RecommendationList:
    """Return a customer's list from their interactions up to this request, with the cold-start chain.

    History -> CF and content neighbours of their recent products (``product_id``, the page
    they are on, counts as the most recent); no history -> the product's neighbours;
    nothing -> trending. Weights default to the model's own. Products they saw are left
    out, and products they bought unless staff turned ``exclude_purchased`` off (or an
    experiment variant says otherwise).
    The key names the customer's activity token, so the list changes with every new event.
    Raises ApiError 404 for a named customer or a product the store does not have.
    """
    model = serving_model()
    if model is None:
        if customer.customer_id is not None:
            customer_state(customer=customer)  # ApiError 404 for a customer the store does not have
        if product_id:
            _product_or_404(product_id)
        return _popular(category=None, k=k, exclude=[*exclude, *([product_id] if product_id else [])], key_parts=("personal",))
    weights = (
        float(model.hybrid.w_content if w_content is None else w_content),
        float(model.hybrid.w_cf if w_cf is None else w_cf),
    )
    if exclude_purchased is None:
        exclude_purchased = serving_exclude_purchased()
    availability = availability_tracker.current()

    def key_of(*who: str) -> str:
        return cache_key(
            f"v{model.version_id}",
            "personal",
            strategy,
            *who,
            f"p{product_id or '-'}",
            f"w{weights[0]:g},{weights[1]:g}",
            f"xp{int(exclude_purchased)}",
            f"k{k}",
            _exclude_part(exclude),
            f"a{availability.digest}",
            *_variant_part(variant_digest),
        )

    def listing_of(history: CustomerHistory) -> RecommendationList:
        mask = availability_tracker.mask_for(model, availability)
        current_item, category, subject_id = None, None, None
        if product_id:
            item = model.bundle.index_of(product_id)
            if item >= 0:
                current_item, subject_id = item, product_id
            else:
                category = model.bundle.category_index(_product_or_404(product_id).category.name)
        banned = _indices(model, exclude)
        if exclude_purchased:
            banned = np.concatenate((banned, model.items_of_product_pks(history.purchased_product_pks)))
        found = model.blend(*weights).recommend(
            _history_indices(model, history.latest),
            k + CANDIDATE_MARGIN,
            current_item=current_item,
            category=category,
            exclude=banned,
            available=mask,
        )
        return _listing(model, found, k=k, strategy=strategy, subject_id=subject_id)

    def cold_start() -> RecommendationList:
        # No history: the same list for everyone, cached once for all of them.
        return _cached(key_of("c-"), lambda: listing_of(CustomerHistory([], [])))

    def compute() -> RecommendationList:
        state = customer_state(customer=customer)
        if not state.latest_event_pk:
            return cold_start()
        return listing_of(customer_history(customer_pk=state.customer_pk))

    who, activity_keys = _personal_subject(customer)
    if not activity_keys:
        return cold_start()
    generation = activity_generation(keys=activity_keys)  # before any database read: see shop.activity
    if generation is None:
        # The cache cannot say which list is current: read the database and keep the list nowhere.
        return compute()
    return _cached(key_of(who, f"g{generation}"), compute)


def _personal_subject(customer: CustomerRef) -> tuple[str, tuple[str, ...]]:
    """Return the key part naming whose list a request reads, and the activity keys whose tokens complete it.

    An anonymous visitor (``a``) and a named customer (``c``) are different readers of the same
    customer: only the anonymous one loses the history once a user claims it.
    """
    if customer.customer_id is not None:
        return f"c{customer.customer_id}", (customer_activity_key(customer.customer_id),)
    if customer.user_id is not None:
        # Until the user has a customer of their own they read the visitor cookie's (see customer_state).
        visitor_keys = (customer_activity_key(customer.visitor_id),) if customer.visitor_id else ()
        return f"u{customer.user_id}.{customer.visitor_id or '-'}", (user_activity_key(customer.user_id), *visitor_keys)
    if customer.visitor_id:
        return f"a{customer.visitor_id}", (customer_activity_key(customer.visitor_id),)
    return "c-", ()


def customer_state(*, customer: CustomerRef) -> CustomerState:
    """Return the customer a request means and their newest event, in one query (on a personal list's cache miss).

    The newest event is the first entry of the (customer, -timestamp) index. A signed-in
    user without a customer of their own yet reads the visitor cookie's customer; an
    anonymous visitor reads only a customer no user has claimed (after signing out on a
    shared device the cookie still names the customer linked to that user, whose history
    is not this visitor's). Raises ApiError 404 (`customer_not_found`) when a named
    customer does not exist.
    """
    if customer.customer_id is not None:
        state = _customer_state_row("customer_id", customer.customer_id)
        if state is None:
            raise ApiError(f"Customer '{customer.customer_id}' not found.", code="customer_not_found", status_code=404)
        return state
    if customer.user_id is not None and (state := _customer_state_row("user_id", customer.user_id)):
        return state
    if customer.visitor_id and (state := _customer_state_row("customer_id", customer.visitor_id, unclaimed=True)):
        return state
    return CustomerState(None, None)


def _customer_state_row(column: str, value, *, unclaimed: bool = False) -> CustomerState | None:
    # Written out rather than built by the ORM: it runs on every personal cache miss, and
    # compiling the annotated queryset cost more than the query itself.
    with connection.cursor() as cursor:
        cursor.execute(_customer_state_sql(column, unclaimed), [value])
        row = cursor.fetchone()
    return CustomerState(*row) if row else None


@functools.cache
def _customer_state_sql(column: str, unclaimed: bool) -> str:
    name = connection.ops.quote_name
    customers, interactions = name(Customer._meta.db_table), name(Interaction._meta.db_table)
    customer_fk = name(Interaction._meta.get_field("customer").column)
    timestamp, interaction_pk = name(Interaction._meta.get_field("timestamp").column), name(Interaction._meta.pk.column)
    customer_pk = name(Customer._meta.pk.column)
    lookup = name(Customer._meta.get_field(column).column)
    claimed_by = name(Customer._meta.get_field("user").column)
    newest = (
        f"SELECT i.{interaction_pk} FROM {interactions} i WHERE i.{customer_fk} = c.{customer_pk} "
        f"ORDER BY i.{timestamp} DESC, i.{interaction_pk} DESC LIMIT 1"
    )
    unclaimed_only = f" AND c.{claimed_by} IS NULL" if unclaimed else ""
    return f"SELECT c.{customer_pk}, ({newest}) FROM {customers} c WHERE c.{lookup} = %s{unclaimed_only} LIMIT 1"


def customer_history(*, customer_pk: int, limit: int | None = None, purchases: int = PURCHASES_READ) -> CustomerHistory:
    """Return the customer's latest events and what they bought, in one query.

    Rows: the latest ``limit`` events (default HISTORY_EVENTS) and every purchase, newest
    first, at most ``limit + purchases`` of them; products by primary key and times as epoch
    seconds, so the query reads the customer's rows and nothing else.
    """
    limit = limit or HISTORY_EVENTS
    with connection.cursor() as cursor:
        cursor.execute(_customer_history_sql(), [customer_pk, Interaction.Kind.PURCHASE, customer_pk, limit, limit + purchases])
        found = [HistoryEvent(*row) for row in cursor.fetchall()]
    bought = dict.fromkeys(event.product_pk for event in found if event.kind == Interaction.Kind.PURCHASE)
    return CustomerHistory(found[:limit], list(bought))


@functools.cache
def _customer_history_sql() -> str:
    # Written out for the same reason as the customer state: the ORM spent longer compiling
    # this (a sliced subquery in an OR) than the database spent answering it.
    name = connection.ops.quote_name
    table = name(Interaction._meta.db_table)
    pk, customer, product, kind, timestamp = (
        name(Interaction._meta.get_field(field).column) for field in ("id", "customer", "product", "kind", "timestamp")
    )
    latest = f"SELECT {pk} FROM {table} WHERE {customer} = %s ORDER BY {timestamp} DESC, {pk} DESC LIMIT %s"
    return (
        f"SELECT {pk}, {product}, {kind}, {_epoch_seconds_sql(timestamp)} FROM {table} "
        f"WHERE {customer} = %s AND ({kind} = %s OR {pk} IN ({latest})) ORDER BY {timestamp} DESC, {pk} DESC LIMIT %s"
    )


def _epoch_seconds_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})::double precision"
    if connection.vendor == "sqlite":
        return f"CAST(strftime('%%s', {column}) AS REAL)"  # %% survives parameter substitution
    raise NotImplementedError(f"Personal lists do not support the {connection.vendor} database yet.")


# -- caching ------------------------------------------------------------------------------


def _cached(key: str, compute: Callable[[], RecommendationList]) -> RecommendationList:
    """Return the list cached under ``key`` (this process's LRU, then Redis), or compute, cache (JSON) and return it."""
    stored = local_list_cache.get(key)
    if stored is None:
        stored = cache.get(key)
        if isinstance(stored, dict) and {"results", "strategy", "model_version"} <= stored.keys():
            local_list_cache.set(key, stored, timeout=cache_timeout())
        else:
            stored = None
    if stored is not None:
        return RecommendationList(stored["results"], stored["strategy"], stored["model_version"], source=SOURCE_CACHE)
    listing = compute()
    value = {"results": listing.results, "strategy": listing.strategy, "model_version": listing.model_version}
    cache.set(key, value, timeout=cache_timeout())
    local_list_cache.set(key, value, timeout=cache_timeout())
    return listing


def _variant_part(variant_digest: str | None) -> tuple[str, ...]:
    """The key part naming an experiment variant's serving config (none outside experiments)."""
    return (f"e{variant_digest}",) if variant_digest else ()


def _exclude_part(exclude: Sequence[str]) -> str:
    return f"x{ids_digest(sorted(set(exclude)))}" if exclude else "x-"


# -- scoring helpers ----------------------------------------------------------------------


def _indices(model: ServingModel, product_ids: Sequence[str]) -> np.ndarray:
    """Return the model's item indices of these products, leaving out the ones it does not know."""
    if not product_ids:
        return np.zeros(0, dtype=np.int64)
    indices = model.bundle.indices_of(list(product_ids))
    return indices[indices >= 0]


_KIND_CODES = {kind: code for code, kind in enumerate(EVENT_KINDS)}


def _history_indices(model: ServingModel, history: list[HistoryEvent]) -> tuple[np.ndarray, np.ndarray]:
    """Return the customer's (items, weights) as the model sees them: known products only, weighted and decayed."""
    known = [(model.item_of_product_pk.get(event.product_pk, -1), event) for event in history]
    known = [(item, event) for item, event in known if item >= 0]
    if not known:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    params = model.params
    found = user_history(
        np.array([item for item, _ in known], dtype=np.int64),
        kinds=np.array([_KIND_CODES.get(event.kind, 0) for _, event in known], dtype=np.int8),
        timestamps=np.array([event.seconds for _, event in known], dtype=np.float64),
        event_weights=params.get("event_weights"),
        half_life_days=params.get("half_life_days"),
        reference_time=time.time(),
    )
    return found.items, found.weights


def _fill_from_trending(model, found: Recommendations, n: int, *, category, banned, mask) -> Recommendations:
    """Append trending products (the category's first, then any) until ``n`` or none are left."""
    pieces, taken = [found], found.items
    for scope in ([category, None] if category is not None else [None]):
        missing = n - sum(piece.items.size for piece in pieces)
        if missing <= 0:
            break
        extra = model.hybrid.trending(missing, category=scope, exclude=np.concatenate((banned, taken)), available=mask)
        if extra.items.size:
            if found.items.size:  # filler ranks below every real neighbour
                extra = extra._replace(scores=np.zeros(extra.items.size, dtype=np.float32))
            pieces.append(extra)
            taken = np.concatenate((taken, extra.items))
    return Recommendations(*(np.concatenate([getattr(piece, name) for piece in pieces]) for name in Recommendations._fields))


def _merge_by_score(parts: list[Recommendations], n: int) -> Recommendations:
    """Return the ``n`` best of several lists (trending per sub-category), by score then item index."""
    merged = Recommendations(*(np.concatenate([getattr(part, name) for part in parts]) for name in Recommendations._fields))
    order = np.lexsort((merged.items, -merged.scores))[:n]
    return Recommendations(*(getattr(merged, name)[order] for name in Recommendations._fields))


# -- rendering ----------------------------------------------------------------------------


def _listing(model: ServingModel, found: Recommendations, *, k: int, strategy: str, subject_id: str | None = None) -> RecommendationList:
    """Render model output as a list: one product query, ranked order kept, unavailable products dropped.

    ``subject_id``: the product the list is about; ApiError 404 when the store no longer has it.
    """
    item_ids = model.bundle.item_ids[found.items].tolist()
    anchor_ids = [model.bundle.item_ids[anchor] if anchor >= 0 else None for anchor in found.anchors.tolist()]
    wanted = set(item_ids) | {anchor for anchor in anchor_ids if anchor} | ({subject_id} if subject_id else set())
    products = _products_by_id(wanted)
    if subject_id and subject_id not in products:
        raise _product_not_found(subject_id)
    results = []
    for item_id, score, reason, anchor_id in zip(item_ids, found.scores.tolist(), found.reasons.tolist(), anchor_ids):
        product = products.get(item_id)
        if product is None or not product.available:
            continue
        results.append(recommended_product(product, score=score, reason=reason_text(reason, product, products.get(anchor_id))))
        if len(results) == k:
            break
    return RecommendationList(results, strategy, model.version_id)


class ProductCard(NamedTuple):
    """What a result shows of a product, and whether it may be shown now."""

    product_id: str
    title: str
    price: object
    currency: str
    image_url: str
    category_name: str
    is_active: bool
    stock: int | None

    @classmethod
    def of(cls, product: Product) -> "ProductCard":
        return cls(product.product_id, product.title, product.price, product.currency, product.image_url,
                   product.category.name, product.is_active, product.stock)  # fmt: skip

    @property
    def available(self) -> bool:
        return self.is_active and (self.stock is None or self.stock > 0)


def _products_by_id(product_ids: set[str]) -> dict[str, ProductCard]:
    """Return the cards of these products, in one query."""
    product_ids = {product_id for product_id in product_ids if product_id_may_exist(product_id)}
    if not product_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_product_cards_sql(len(product_ids)), sorted(product_ids))
        return {row[0]: ProductCard(*row) for row in cursor.fetchall()}


@functools.cache
def _product_cards_sql(count: int) -> str:
    # Written out: every cache miss runs it, and the ORM's compiling of an IN list with a join
    # cost more than the query (lists are at most k + CANDIDATE_MARGIN products and their anchors).
    name = connection.ops.quote_name

    def product_column(field: str) -> str:
        return "p." + name(Product._meta.get_field(field).column)

    selected = [product_column(field) for field in ("product_id", "title", "price", "currency", "image_url")]
    selected += ["c." + name(Category._meta.get_field("name").column), product_column("is_active"), product_column("stock")]
    return (
        f"SELECT {', '.join(selected)} FROM {name(Product._meta.db_table)} p "
        f"JOIN {name(Category._meta.db_table)} c ON c.{name(Category._meta.pk.column)} = {product_column('category')} "
        f"WHERE {product_column('product_id')} IN ({', '.join(['%s'] * count)})"
    )


def recommended_product(product: ProductCard, *, score: float, reason: str) -> dict:
    """Return one result as the API shows it (JSON-ready, so it caches as is)."""
    return {
        "product_id": product.product_id,
        "title": product.title,
        "price": f"{product.price:.2f}",
        "currency": product.currency,
        "image_url": product.image_url,
        "category": product.category_name,
        "score": round(float(score), 6),
        "reason": reason,
    }


def reason_text(reason: str, product: ProductCard, anchor: ProductCard | None) -> str:
    """Return the line a shopper reads under a recommended product."""
    if reason == REASON_TRENDING_CATEGORY:
        return f"Popular in {product.category_name} this week"
    if reason == REASON_TRENDING:
        return "Trending now"
    if anchor is None:
        return "Recommended for you"
    if reason == REASON_CF:
        return f"Because you viewed {anchor.title}"
    if reason == REASON_CONTENT:
        return f"Similar to {anchor.title}"
    if reason == REASON_ALSO_BOUGHT:
        return f"Customers who bought {anchor.title} also bought this"
    return "Recommended for you"


# -- lookups ------------------------------------------------------------------------------


def _product_not_found(product_id: str) -> ApiError:
    return ApiError(f"Product '{product_id}' not found.", code="product_not_found", status_code=404)


def _product_or_404(product_id: str) -> Product:
    if not product_id_may_exist(product_id):  # a NUL: no such product, and PostgreSQL would refuse the query
        raise _product_not_found(product_id)
    product = Product.objects.select_related("category").defer("description").filter(product_id=product_id).first()
    if product is None:
        raise _product_not_found(product_id)
    return product


def _category_names(*, slug: str) -> list[str]:
    """Return the names of the category with this slug and of those below it (ApiError 400 when unknown)."""
    ids = category_with_descendant_ids(slug=slug)
    return list(Category.objects.filter(pk__in=ids).values_list("name", flat=True))


# -- no active model ----------------------------------------------------------------------


def _popular_for_product(*, product_id: str, k: int, exclude: Sequence[str], kind: str) -> RecommendationList:
    """Without a model: the popular products of this product's category (ApiError 404 when unknown)."""
    product = _product_or_404(product_id)
    return _popular(
        category=product.category.slug, k=k, exclude=[*exclude, product_id], key_parts=(kind, product_id)
    )


def _popular(*, category: str | None, k: int, exclude: Sequence[str], key_parts: tuple | None) -> RecommendationList:
    """Return the store's popular available products (of a category), from the database; cached unless ``key_parts`` is None."""

    def compute() -> RecommendationList:
        products = (
            product_list(filters=ProductFilters(category=category, in_stock=True, ordering="popularity"))
            .exclude(product_id__in=[product_id for product_id in exclude if product_id_may_exist(product_id)])
            .order_by("-popularity", "-created_at", "product_id")
            .defer("description")[:k]
        )
        reason = "Trending now" if category is None else None
        results = [
            recommended_product(
                ProductCard.of(product), score=float(product.popularity), reason=reason or f"Popular in {product.category.name}"
            )
            for product in products
        ]
        return RecommendationList(results, STRATEGY_POPULAR, None)

    if key_parts is None:
        return compute()
    availability: Availability = availability_tracker.current()
    key = cache_key("none", *key_parts, f"c{category or '-'}", f"k{k}", _exclude_part(exclude), f"a{availability.digest}")
    return _cached(key, compute)
