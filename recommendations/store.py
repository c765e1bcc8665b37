"""The store reads behind a recommendation list: customers, their history, product rows, categories.

The hot reads are written-out SQL: they run on every cache miss, and the ORM spent longer
compiling them than the database spent answering.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import F, QuerySet, Value, Window
from django.db.models.functions import Coalesce, NullIf, RowNumber

from core.api_errors import ApiError
from recommendations.rendering import ProductCard
from shop.models import Category, Customer, Interaction, Product
from shop.selectors import ProductFilters, category_with_descendant_ids, product_id_may_exist, product_list

# The latest events of a customer that shape their personal list (the hybrid uses the
# most recent 20 distinct products among them).
HISTORY_EVENTS = 100
PURCHASES_READ = 1_000


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


NO_HISTORY = CustomerHistory([], [])


@dataclass(frozen=True)
class CustomerState:
    """The customer a request means (None: a visitor not stored yet) and the pk of their newest event."""

    customer_pk: int | None
    latest_event_pk: int | None


def epoch_seconds_sql(column: str) -> str:
    """Return SQL for ``column`` (a timestamp) as seconds since the epoch, for a query run with parameters."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})::double precision"
    if connection.vendor == "sqlite":
        return f"CAST(strftime('%%s', {column}) AS REAL)"  # %% survives parameter substitution
    raise NotImplementedError(f"Reading timestamps as epoch seconds is not supported on {connection.vendor} yet.")


# -- customers ------------------------------------------------------------------------------


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
    name = connection.ops.quote_name
    table = name(Interaction._meta.db_table)
    pk, customer, product, kind, timestamp = (
        name(Interaction._meta.get_field(field).column) for field in ("id", "customer", "product", "kind", "timestamp")
    )
    latest = f"SELECT {pk} FROM {table} WHERE {customer} = %s ORDER BY {timestamp} DESC, {pk} DESC LIMIT %s"
    return (
        f"SELECT {pk}, {product}, {kind}, {epoch_seconds_sql(timestamp)} FROM {table} "
        f"WHERE {customer} = %s AND ({kind} = %s OR {pk} IN ({latest})) ORDER BY {timestamp} DESC, {pk} DESC LIMIT %s"
    )


# -- products and categories ----------------------------------------------------------------


def product_not_found(product_id: str) -> ApiError:
    return ApiError(f"Product '{product_id}' not found.", code="product_not_found", status_code=404)


def product_or_404(product_id: str) -> Product:
    """Return the product with its category (ApiError 404 `product_not_found` when the store does not have it)."""
    if not product_id_may_exist(product_id):  # a NUL: no such product, and PostgreSQL would refuse the query
        raise product_not_found(product_id)
    product = Product.objects.select_related("category").defer("description").filter(product_id=product_id).first()
    if product is None:
        raise product_not_found(product_id)
    return product


def products_by_id(product_ids: Iterable[str]) -> dict[str, ProductCard]:
    """Return the cards of these products, in one query."""
    product_ids = {product_id for product_id in product_ids if product_id_may_exist(product_id)}
    if not product_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_product_cards_sql(len(product_ids)), sorted(product_ids))
        return {row[0]: ProductCard(*row) for row in cursor.fetchall()}


@functools.cache
def _product_cards_sql(count: int) -> str:
    # Columns in ProductCard's order. Lists are at most k + CANDIDATE_MARGIN products and their anchors.
    name = connection.ops.quote_name

    def product_column(field: str) -> str:
        return "p." + name(Product._meta.get_field(field).column)

    selected = [product_column(field) for field in ("product_id", "title", "price", "currency", "image_url")]
    selected += ["c." + name(Category._meta.get_field("name").column)]
    selected += [product_column(field) for field in ("is_active", "stock", "item_group_id")]
    return (
        f"SELECT {', '.join(selected)} FROM {name(Product._meta.db_table)} p "
        f"JOIN {name(Category._meta.db_table)} c ON c.{name(Category._meta.pk.column)} = {product_column('category')} "
        f"WHERE {product_column('product_id')} IN ({', '.join(['%s'] * count)})"
    )


def category_slugs(*, slug: str) -> list[str]:
    """Return the slugs (the model's category keys) of the category with this slug and those below it (ApiError 400 when unknown)."""
    ids = category_with_descendant_ids(slug=slug)
    return list(Category.objects.filter(pk__in=ids).values_list("slug", flat=True))


def popular_products(*, category: str | None, k: int, exclude: Sequence[str], hidden_group: str = "") -> QuerySet[Product]:
    """Return the ``k`` most popular available products (of a category and those below it), ``exclude`` left out.

    One product per item group, its most popular available variant, and none of ``hidden_group``.
    """
    order = [F("popularity").desc(), F("created_at").desc(), F("product_id").asc()]
    available = (
        product_list(filters=ProductFilters(category=category, in_stock=True, ordering="popularity"))
        .exclude(product_id__in=[product_id for product_id in exclude if product_id_may_exist(product_id)])
    )
    if hidden_group:
        available = available.exclude(item_group_id=hidden_group)
    group = Coalesce(NullIf("item_group_id", Value("")), "product_id")
    return (
        available.annotate(rank_in_group=Window(RowNumber(), partition_by=[group], order_by=order))
        .filter(rank_in_group=1)
        .order_by(*order)
        .defer("description")[:k]
    )
