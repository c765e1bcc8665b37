"""Writes for the catalog and behaviour data."""

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.api_errors import ApiError
from shop.activity import customer_activity_bump_on_commit
from shop.models import Customer, Interaction, Order, OrderLine, Product, idempotency_key_validator
from shop.signals import customer_merged


def customer_get_or_create(*, customer_id: str) -> Customer:
    """Return the customer with this id, creating it on first sight (safe under concurrency)."""
    customer = Customer.objects.filter(customer_id=customer_id).first()
    if customer is not None:
        return customer
    try:
        with transaction.atomic():
            return Customer.objects.create(customer_id=customer_id)
    except IntegrityError:
        return Customer.objects.get(customer_id=customer_id)


def customer_for_request(*, request) -> Customer:
    """Return the customer behind a storefront request.

    A signed-in user is one customer across devices: on first sign-in the visitor's
    anonymous customer (and so its history) is linked to the user; after that the
    user's customer wins and events from a new anonymous visitor id are moved onto it.
    """
    user = getattr(request, "user", None)
    visitor_id = getattr(request, "visitor_id", None)
    if user is None or not user.is_authenticated:
        if not visitor_id:
            raise ValueError("The request has neither a signed-in user nor a visitor id.")
        return customer_get_or_create(customer_id=visitor_id)

    with transaction.atomic():
        own = Customer.objects.select_for_update().filter(user=user).first()
        visitor = (
            Customer.objects.select_for_update().filter(customer_id=visitor_id, user__isnull=True).first()
            if visitor_id
            else None
        )
        if own is None and visitor is not None:
            visitor.user = user
            visitor.save(update_fields=["user"])
            # Claimed: the user's lists change, and the cookie's anonymous list must stop showing this history.
            customer_activity_bump_on_commit(customer_ids=[visitor.customer_id], user_ids=[user.pk])
            return visitor
        if own is None:
            own, _ = Customer.objects.get_or_create(customer_id=f"user-{user.pk}", defaults={"user": user})
            if own.user_id != user.pk:
                own.user = user
                own.save(update_fields=["user"])
            customer_activity_bump_on_commit(customer_ids=[own.customer_id], user_ids=[user.pk])
            return own
        if visitor is not None and visitor.pk != own.pk:
            visitor.interactions.update(customer=own)
            customer_merged.send(sender=Customer, source=visitor, target=own)
            visitor.delete()
            # Merged: the user's lists gain the visitor's history; the visitor's id names nobody now.
            customer_activity_bump_on_commit(customer_ids=[visitor.customer_id, own.customer_id], user_ids=[user.pk])
        return own


def customers_get_or_create(*, customer_ids: Iterable[str]) -> dict[str, Customer]:
    """Return {customer_id: customer} for these ids, creating the missing ones (two or three queries, safe under concurrency)."""
    wanted = set(customer_ids)
    if not wanted:
        return {}
    found = {customer.customer_id: customer for customer in Customer.objects.filter(customer_id__in=wanted)}
    missing = wanted - found.keys()
    if missing:
        Customer.objects.bulk_create([Customer(customer_id=customer_id) for customer_id in missing], ignore_conflicts=True)
        found.update({customer.customer_id: customer for customer in Customer.objects.filter(customer_id__in=missing)})
    return found


INTERACTIONS_RECORD_ATTEMPTS = 3


@dataclass(frozen=True)
class InteractionInput:
    """One validated event to store; `customer_id` None means the caller's default customer."""

    product: Product
    kind: str
    timestamp: datetime
    quantity: int = 1
    context: dict = field(default_factory=dict)
    event_id: str | None = None
    customer_id: str | None = None


@dataclass(frozen=True)
class RecordResult:
    """What a batch of events did: rows stored, and events skipped because their event_id was already stored."""

    stored: int
    duplicates: int


def interactions_record(*, items: Sequence[InteractionInput], default_customer: Callable[[], Customer]) -> RecordResult:
    """Store a batch of validated events in one transaction: all of them or, on error, none.

    An event whose event_id is already stored, or repeats an earlier event of the same batch,
    is a duplicate: skipped and counted, not an error, so a client may replay a batch safely.
    `default_customer` is called at most once, and only when some event names no customer_id.
    A concurrent batch storing the same event_id between the check and the insert makes the
    insert fail; the whole batch is then retried, and finds that event stored.
    """
    for attempt in range(1, INTERACTIONS_RECORD_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _interactions_insert(items=items, default_customer=default_customer)
        except IntegrityError:
            if attempt == INTERACTIONS_RECORD_ATTEMPTS or not any(item.event_id for item in items):
                raise
    raise AssertionError("unreachable")


def _interactions_insert(*, items: Sequence[InteractionInput], default_customer: Callable[[], Customer]) -> RecordResult:
    event_ids = {item.event_id for item in items if item.event_id}
    seen = set(Interaction.objects.filter(event_id__in=event_ids).values_list("event_id", flat=True)) if event_ids else set()
    customers = customers_get_or_create(customer_ids={item.customer_id for item in items if item.customer_id})
    fallback: Customer | None = None
    rows, duplicates = [], 0
    for item in items:
        if item.event_id:
            if item.event_id in seen:
                duplicates += 1
                continue
            seen.add(item.event_id)
        if item.customer_id:
            customer = customers[item.customer_id]
        else:
            fallback = fallback or default_customer()
            customer = fallback
        rows.append(
            Interaction(
                customer=customer,
                product=item.product,
                kind=item.kind,
                timestamp=item.timestamp,
                quantity=item.quantity,
                context=item.context,
                event_id=item.event_id,
            )
        )
    Interaction.objects.bulk_create(rows)
    # New history: the personal lists of these customers change once the batch commits.
    touched = {row.customer.pk: row.customer for row in rows}.values()
    customer_activity_bump_on_commit(
        customer_ids=[customer.customer_id for customer in touched],
        user_ids=[customer.user_id for customer in touched if customer.user_id],
    )
    return RecordResult(stored=len(rows), duplicates=duplicates)


MAX_ORDER_LINES = 100
ORDER_NUMBER_ATTEMPTS = 5


@dataclass(frozen=True)
class OrderLineInput:
    """One line of an order to place: which product, how many, and what led the shopper to it."""

    product_id: str
    quantity: int
    context: dict = field(default_factory=dict)
    # The unit price the shopper's cart showed, when sent: compared with the price charged, never charged.
    cart_price: Decimal | None = None


@dataclass(frozen=True)
class PriceChange:
    """A line whose price in the shopper's cart differs from the price the order charged for it."""

    product_id: str
    title: str
    cart_price: Decimal
    price: Decimal


@dataclass(frozen=True)
class PlacedOrder:
    """A placed order and the lines whose cart price was out of date, so the shopper can be told."""

    order: Order
    price_changes: list[PriceChange]
    created: bool = True  # False: an earlier order with the same idempotency key, returned again


class OrderLineErrors:
    """Errors collected per line, raised together as one ApiError naming each line index and field."""

    def __init__(self) -> None:
        self.errors: list[tuple[int, str, str, str]] = []  # (index, field, code, message)

    def add(self, index: int, field_name: str, code: str, message: str) -> None:
        self.errors.append((index, field_name, code, message))

    def raise_if_any(self) -> None:
        if not self.errors:
            return
        index, field_name, code, message = self.errors[0]
        fields: dict[str, dict[str, list[str]]] = {}
        for line, name, _, text in self.errors:
            fields.setdefault(str(line), {}).setdefault(name, []).append(text)
        summary = f"Line {index}: {field_name}: {message}"
        others = len(fields) - 1
        if others:
            summary += f" (and {others} more line{'s' if others > 1 else ''} with errors)"
        status = 409 if code in {"out_of_stock", "insufficient_stock"} else 400
        raise ApiError(summary, code=code, fields={"lines": fields}, status_code=status)


def order_number_new() -> str:
    """Return a fresh order number such as LM-20260301-7K3QX9: the day, then random letters and digits."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on the phone
    suffix = "".join(secrets.choice(alphabet) for _ in range(6))
    return f"LM-{timezone.now():%Y%m%d}-{suffix}"


def order_place(*, customer: Customer, lines: Sequence[OrderLineInput], idempotency_key: str | None = None) -> PlacedOrder:
    """Place an order: validate every line, take the stock, store the order and one purchase event per line.

    All in one transaction: a bad line (unknown, inactive or sold-out product, more than the
    stock, a second currency, a product twice) raises ApiError naming every bad line's index
    and field, and nothing is written. Product rows are locked while their stock is checked
    and decremented, so two shoppers never buy the last unit twice. Products whose stock is
    not tracked (NULL) are always available. Prices are the products' current prices: a line's
    `cart_price` (what a cart kept from earlier showed) is never charged, and each line where it
    differs is returned as a PriceChange so the shopper learns the price moved.

    With an `idempotency_key`, the customer's earlier order under that key is returned
    (`created=False`) and nothing is written, also when the two checkouts race: the database's
    unique (customer, key) constraint lets one order in, and the others find it. The same key
    with other lines (product ids and quantities) is ApiError 409 `idempotency_key_reused`.
    A checkout that failed stored nothing, so its key stays free for the retry.
    """
    _idempotency_key_check(key=idempotency_key)
    if not lines:
        raise ApiError("lines: Add at least one product to the order.", code="empty", fields={"lines": ["Add at least one product."]})
    if len(lines) > MAX_ORDER_LINES:
        message = f"An order has at most {MAX_ORDER_LINES} lines; this one has {len(lines)}."
        raise ApiError(f"lines: {message}", code="too_many_lines", fields={"lines": [message]})
    if idempotency_key is not None:
        earlier = _order_by_idempotency_key(customer=customer, key=idempotency_key)
        if earlier is not None:
            return _order_replay(order=earlier, lines=lines)

    with transaction.atomic():
        wanted = {line.product_id for line in lines}
        products = {
            product.product_id: product
            for product in Product.objects.select_for_update().filter(product_id__in=wanted).order_by("pk")
        }
        errors = OrderLineErrors()
        seen: dict[str, int] = {}
        currency = None
        for index, line in enumerate(lines):
            product = products.get(line.product_id)
            if line.product_id in seen:
                errors.add(index, "product_id", "duplicate_product", f"Product '{line.product_id}' is already in line {seen[line.product_id]}.")
                continue
            seen[line.product_id] = index
            if product is None:
                errors.add(index, "product_id", "unknown_product", f"Unknown product '{line.product_id}'.")
            elif not product.is_active:
                errors.add(index, "product_id", "product_unavailable", f"'{product.title}' is no longer sold.")
            elif product.stock == 0:
                errors.add(index, "quantity", "out_of_stock", f"'{product.title}' is sold out.")
            elif product.stock is not None and line.quantity > product.stock:
                errors.add(index, "quantity", "insufficient_stock", f"Only {product.stock} of '{product.title}' left in stock.")
            elif currency is not None and product.currency != currency:
                errors.add(index, "product_id", "mixed_currencies", f"Priced in {product.currency}; this order is in {currency}.")
            else:
                currency = currency or product.currency
        if errors.errors and idempotency_key is not None:
            # A retry that waited for the first checkout's row locks must not be told its stock is gone.
            earlier = _order_by_idempotency_key(customer=customer, key=idempotency_key)
            if earlier is not None:
                return _order_replay(order=earlier, lines=lines)
        errors.raise_if_any()

        total = sum((products[line.product_id].price * line.quantity for line in lines), Decimal("0"))
        order, created = _order_create(customer=customer, currency=currency, total=total, idempotency_key=idempotency_key)
        if not created:  # a concurrent checkout with the same key stored its order first: nothing written here
            return _order_replay(order=order, lines=lines)
        OrderLine.objects.bulk_create(
            [
                OrderLine(order=order, product=products[line.product_id], quantity=line.quantity, unit_price=products[line.product_id].price)
                for line in lines
            ]
        )
        for line in lines:
            if products[line.product_id].stock is not None:
                Product.objects.filter(pk=products[line.product_id].pk).update(stock=F("stock") - line.quantity)
        Interaction.objects.bulk_create(
            [
                Interaction(
                    customer=customer,
                    product=products[line.product_id],
                    kind=Interaction.Kind.PURCHASE,
                    timestamp=order.created_at,
                    quantity=line.quantity,
                    context={**line.context, "order": order.number},
                    event_id=f"order-{order.number}-{index}",
                )
                for index, line in enumerate(lines)
            ]
        )
        # New purchases: the customer's personal lists change once the order commits.
        customer_activity_bump_on_commit(customer_ids=[customer.customer_id], user_ids=[customer.user_id] if customer.user_id else [])
    price_changes: list[PriceChange] = []
    for line in lines:
        product = products[line.product_id]
        if line.cart_price is not None and line.cart_price != product.price:
            price_changes.append(PriceChange(product_id=line.product_id, title=product.title, cart_price=line.cart_price, price=product.price))
    return PlacedOrder(order=order, price_changes=price_changes)


def _idempotency_key_check(*, key: str | None) -> None:
    """Refuse an Idempotency-Key that is not 1-64 characters of letters, digits, '_', '-', ':' and '.'."""
    if key is None:
        return
    try:
        idempotency_key_validator(key)
    except ValidationError as error:
        message = error.messages[0]
        raise ApiError(f"Idempotency-Key: {message}", code="invalid_idempotency_key", fields={"Idempotency-Key": [message]}) from None


def _order_by_idempotency_key(*, customer: Customer, key: str) -> Order | None:
    return Order.objects.filter(customer=customer, idempotency_key=key).prefetch_related("lines__product").first()


def _order_replay(*, order: Order, lines: Sequence[OrderLineInput]) -> PlacedOrder:
    """Return an order placed earlier under the same key, or ApiError 409 when these lines are another cart."""
    stored = order.lines.all()
    if sorted((line.product.product_id, line.quantity) for line in stored) != sorted((line.product_id, line.quantity) for line in lines):
        raise ApiError(
            f"Idempotency-Key: This key already placed order {order.number} for another cart; send a new key for this one.",
            code="idempotency_key_reused",
            fields={"Idempotency-Key": ["Already used for another cart."]},
            status_code=409,
        )
    charged = {line.product.product_id: line for line in stored}
    price_changes = [
        PriceChange(product_id=line.product_id, title=charged[line.product_id].product.title, cart_price=line.cart_price, price=charged[line.product_id].unit_price)
        for line in lines
        if line.cart_price is not None and line.cart_price != charged[line.product_id].unit_price
    ]
    return PlacedOrder(order=order, price_changes=price_changes, created=False)


def _order_create(*, customer: Customer, currency: str, total: Decimal, idempotency_key: str | None = None) -> tuple[Order, bool]:
    """Create the order under a fresh number and return it with True.

    When another checkout of the customer already stored an order under `idempotency_key`, return
    that one with False. ApiError 503 (retryable, nothing written) when every number drawn is taken.
    """
    for _ in range(ORDER_NUMBER_ATTEMPTS):
        try:
            with transaction.atomic():  # a savepoint: a number or key clash leaves the outer transaction usable
                order = Order.objects.create(
                    number=order_number_new(), customer=customer, currency=currency, total=total, idempotency_key=idempotency_key
                )
                return order, True
        except IntegrityError:
            # PostgreSQL waited for the other checkout to commit before refusing the key, so its order is visible now.
            earlier = _order_by_idempotency_key(customer=customer, key=idempotency_key) if idempotency_key is not None else None
            if earlier is not None:
                return earlier, False
            continue
    raise ApiError(
        f"Could not allocate an order number after {ORDER_NUMBER_ATTEMPTS} tries; nothing was charged, please try again.",
        code="order_number_unavailable",
        status_code=503,
    )
