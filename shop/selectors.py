"""Reads for the catalog: product lists and detail, categories with their product counts."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Case, Count, Expression, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.expressions import OrderBy
from django.db.models.functions import Coalesce, Lower

from core.api_errors import ApiError
from shop.models import Category, Interaction, Order, Product

# Popularity: interactions in the store's latest 30 days of activity, weighted by kind
# (the same default weights as the recommender's settings: a purchase says more than a view).
POPULARITY_WINDOW = timedelta(days=30)
POPULARITY_EVENT_WEIGHTS: dict[str, int] = {
    Interaction.Kind.VIEW: 1,
    Interaction.Kind.CLICK: 2,
    Interaction.Kind.ADD_TO_CART: 4,
    Interaction.Kind.PURCHASE: 8,
}

# Every ordering ends with the unique product_id so that pages never overlap or skip.
# Titles sort case-insensitively on every database (SQLite would put "Zebra" before "apple").
PRODUCT_ORDERINGS: dict[str, tuple[str | OrderBy, ...]] = {
    "newest": ("-created_at", "product_id"),
    "-created_at": ("-created_at", "product_id"),
    "created_at": ("created_at", "product_id"),
    "price": ("price", "product_id"),
    "-price": ("-price", "product_id"),
    "title": (Lower("title").asc(), "product_id"),
    "-title": (Lower("title").desc(), "product_id"),
    "popularity": ("-popularity", "product_id"),
}
DEFAULT_PRODUCT_ORDERING = "newest"


@dataclass(frozen=True)
class ProductFilters:
    """What a shopper narrowed the catalog to; every field is optional."""

    category: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None
    search: str = ""
    ordering: str = DEFAULT_PRODUCT_ORDERING


def product_list(*, filters: ProductFilters) -> QuerySet[Product]:
    """Return the active products matching the filters, in the requested order.

    Raises ApiError (code `unknown_category`, field `category`) for a category slug the store does not have.
    """
    products = Product.objects.active().select_related("category")
    if filters.category:
        products = products.filter(category_id__in=category_with_descendant_ids(slug=filters.category))
    if filters.min_price is not None:
        products = products.filter(price__gte=filters.min_price)
    if filters.max_price is not None:
        products = products.filter(price__lte=filters.max_price)
    if filters.in_stock is True:
        products = products.in_stock()
    elif filters.in_stock is False:
        products = products.out_of_stock()
    for term in filters.search.split():
        products = products.filter(Q(title__icontains=term) | Q(description__icontains=term))

    ordering = PRODUCT_ORDERINGS[filters.ordering]
    if filters.ordering == "popularity":
        products = products.annotate(popularity=product_popularity_expression())
    return products.order_by(*ordering)


def product_popularity_expression() -> Expression:
    """Return an expression for a product's weighted interaction count over the popularity window.

    A correlated subquery per candidate product, read from the (product, timestamp, kind)
    index alone once autovacuum has marked the table visible. The window ends at the latest
    interaction rather than at the wall clock, so an imported or demo store whose events
    stopped a while ago still has an order.
    """
    latest = Interaction.objects.aggregate(latest=Max("timestamp"))["latest"]
    if latest is None:
        return Value(0, output_field=IntegerField())
    weight = Case(
        *(When(kind=kind, then=Value(value)) for kind, value in POPULARITY_EVENT_WEIGHTS.items()),
        default=Value(0),
        output_field=IntegerField(),
    )
    scores = (
        Interaction.objects.filter(product=OuterRef("pk"), timestamp__gte=latest - POPULARITY_WINDOW)
        .order_by()
        .values("product")
        .annotate(score=Sum(weight))
        .values("score")
    )
    return Coalesce(Subquery(scores, output_field=IntegerField()), Value(0))


def product_id_may_exist(product_id: str) -> bool:
    """Return False for an id no product can have: one with a NUL character.

    PostgreSQL text cannot hold NUL, so a lookup by such an id (a path like /api/products/P%00/)
    raises DataError instead of finding nothing; callers treat the id as unknown without querying.
    """
    return "\x00" not in product_id


def product_get(*, product_id: str) -> Product:
    """Return the active product with this store id, or raise ApiError 404 (`product_not_found`)."""
    if not product_id_may_exist(product_id):
        product = None
    else:
        product = Product.objects.active().select_related("category").filter(product_id=product_id).first()
    if product is None:
        raise ApiError(f"Product '{product_id}' not found.", code="product_not_found", status_code=404)
    return product


def products_by_id(*, product_ids: Iterable[str]) -> dict[str, Product]:
    """Return {product_id: product} for the products among these ids that exist (active or not), in one query."""
    wanted = {product_id for product_id in product_ids if product_id_may_exist(product_id)}
    return {product.product_id: product for product in Product.objects.filter(product_id__in=wanted)}


def category_with_descendant_ids(*, slug: str) -> list[int]:
    """Return the ids of the category with this slug and of every category below it.

    Raises ApiError (code `unknown_category`, field `category`) when no category has the slug.
    """
    rows = list(Category.objects.values_list("id", "slug", "parent_id"))
    root = next((pk for pk, row_slug, _ in rows if row_slug == slug), None)
    if root is None:
        message = f"Unknown category '{slug}'."
        raise ApiError(message, code="unknown_category", fields={"category": [message]})
    children: dict[int, list[int]] = {}
    for pk, _, parent_id in rows:
        if parent_id is not None:
            children.setdefault(parent_id, []).append(pk)
    found, frontier = {root}, [root]
    while frontier:  # the visited set also guards against a parent cycle made in the admin
        frontier = [child for pk in frontier for child in children.get(pk, ()) if child not in found]
        found.update(frontier)
    return sorted(found)


@dataclass(frozen=True)
class CategorySummary:
    """A category with its parent's slug and how many active products it holds."""

    slug: str
    name: str
    parent: str | None
    product_count: int
    direct_product_count: int


def category_list() -> list[CategorySummary]:
    """Return every category with its active-product counts, by name.

    `product_count` includes the categories below it (the number `?category=<slug>` lists);
    `direct_product_count` only the products filed under the category itself.
    """
    categories = list(
        Category.objects.select_related("parent")
        .annotate(direct=Count("products", filter=Q(products__is_active=True)))
        .order_by("name")
    )
    children: dict[int, list[int]] = {}
    for category in categories:
        if category.parent_id is not None:
            children.setdefault(category.parent_id, []).append(category.pk)
    direct = {category.pk: category.direct for category in categories}

    def subtree_total(pk: int) -> int:
        seen, frontier, total = {pk}, [pk], 0
        while frontier:
            total += sum(direct[node] for node in frontier)
            frontier = [child for node in frontier for child in children.get(node, ()) if child not in seen]
            seen.update(frontier)
        return total

    return [
        CategorySummary(
            slug=category.slug,
            name=category.name,
            parent=category.parent.slug if category.parent else None,
            product_count=subtree_total(category.pk),
            direct_product_count=category.direct,
        )
        for category in categories
    ]


def order_with_lines(*, order_pk: int) -> Order:
    """Return the order with its lines and their products, for the confirmation page (two queries)."""
    return Order.objects.prefetch_related("lines__product").get(pk=order_pk)
