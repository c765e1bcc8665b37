"""The span of time an event may claim, one rule for every way events enter the store.

The events API (`timestamp`), the Flask engine's `/feedback` (`ts`) and the CSV importer
(`ts`) all check an event's time here: not before ``EARLIEST_EVENT_TIME`` (nothing the
store sells was viewed in the last millennium; a year-1 date is a client bug, and one
stored breaks every page that formats it), and not more than ``FUTURE_TIMESTAMP_TOLERANCE``
ahead of the server's clock (a client's clock may run a little fast).
"""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

EARLIEST_EVENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_TIMESTAMP_TOLERANCE = timedelta(minutes=15)


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
