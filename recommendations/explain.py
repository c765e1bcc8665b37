"""Why a product is or isn't in a customer's list: the staff explain page's answers.

No ranking logic of its own: :func:`list_explain` runs the selector a placement's request runs
(or its experiment variant's), inside :func:`recommendations.tracing.list_traced`, and reads the
engine's trace and the serving layer's decisions back into rows a person can read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from experiments.models import Placement
from experiments.serving import Arm, ArmPreview, arm_preview
from recommendations.engine.explain import CHAIN_ALSO_BOUGHT, CHAIN_HISTORY, CHAIN_PRODUCT, CHAIN_TRENDING, RULE_UNAVAILABLE
from recommendations.engine.neighbors import NeighborModel
from recommendations.experiment_selectors import PLACEMENT_KIND_PERSONAL, PLACEMENT_KIND_PRODUCT, recommendations_for_config
from recommendations.rendering import RULE_PAGE_GROUP, ProductCard, RecommendationList, skip_rule
from recommendations.selectors import (
    recommendations_also_bought,
    recommendations_personal,
    recommendations_similar,
    recommendations_trending,
)
from recommendations.serving import ServingModel
from recommendations.store import CustomerRef, customer_history, products_by_id
from recommendations.tracing import ListTrace, list_traced
from shop.models import Customer, Product

PRODUCT_PLACEMENTS = (Placement.PRODUCT_SIMILAR, Placement.PRODUCT_ALSO_BOUGHT)
RULE_DIVERSITY = "diversity (re-ranked below the list's length)"
CHAIN_TEXT = {
    CHAIN_HISTORY: "the customer's recent history (and the page's product)",
    CHAIN_PRODUCT: "the page's product only (no history)",
    CHAIN_TRENDING: "trending (nothing to start from)",
    CHAIN_ALSO_BOUGHT: "the page's product's co-purchases",
}
REMOVED_SHOWN = 50  # at most this many filtered candidates are listed, best-ranked first


class ExplainError(ValueError):
    """A request the page cannot answer; ``field`` names the form field at fault."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class ExplainedItem:
    position: int  # 1-based, in the list as served
    product_id: str
    title: str
    score: float
    reason: str
    parts: dict[str, float | None]  # content / cf / also_bought share of the score, trending score
    rank_before_filters: int | None
    rank_by_score: int | None
    product_pk: int | None


@dataclass(frozen=True)
class RemovedItem:
    product_id: str
    title: str
    rule: str
    rank_before_filters: int | None
    product_pk: int | None


@dataclass(frozen=True)
class HistoryRow:
    product_id: str
    title: str
    kind: str
    at: datetime
    start_weight: float | None  # the weight this product started the list with (None: older than the recent window)
    product_pk: int | None


@dataclass
class ListExplanation:
    """Everything the explain page shows about one list."""

    placement: str
    customer: Customer | None
    product_id: str | None
    listing: RecommendationList
    arm: ArmPreview
    explained_config: str  # which ranking is explained when an interleaving experiment merges two
    model_version: int | None
    chain: str
    settings: dict[str, object]
    shown: list[ExplainedItem]
    removed: list[RemovedItem]
    history: list[HistoryRow] = field(default_factory=list)
    asked_product_id: str | None = None
    asked_verdict: str = ""
    cards: dict[str, ProductCard] = field(default_factory=dict)  # every product the page names, read once


def list_explain(
    *, placement: str, customer_id: str | None, product_id: str | None = None, asked_product_id: str | None = None, k: int = 10
) -> ListExplanation:
    """Return the list ``customer_id`` (None: a visitor never seen) would get in ``placement`` now, explained.

    Raises ExplainError naming the field of an unknown customer or product, or a product
    placement asked without its product.
    """
    customer = _customer_or_error(customer_id)
    product_id = product_id or None
    if product_id and not Product.objects.filter(product_id=product_id).exists():
        raise ExplainError("product_id", f"No product '{product_id}'.")
    if placement in PRODUCT_PLACEMENTS and not product_id:
        raise ExplainError("product_id", "A product page's list needs the page's product.")
    if asked_product_id and not Product.objects.filter(product_id=asked_product_id).exists():
        raise ExplainError("asked_product_id", f"No product '{asked_product_id}'.")
    ref = CustomerRef(customer_id=customer.customer_id) if customer else CustomerRef()
    preview = arm_preview(placement=placement, customer=customer)
    with list_traced() as trace:
        listing, explained_config = _placement_list(placement, preview.arm, ref, product_id, k)
    explanation = ListExplanation(
        placement=placement,
        customer=customer,
        product_id=product_id,
        listing=listing,
        arm=preview,
        explained_config=explained_config,
        model_version=listing.model_version,
        chain=CHAIN_TEXT.get(trace.ranking.chain, "no active model: the store's popular products"),
        settings=_ranking_settings(trace.model),
        shown=[],
        removed=[],
    )
    if trace.model is not None:
        _explain_ranking(explanation, trace, k, asked_product_id)
    if customer is not None:
        explanation.history = _history_rows(customer, trace)
    if asked_product_id:
        explanation.asked_product_id = asked_product_id
        explanation.asked_verdict = _verdict(explanation, trace, asked_product_id)
    return explanation


def _customer_or_error(customer_id: str | None) -> Customer | None:
    if not customer_id:
        return None
    customer = Customer.objects.filter(customer_id=customer_id).first()
    if customer is None:
        raise ExplainError("customer_id", f"No customer or visitor '{customer_id}'.")
    return customer


def _placement_list(placement: str, arm: Arm | None, customer: CustomerRef, product_id: str | None, k: int):
    """Return (the list the placement serves this customer, which ranking it is): the request path's own selectors."""
    if arm is not None:
        config, digest, name = arm.config, arm.digest, f"variant '{arm.variant}'"
        if arm.teams is not None:  # interleaved: each response merges two rankings; explain the control's
            (config, digest), name = arm.teams[0], "the control's ranking (team A; responses merge it with team B's)"
        kind = PLACEMENT_KIND_PRODUCT if placement in PRODUCT_PLACEMENTS else PLACEMENT_KIND_PERSONAL
        listing = recommendations_for_config(
            config=config, variant_digest=digest, placement_kind=kind, customer=customer, product_id=product_id, k=k
        )
        return listing, name
    if placement == Placement.PRODUCT_SIMILAR:
        return recommendations_similar(product_id=product_id, k=k), "the placement's default list"
    if placement == Placement.PRODUCT_ALSO_BOUGHT:
        return recommendations_also_bought(product_id=product_id, k=k), "the placement's default list"
    if placement == Placement.HOME_TRENDING:
        return recommendations_trending(category=None, k=k), "the placement's default list"
    return recommendations_personal(customer=customer, k=k, product_id=product_id), "the placement's default list"


def _ranking_settings(model: ServingModel | None) -> dict[str, object]:
    if model is None:
        return {}
    hybrid = model.hybrid
    return {
        "w_content": hybrid.w_content,
        "w_cf": hybrid.w_cf,
        "diversity": hybrid.diversity,
        "category_cap": hybrid.category_cap,
        "normalization": hybrid.normalization,
        "n_recent": hybrid.n_recent,
        "cf_algorithm": type(hybrid.cf_).__name__ if hybrid.cf_ is not None else "none",
    }


def _explain_ranking(explanation: ListExplanation, trace: ListTrace, k: int, asked_product_id: str | None) -> None:
    """Fill the shown items' score parts and the filtered candidates' rules."""
    model, ranking = trace.model, trace.ranking
    trending = model.hybrid.trending_
    shown_ids = [item["product_id"] for item in explanation.listing.results]
    candidates = sorted(ranking.unfiltered_rank, key=ranking.unfiltered_rank.get)[: max(REMOVED_SHOWN, 3 * k)]
    considered = [*shown_ids, *(str(model.bundle.item_ids[item]) for item in candidates)]
    if trace.found is not None:
        considered += [str(model.bundle.item_ids[item]) for item in trace.found.items.tolist()]
    considered = list(dict.fromkeys(considered))
    cards = explanation.cards = products_by_id([*considered, *([asked_product_id] if asked_product_id else [])])
    pks = dict(Product.objects.filter(product_id__in=considered).values_list("product_id", "pk"))
    for position, result in enumerate(explanation.listing.results, start=1):
        item = model.bundle.index_of(result["product_id"])
        parts = {name: ranking.parts.get(name, {}).get(item) for name in ("content", "cf", "also_bought")}
        parts["trending"] = float(trending.scores_[item]) if trending is not None and item >= 0 else None
        explanation.shown.append(ExplainedItem(
            position, result["product_id"], result["title"], result["score"], result["reason"], parts,
            ranking.unfiltered_rank.get(item), ranking.score_rank.get(item), pks.get(result["product_id"]),
        ))  # fmt: skip
    listed = set(shown_ids)
    for product_id in dict.fromkeys(considered):
        if product_id in listed:
            continue
        rule = _removal_rule(trace, product_id, cards.get(product_id), k)
        if rule:
            rank = ranking.unfiltered_rank.get(model.bundle.index_of(product_id))
            title = cards[product_id].title if product_id in cards else ""
            explanation.removed.append(RemovedItem(product_id, title, rule, rank, pks.get(product_id)))
    explanation.removed.sort(key=lambda row: row.rank_before_filters or 1 << 30)
    del explanation.removed[REMOVED_SHOWN:]


def _removal_rule(trace: ListTrace, product_id: str, card: ProductCard | None, k: int) -> str | None:
    """Return the rule that kept a ranked product out of the list, None when nothing removed it."""
    model, ranking = trace.model, trace.ranking
    item = model.bundle.index_of(product_id)
    rule = ranking.rule_for(item, trace.available)
    if rule == RULE_UNAVAILABLE:
        return skip_rule(card, "") if card is not None and not card.available else rule
    if rule:
        return rule
    if product_id in trace.dropped:
        return trace.dropped[product_id]
    if card is not None and trace.hidden_group and card.item_group_id == trace.hidden_group:
        return RULE_PAGE_GROUP
    score_rank = ranking.score_rank.get(item)
    if ranking.diversified and score_rank is not None and score_rank <= k:
        return RULE_DIVERSITY
    return None


def _history_rows(customer: Customer, trace: ListTrace) -> list[HistoryRow]:
    """Return the customer's latest events with the weight each product started the list with."""
    events = customer_history(customer_pk=customer.pk).latest
    products = {row["pk"]: row for row in Product.objects.filter(pk__in={e.product_pk for e in events}).values("pk", "product_id", "title")}
    model = trace.model
    rows = []
    for event in events:
        product = products.get(event.product_pk, {"product_id": "?", "title": ""})
        item = model.item_of_product_pk.get(event.product_pk, -1) if model is not None else -1
        weight = trace.ranking.anchors.get(item)
        rows.append(HistoryRow(product["product_id"], product["title"], event.kind,
                               datetime.fromtimestamp(event.seconds, tz=UTC), weight, products.get(event.product_pk, {}).get("pk")))  # fmt: skip
    return rows


def _verdict(explanation: ListExplanation, trace: ListTrace, product_id: str) -> str:
    """Return, in a sentence, why ``product_id`` is where it is (or nowhere) in the list."""
    shown = next((row for row in explanation.shown if row.product_id == product_id), None)
    if shown is not None:
        return f"Shown at position {shown.position} of {len(explanation.shown)}."
    if any(result["product_id"] == product_id for result in explanation.listing.results):
        return "Shown (the store's popular products, no model)."
    model = trace.model
    if model is None:
        return "Not shown: without an active model the list is the store's most popular available products, and it is not among them."
    item = model.bundle.index_of(product_id)
    if item < 0:
        return f"Not a candidate: model version {model.version_id} does not know it (added to the store after that model was trained)."
    ranking = trace.ranking
    rank = ranking.unfiltered_rank.get(item)
    rule = _removal_rule(trace, product_id, explanation.cards.get(product_id), len(explanation.shown) or 1)
    where = f"ranked {rank} before filtering" if rank else "not a candidate anyway"
    if rule:
        return f"Removed by the rule '{rule}' ({where})."
    if rank is not None:
        after = ranking.score_rank.get(item)
        after_text = f" and {after} after the filters" if after else ""
        return f"Ranked {rank} before filtering{after_text}; the list shows only its first {len(explanation.shown)}."
    return "Not a candidate: " + _not_a_candidate(model, ranking, item)


def _not_a_candidate(model: ServingModel, ranking, item: int) -> str:
    chain = ranking.chain
    if chain == CHAIN_TRENDING:
        return "the trending list is of another category, or it had no events in the trending window."
    if chain == CHAIN_ALSO_BOUGHT:
        return "no customer bought it together with this product (no co-purchase neighbours)."
    starts = len(ranking.anchors)
    reasons = [f"it is not among the stored neighbours of the {starts} product(s) the list started from"]
    cf = model.hybrid.cf_
    if isinstance(cf, NeighborModel) and not np.any(cf.neighbors_[item] >= 0):
        min_interactions = model.params.get("min_interactions", "?")
        reasons.append(f"it has no CF neighbours at all (too few customers with at least {min_interactions} products interacted with it)")
    return "; ".join(reasons) + "."
