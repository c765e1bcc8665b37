"""Customer activity generations: a token in the cache that changes whenever a customer's history does.

Per-customer caches (the personal recommendation lists) put the token in their keys, so a
cache hit needs no database read to know it is current: one cache read names the key, and
a new event, order, imported chunk or visitor -> user merge gives new keys at once.

Keys: ``activity:c:<customer_id>`` per customer, and ``activity:u:<user pk>`` per user linked
to a customer, because a signed-in request knows its user but not which customer row is
theirs. Every writer of interactions calls :func:`customer_activity_bump_on_commit` inside its
transaction; the tokens change only after the rows are visible to other connections, so a
reader that sees a new token and then reads the database sees the new rows.

Tokens are fresh values (the time in microseconds and random bits), never a counter: a key
that is lost (evicted, expired, Redis restarted empty) is seeded again with a new token that
no earlier list was cached under, so a lost key costs one recomputation and can never bring
an older list back. When the cache cannot be read or written (Redis down or hung, which
django-redis's ``IGNORE_EXCEPTIONS`` turns into defaults), :func:`activity_generation` says
None and the caller must not use anything cached for that customer.

Tokens are as shared as the cache is: with Redis every process sees every bump; with the
local-memory cache (no REDIS_URL: one ``runserver`` process) a bump made by another process,
such as the ``import_interactions`` command, reaches the web process's lists only when they
expire.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Sequence
from functools import partial
from urllib.parse import quote

from django.core.cache import cache
from django.db import transaction

from shop.models import Customer

# A token only needs to outlive the entries keyed by it (recommendation lists live 5 minutes by
# default): an expired one is seeded again, which costs a recomputation, never correctness, and
# keeps the keys of one-time visitors from piling up.
ACTIVITY_TIMEOUT = 3600
USER_LOOKUP_BATCH_SIZE = 500


def customer_activity_key(customer_id: str) -> str:
    return "activity:c:" + quote(customer_id, safe="-_.~")


def user_activity_key(user_pk: int) -> str:
    return f"activity:u:{int(user_pk)}"


def activity_token_new() -> str:
    """Return a token no earlier bump or seed used: microseconds since the epoch and 24 random bits, in hex."""
    return f"{time.time_ns() // 1000:x}{secrets.token_hex(3)}"


def customer_activity_bump(*, customer_ids: Iterable[str], user_ids: Iterable[int] | None = ()) -> None:
    """Give these customers (and users) a new activity token, in one cache round trip.

    ``user_ids`` None: look up which users these customers are linked to (for writers that do
    not hold the customer rows, such as the CSV import).
    """
    customer_ids = sorted(set(customer_ids))
    if user_ids is None:
        user_ids = _linked_user_ids(customer_ids)
    keys = [customer_activity_key(customer_id) for customer_id in customer_ids]
    keys += [user_activity_key(user_pk) for user_pk in sorted(set(user_ids))]
    if not keys:
        return
    token = activity_token_new()
    if len(keys) == 1:
        cache.set(keys[0], token, timeout=ACTIVITY_TIMEOUT)
    else:
        cache.set_many(dict.fromkeys(keys, token), timeout=ACTIVITY_TIMEOUT)


def customer_activity_bump_on_commit(*, customer_ids: Iterable[str], user_ids: Iterable[int] | None = ()) -> None:
    """Bump these customers once the current transaction commits (at once outside one; never if it rolls back).

    A failing bump is logged, not raised: the rows are committed by then, and the lists it
    would have refreshed still expire with their TTL.
    """
    customer_ids = list(customer_ids)
    user_ids = None if user_ids is None else list(user_ids)
    if not customer_ids and not user_ids:
        return
    transaction.on_commit(partial(customer_activity_bump, customer_ids=customer_ids, user_ids=user_ids), robust=True)


def activity_generation(*, keys: Sequence[str]) -> str | None:
    """Return the tokens under these activity keys, joined by ``.``; None when the cache cannot say.

    One cache read when every key is there. A missing key (never bumped, or lost) is seeded
    with a new token before the caller reads the database, so whatever the caller caches under
    it was computed after the token existed.
    """
    if len(keys) == 1:
        found = {keys[0]: cache.get(keys[0])}
    else:
        found = cache.get_many(list(keys))
    tokens = []
    for key in keys:
        token = found.get(key)
        if not isinstance(token, str):
            token = _activity_seed(key)
            if token is None:
                return None
        tokens.append(token)
    return ".".join(tokens)


def _activity_seed(key: str) -> str | None:
    token = activity_token_new()
    added = cache.add(key, token, timeout=ACTIVITY_TIMEOUT)
    if added:
        return token
    if added is None:  # django-redis ignored an error (IGNORE_EXCEPTIONS); Django's backends say True or False
        return None
    # Someone else seeded or bumped it between the read and the add: theirs is current.
    stored = cache.get(key)
    return stored if isinstance(stored, str) else None


def _linked_user_ids(customer_ids: Sequence[str]) -> list[int]:
    user_ids: list[int] = []
    for start in range(0, len(customer_ids), USER_LOOKUP_BATCH_SIZE):
        batch = customer_ids[start : start + USER_LOOKUP_BATCH_SIZE]
        user_ids += Customer.objects.filter(customer_id__in=batch, user__isnull=False).values_list("user_id", flat=True)
    return user_ids
