"""Writes for the catalog and behaviour data."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction

from shop.models import Customer, Interaction, Product


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
            return visitor
        if own is None:
            own, _ = Customer.objects.get_or_create(customer_id=f"user-{user.pk}", defaults={"user": user})
            if own.user_id != user.pk:
                own.user = user
                own.save(update_fields=["user"])
            return own
        if visitor is not None and visitor.pk != own.pk:
            visitor.interactions.update(customer=own)
            visitor.delete()
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
    return RecordResult(stored=len(rows), duplicates=duplicates)
