"""Recommendation lists, each read in the same order: model, cache key, and on a miss engine, store rows, rendering.

Without an active model every list is the store's popular products. The engine scores
(:mod:`recommendations.engine`), :mod:`recommendations.store` reads the database,
:mod:`recommendations.rendering` makes results and :mod:`recommendations.serving_cache` keys
and caches them. Keys, personal lists' activity tokens and the queries per request:
``docs/serving.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from recommendations.engine import Recommendations
from recommendations.engine.combine import fill_from_trending, merge_by_score
from recommendations.engine.explain import RULE_PURCHASED, RankingTrace
from recommendations.rendering import RecommendationList, list_results, listed_product_ids, popular_results
from recommendations.serving import Availability, ServingModel, availability_tracker, serving_exclude_purchased, serving_model
from recommendations.serving_cache import cached_list, list_key, variant_part
from recommendations.tracing import active_trace
from recommendations.store import (
    NO_HISTORY,
    CustomerHistory,
    CustomerRef,
    category_slugs,
    customer_history,
    customer_state,
    popular_products,
    product_not_found,
    product_or_404,
    products_by_id,
)
from shop.activity import activity_generation, customer_activity_key, user_activity_key

# Extra candidates asked of the model, in case a product became unavailable since the
# availability mask was last read. Catalogues with item groups ask for more still
# (ServingModel.candidate_count), as a list shows one variant per group.
CANDIDATE_MARGIN = 8

STRATEGY_CONTENT = "content"
STRATEGY_ALSO_BOUGHT = "also_bought"
STRATEGY_HYBRID = "hybrid"
STRATEGY_CF = "cf"
STRATEGY_TRENDING = "trending"
STRATEGY_POPULAR = "popular"  # no active model: popular products from the database


# -- product and trending lists ---------------------------------------------------------------


def recommendations_similar(
    *, product_id: str, k: int, exclude: Sequence[str] = (), variant_digest: str | None = None
) -> RecommendationList:
    """Return products like this one by their text (content neighbours), filled from its category.

    Raises ApiError 404 (`product_not_found`) for a product the store does not have.
    """
    return _product_list("similar", _similar_list, product_id=product_id, k=k, exclude=exclude, variant_digest=variant_digest)


def _product_list(
    kind: str, compute: Callable[..., RecommendationList], *, product_id: str, k: int, exclude: Sequence[str], variant_digest: str | None
) -> RecommendationList:
    """Return a product page's list of this kind: cached, else ``compute(model, availability, ...)``; popular without a model."""
    model = serving_model()
    if model is None:
        return _popular_for_product(product_id=product_id, k=k, exclude=exclude, kind=kind)
    availability = availability_tracker.current()
    key = list_key(model.version_id, kind, product_id, k=k, exclude=exclude, availability_digest=availability.digest, variant_digest=variant_digest)
    return cached_list(key, partial(compute, model, availability, product_id=product_id, k=k, exclude=exclude))


def _similar_list(model: ServingModel, availability: Availability, *, product_id: str, k: int, exclude: Sequence[str]) -> RecommendationList:
    mask, banned, n, trace = _ranking_inputs(model, availability, k=k, exclude=exclude)
    item = model.bundle.index_of(product_id)
    if item >= 0:
        found = model.similar.recommend(None, n, current_item=item, exclude=banned, available=mask, trace=trace)
        return _rendered(model, found, k=k, strategy=STRATEGY_CONTENT, subject_id=product_id)
    category = _category_of_new_product(model, product_id)
    found = model.similar.recommend(None, n, category=category, exclude=banned, available=mask, trace=trace)
    return _rendered(model, found, k=k, strategy=STRATEGY_CONTENT, subject_id=product_id)


def recommendations_also_bought(
    *, product_id: str, k: int, exclude: Sequence[str] = (), variant_digest: str | None = None
) -> RecommendationList:
    """Return what customers who bought this product also bought (item CF on purchases), filled from its category.

    Raises ApiError 404 (`product_not_found`) for a product the store does not have.
    """
    return _product_list("also-bought", _also_bought_list, product_id=product_id, k=k, exclude=exclude, variant_digest=variant_digest)


def _also_bought_list(model: ServingModel, availability: Availability, *, product_id: str, k: int, exclude: Sequence[str]) -> RecommendationList:
    mask, banned, n, trace = _ranking_inputs(model, availability, k=k, exclude=exclude)
    item = model.bundle.index_of(product_id)
    if item >= 0:
        found = model.hybrid.also_bought(item, n, exclude=banned, available=mask, trace=trace)
        found = fill_from_trending(found, n, model.hybrid.trending_, category=model.category_of(item), exclude=np.append(banned, item), available=mask)
        return _rendered(model, found, k=k, strategy=STRATEGY_ALSO_BOUGHT, subject_id=product_id)
    category = _category_of_new_product(model, product_id)
    found = fill_from_trending(Recommendations.empty(), n, model.hybrid.trending_, category=category, exclude=banned, available=mask)
    return _rendered(model, found, k=k, strategy=STRATEGY_ALSO_BOUGHT, subject_id=product_id)


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
    key = list_key(model.version_id, "trending", category or "all", k=k, exclude=exclude, availability_digest=availability.digest, variant_digest=variant_digest)
    return cached_list(key, partial(_trending_list, model, availability, category=category, k=k, exclude=exclude))


def _trending_list(model: ServingModel, availability: Availability, *, category: str | None, k: int, exclude: Sequence[str]) -> RecommendationList:
    mask, banned, n, trace = _ranking_inputs(model, availability, k=k, exclude=exclude)
    if category is None:
        return _rendered(model, model.hybrid.trending(n, exclude=banned, available=mask, trace=trace), k=k, strategy=STRATEGY_TRENDING)
    indices = [index for key in category_slugs(slug=category) if (index := model.bundle.category_index(key)) is not None]
    if not indices:  # a category newer than the model
        return _popular_list(category=category, k=k, exclude=exclude)
    parts = [model.hybrid.trending(n, category=index, exclude=banned, available=mask, trace=trace) for index in indices]
    return _rendered(model, merge_by_score(parts, n), k=k, strategy=STRATEGY_TRENDING)


def recommendations_popular(
    *, k: int, exclude: Sequence[str] = (), product_id: str | None = None, variant_digest: str | None = None
) -> RecommendationList:
    """Return the store's popular available products, read from the database (no model needed).

    The page's product is left out. Raises ApiError 404 for a product the store does not have.
    """
    hidden_group = product_or_404(product_id).item_group_id if product_id else ""
    exclude = [*exclude, *([product_id] if product_id else [])]
    return _popular(category=None, k=k, exclude=exclude, key_parts=("popular", *variant_part(variant_digest)), hidden_group=hidden_group)


# -- personal lists ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonalRequest:
    """One personal list asked of a loaded model: whose, for which page, and how it is ranked."""

    model: ServingModel
    availability: Availability
    customer: CustomerRef
    k: int
    product_id: str | None
    exclude: Sequence[str]
    weights: tuple[float, float]  # (w_content, w_cf)
    strategy: str
    exclude_purchased: bool
    variant_digest: str | None


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
    experiment variant says otherwise). The key names the customer's activity token, so
    the list changes with every new event.
    Raises ApiError 404 for a named customer or a product the store does not have.
    """
    model = serving_model()
    if model is None:
        return _popular_personal(customer=customer, k=k, product_id=product_id, exclude=exclude)
    request = PersonalRequest(
        model=model,
        customer=customer,
        k=k,
        product_id=product_id,
        exclude=exclude,
        weights=(float(model.hybrid.w_content if w_content is None else w_content), float(model.hybrid.w_cf if w_cf is None else w_cf)),
        strategy=strategy,
        exclude_purchased=serving_exclude_purchased() if exclude_purchased is None else exclude_purchased,
        availability=availability_tracker.current(),
        variant_digest=variant_digest,
    )
    who, activity_keys = _personal_subject(customer)
    if not activity_keys:
        return _cold_start_list(request)
    generation = activity_generation(keys=activity_keys)  # before any database read: see shop.activity
    if generation is None:
        # The cache cannot say which list is current: read the database and keep the list nowhere.
        return _personal_from_database(request)
    return cached_list(_personal_key(request, who, f"g{generation}"), partial(_personal_from_database, request))


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


def _personal_key(request: PersonalRequest, *who: str) -> str:
    w_content, w_cf = request.weights
    return list_key(
        request.model.version_id,
        "personal",
        request.strategy,
        *who,
        f"p{request.product_id or '-'}",
        f"w{w_content:g},{w_cf:g}",
        f"xp{int(request.exclude_purchased)}",
        k=request.k,
        exclude=request.exclude,
        availability_digest=request.availability.digest,
        variant_digest=request.variant_digest,
    )


def _cold_start_list(request: PersonalRequest) -> RecommendationList:
    """Return the list of a customer without history: the same for everyone, cached once for all of them."""
    return cached_list(_personal_key(request, "c-"), partial(_personal_list, request, NO_HISTORY))


def _personal_from_database(request: PersonalRequest) -> RecommendationList:
    state = customer_state(customer=request.customer)
    if not state.latest_event_pk:
        return _cold_start_list(request)
    return _personal_list(request, customer_history(customer_pk=state.customer_pk))


def _personal_list(request: PersonalRequest, history: CustomerHistory) -> RecommendationList:
    model = request.model
    mask, banned, n, trace = _ranking_inputs(model, request.availability, k=request.k, exclude=request.exclude)
    current_item, category = None, None
    if request.product_id:
        item = model.bundle.index_of(request.product_id)
        if item >= 0:
            current_item = item
        else:
            category = _category_of_new_product(model, request.product_id)
    if request.exclude_purchased:
        purchased = model.items_of_product_pks(history.purchased_product_pks)
        banned = np.concatenate((banned, purchased))
        if trace is not None:
            trace.ban(RULE_PURCHASED, purchased)  # before the engine names every banned item "excluded"
    found = model.blend(*request.weights).recommend(
        model.history_of(history.latest),
        n,
        current_item=current_item,
        category=category,
        exclude=banned,
        available=mask,
        trace=trace,
    )
    return _rendered(model, found, k=request.k, strategy=request.strategy, subject_id=request.product_id)


# -- shared steps -----------------------------------------------------------------------------


def _rendered(model: ServingModel, found: Recommendations, *, k: int, strategy: str, subject_id: str | None = None) -> RecommendationList:
    """Read the product rows the list shows (one query) and render it, one product per item group.

    ``subject_id``: the page's product, whose group the list leaves out; ApiError 404 when it is gone.
    """
    trace = active_trace()
    if trace is not None:
        trace.found = found
    found = model.one_per_group(found, k + CANDIDATE_MARGIN, current_item=model.bundle.index_of(subject_id) if subject_id else -1)
    products = products_by_id(listed_product_ids(model.bundle.item_ids, found, subject_id))
    if subject_id and subject_id not in products:
        raise product_not_found(subject_id)
    hidden_group = products[subject_id].item_group_id if subject_id else ""
    dropped = None if trace is None else trace.dropped
    if trace is not None:
        trace.hidden_group = hidden_group
    results = list_results(model.bundle.item_ids, found, products, k=k, hidden_group=hidden_group, dropped=dropped)
    return RecommendationList(results, strategy, model.version_id)


def _ranking_inputs(
    model: ServingModel, availability: Availability, *, k: int, exclude: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, int, RankingTrace | None]:
    """Return what every model list ranks with: the availability mask, the excluded items, how many candidates to ask for, the explain trace."""
    mask = availability_tracker.mask_for(model, availability)
    return mask, model.items_of(exclude), model.candidate_count(k + CANDIDATE_MARGIN), _ranking_trace(model, mask)


def _ranking_trace(model: ServingModel, mask: np.ndarray) -> RankingTrace | None:
    """Return the engine trace to fill when the explain page asks for this list, None while serving."""
    trace = active_trace()
    if trace is None:
        return None
    trace.model, trace.available = model, mask
    return trace.ranking


def _category_of_new_product(model: ServingModel, product_id: str) -> int | None:
    """Return the model's index of the category of a product newer than the model (ApiError 404 when unknown)."""
    return model.bundle.category_index(product_or_404(product_id).category.slug)


# -- no active model --------------------------------------------------------------------------


def _popular_for_product(*, product_id: str, k: int, exclude: Sequence[str], kind: str) -> RecommendationList:
    """Return the popular products of this product's category (ApiError 404 when unknown)."""
    product = product_or_404(product_id)
    return _popular(
        category=product.category.slug, k=k, exclude=[*exclude, product_id], key_parts=(kind, product_id), hidden_group=product.item_group_id
    )


def _popular_personal(*, customer: CustomerRef, k: int, product_id: str | None, exclude: Sequence[str]) -> RecommendationList:
    """Return the popular products, after the same 404s a personal list gives for an unknown customer or product."""
    if customer.customer_id is not None:
        customer_state(customer=customer)
    hidden_group = product_or_404(product_id).item_group_id if product_id else ""
    exclude = [*exclude, *([product_id] if product_id else [])]
    return _popular(category=None, k=k, exclude=exclude, key_parts=("personal",), hidden_group=hidden_group)


def _popular(*, category: str | None, k: int, exclude: Sequence[str], key_parts: tuple, hidden_group: str = "") -> RecommendationList:
    """Return the cached popular list; ``hidden_group``: the page's product's item group, left out."""
    availability = availability_tracker.current()
    group_part = (f"h{hidden_group}",) if hidden_group else ()
    key = list_key(None, *key_parts, f"c{category or '-'}", *group_part, k=k, exclude=exclude, availability_digest=availability.digest)
    return cached_list(key, partial(_popular_list, category=category, k=k, exclude=exclude, hidden_group=hidden_group))


def _popular_list(*, category: str | None, k: int, exclude: Sequence[str], hidden_group: str = "") -> RecommendationList:
    products = popular_products(category=category, k=k, exclude=exclude, hidden_group=hidden_group)
    return RecommendationList(popular_results(products, overall=category is None), STRATEGY_POPULAR, None)
