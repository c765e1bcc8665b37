"""Writes for the catalog and behaviour data."""

from django.db import IntegrityError, transaction

from shop.models import Customer


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
