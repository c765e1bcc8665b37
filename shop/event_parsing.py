"""How every entry point reads an event's kind and time: the events API, `/feedback` and the CSV importer.

Kinds: the four canonical kinds and the names older systems used for them. Times: ISO 8601
or unix seconds, and the span an event may claim: not before ``EARLIEST_EVENT_TIME`` (nothing
the store sells was viewed in the last millennium; a year-1 date is a client bug, and one
stored breaks every page that formats it), and not more than ``FUTURE_TIMESTAMP_TOLERANCE``
ahead of the server's clock (a client's clock may run a little fast).
"""

import re
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from shop.models import Interaction

EARLIEST_EVENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_TIMESTAMP_TOLERANCE = timedelta(minutes=15)

KIND_ALIASES: dict[str, Interaction.Kind] = {
    "viewed": Interaction.Kind.VIEW,
    "view_item": Interaction.Kind.VIEW,
    "clicked": Interaction.Kind.CLICK,
    "cart": Interaction.Kind.ADD_TO_CART,
    "addtocart": Interaction.Kind.ADD_TO_CART,
    "added_to_cart": Interaction.Kind.ADD_TO_CART,
    "order": Interaction.Kind.PURCHASE,
    "buy": Interaction.Kind.PURCHASE,
    "bought": Interaction.Kind.PURCHASE,
    "purchased": Interaction.Kind.PURCHASE,
}

_KIND_BY_NAME: dict[str, str] = {kind.value: kind.value for kind in Interaction.Kind} | {
    alias: kind.value for alias, kind in KIND_ALIASES.items()
}


def kind_parse(value: str) -> str:
    """Return the canonical kind for a kind or alias, in any case and with `-` or spaces for `_`.

    Raises ValueError with a reason a person can act on.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError("interaction kind is empty")
    name = value.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return _KIND_BY_NAME[name]
    except KeyError:
        canonical = ", ".join(Interaction.Kind.values)
        raise ValueError(
            f"unknown interaction kind {value.strip()!r} (expected {canonical} or an alias such as clicked, cart, order)"
        ) from None


_UNIX_SECONDS = re.compile(r"[+-]?\d+(\.\d*)?")
_UNIX_SECONDS_LIMIT = 10**11


def timestamp_parse(value: str) -> datetime:
    """Return an aware datetime from ISO 8601 (naive means UTC) or unix seconds, integer or float.

    A plain number is always unix seconds, never an ISO basic-format date.
    """
    if not value:
        raise ValueError("missing ts")
    if _UNIX_SECONDS.fullmatch(value):
        seconds = float(value) if "." in value else int(value)
        if abs(seconds) >= _UNIX_SECONDS_LIMIT:
            raise ValueError(f"timestamp {value} is out of range (milliseconds? ts takes unix seconds)")
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"timestamp {value} is out of range") from None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"bad timestamp {value!r}: expected ISO 8601 or unix seconds") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class EventTimeError(ValueError):
    """An event time outside the bounds.

    ``str(error)`` is the problem as a phrase ("before 2000-01-01 UTC, ...") for each entry
    point to word in its own style; ``code`` is the API error code.
    """

    def __init__(self, problem: str, *, code: str):
        super().__init__(problem)
        self.code = code


def event_time_check(moment: datetime) -> datetime:
    """Return the aware `moment` if an event may claim it; raise EventTimeError otherwise."""
    if moment < EARLIEST_EVENT_TIME:
        raise EventTimeError(
            f"before {EARLIEST_EVENT_TIME:%Y-%m-%d} UTC, the earliest event time", code="timestamp_too_early"
        )
    if moment > timezone.now() + FUTURE_TIMESTAMP_TOLERANCE:
        minutes = int(FUTURE_TIMESTAMP_TOLERANCE.total_seconds() // 60)
        raise EventTimeError(f"in the future (more than {minutes} minutes ahead)", code="future_timestamp")
    return moment
