"""Turning ranked items into the results a shopper sees: product cards, reason lines, JSON-ready lists."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from recommendations.engine import (
    REASON_ALSO_BOUGHT,
    REASON_CF,
    REASON_CONTENT,
    REASON_TRENDING,
    REASON_TRENDING_CATEGORY,
    Recommendations,
)
from shop.models import Product

SOURCE_MODEL = "model"
SOURCE_CACHE = "cache"

# Why a ranked product is not in the rendered list (the explain page names them).
RULE_DELETED = "no longer in the store"
RULE_INACTIVE = "inactive"
RULE_OUT_OF_STOCK = "out of stock"
RULE_SAME_GROUP = "same group (a better-ranked variant is shown)"
RULE_PAGE_GROUP = "same group as the page's product"


@dataclass(frozen=True)
class RecommendationList:
    """A ranked list of products ready to render, and how it was made."""

    results: list[dict]
    strategy: str
    model_version: int | None
    source: str = SOURCE_MODEL


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
    item_group_id: str  # "" when the product has no variants

    @classmethod
    def of(cls, product: Product) -> "ProductCard":
        return cls(product.product_id, product.title, product.price, product.currency, product.image_url,
                   product.category.name, product.is_active, product.stock, product.item_group_id)  # fmt: skip

    @property
    def available(self) -> bool:
        return self.is_active and (self.stock is None or self.stock > 0)


def listed_product_ids(item_ids: np.ndarray, found: Recommendations, subject_id: str | None = None) -> set[str]:
    """Return the ids of every product a rendering of ``found`` shows or names (items, anchors, the subject)."""
    anchors = found.anchors[found.anchors >= 0]
    return {*item_ids[found.items].tolist(), *item_ids[anchors].tolist(), *([subject_id] if subject_id else [])}


def list_results(
    item_ids: np.ndarray,
    found: Recommendations,
    products: dict[str, ProductCard],
    *,
    k: int,
    hidden_group: str = "",
    dropped: dict[str, str] | None = None,
) -> list[dict]:
    """Return the first ``k`` results of model output, ranked order kept, products missing or unavailable dropped.

    A list shows one product per item group, the best-ranked available variant, and none of
    ``hidden_group`` (the page's product's). ``item_ids``: the model's product id per item
    index; ``products``: the cards by product id, whose groups are the store's current ones.
    ``dropped``: filled with the rule that skipped each product (the explain page).
    """
    ids = item_ids[found.items].tolist()
    anchor_ids = [item_ids[anchor] if anchor >= 0 else None for anchor in found.anchors.tolist()]
    shown_groups = {hidden_group} - {""}
    results = []
    for product_id, score, reason, anchor_id in zip(ids, found.scores.tolist(), found.reasons.tolist(), anchor_ids):
        product = products.get(product_id)
        if product is None or not product.available or product.item_group_id in shown_groups:
            if dropped is not None:
                dropped.setdefault(product_id, skip_rule(product, hidden_group))
            continue
        if product.item_group_id:
            shown_groups.add(product.item_group_id)
        results.append(recommended_product(product, score=score, reason=reason_text(reason, product, products.get(anchor_id))))
        if len(results) == k:
            break
    return results


def skip_rule(product: ProductCard | None, hidden_group: str) -> str:
    """Return why a ranked product is not shown: gone, inactive, sold out, or its group is shown or hidden."""
    if product is None:
        return RULE_DELETED
    if not product.is_active:
        return RULE_INACTIVE
    if not product.available:
        return RULE_OUT_OF_STOCK
    return RULE_PAGE_GROUP if product.item_group_id == hidden_group else RULE_SAME_GROUP


def popular_results(products: Iterable[Product], *, overall: bool) -> list[dict]:
    """Return popular products as results (no model): "Trending now" overall, else "Popular in <category>"."""
    return [
        recommended_product(
            ProductCard.of(product),
            score=float(product.popularity),
            reason="Trending now" if overall else f"Popular in {product.category.name}",
        )
        for product in products
    ]


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
