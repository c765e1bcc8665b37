"""Lists for experiment variants: the list a variant's serving config asks for, and two configs interleaved."""

from __future__ import annotations

from collections.abc import Sequence

from recommendations.engine.interleaving import TEAM_A, team_draft
from recommendations.rendering import SOURCE_CACHE, SOURCE_MODEL, RecommendationList
from recommendations.selectors import (
    STRATEGY_CF,
    STRATEGY_CONTENT,
    STRATEGY_POPULAR,
    STRATEGY_TRENDING,
    recommendations_also_bought,
    recommendations_personal,
    recommendations_popular,
    recommendations_similar,
    recommendations_trending,
)
from recommendations.serving import item_group_key
from recommendations.store import CustomerRef

STRATEGY_INTERLEAVED = "interleaved"

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
    The merge is over item groups, so two variants of one product never both appear.
    """
    lists = [
        recommendations_for_config(
            config=config, variant_digest=digest, placement_kind=placement_kind,
            customer=customer, product_id=product_id, k=k, exclude=exclude,
        )  # fmt: skip
        for config, digest in teams
    ]
    rankings = [[item_group_key(item["product_id"]) for item in listing.results] for listing in lists]
    by_group = [dict(reversed(list(zip(ranking, listing.results)))) for ranking, listing in zip(rankings, lists)]
    merged = team_draft(rankings[0], rankings[1], k, seed=request_id)
    results = [{**by_group[0 if team == TEAM_A else 1][group], "team": team} for group, team in zip(merged.items, merged.teams)]
    source = SOURCE_CACHE if all(listing.source == SOURCE_CACHE for listing in lists) else SOURCE_MODEL
    return RecommendationList(results, STRATEGY_INTERLEAVED, lists[0].model_version, source=source)
