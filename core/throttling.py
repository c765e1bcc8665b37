"""Rate limits per caller on the shared cache (Redis), one scope per kind of request.

A view opts in with one line, ``throttle_scope = "events"``; the rates live in
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (from the environment, see config/settings.py).

Who is counted: a signed-in user or API-token client by its user, a storefront visitor by
the id in its signed visitor cookie (shoppers behind one address are not lumped together),
and a request that brings no valid cookie by its client address, so a script that drops
cookies shares one budget per address. ``sign_in`` always counts by address: a password
guesser is free to drop or collect cookies.

The counting is DRF's (a sliding window kept in the cache). When the cache is down, the
history reads as empty and is not written, so requests pass: a dead Redis lifts the limits
rather than failing requests.
"""

from django.core import checks
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

EVENTS = "events"
CHECKOUT = "checkout"
FEEDBACK = "feedback"
SEARCH = "search"
SIGN_IN = "sign_in"

BY_ADDRESS_ONLY = {SIGN_IN}
DISABLED_RATES = {"off", "none"}


def carries_search_term(request: Request) -> bool:
    return bool(request.query_params.get("search", "").strip())


# A scope may count only some of its view's requests: the catalog is free to browse, searching is counted.
COUNTS_ONLY_WHEN = {SEARCH: carries_search_term}

DESCRIPTIONS = {
    EVENTS: "Too many event posts from this caller",
    CHECKOUT: "Too many checkouts from this caller",
    FEEDBACK: "Too many feedback posts from this caller",
    SEARCH: "Too many searches from this caller (only requests with `search` count)",
    SIGN_IN: "Too many sign-in attempts from this address",
}


class VisitorRateThrottle(ScopedRateThrottle):
    """Limit a view's ``throttle_scope`` per user, else per visitor cookie, else per client address."""

    @property
    def THROTTLE_RATES(self) -> dict:  # noqa: N802 (DRF's name)
        # Read at request time: DRF copies the rates onto the class at import, so changed settings would be ignored.
        return api_settings.DEFAULT_THROTTLE_RATES

    def allow_request(self, request: Request, view) -> bool:
        counts = COUNTS_ONLY_WHEN.get(getattr(view, self.scope_attr, None))
        if counts is not None and not counts(request):
            return True
        return super().allow_request(request, view)

    def get_rate(self) -> str | None:
        rate = super().get_rate()
        return None if rate is None or rate.strip().lower() in DISABLED_RATES else rate

    def get_cache_key(self, request: Request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.caller(request)}

    def caller(self, request: Request) -> str:
        if self.scope not in BY_ADDRESS_ONLY:
            if request.user is not None and request.user.is_authenticated:
                return f"user-{request.user.pk}"
            if not getattr(request, "visitor_is_new", True):  # a valid cookie came with the request
                return f"visitor-{request.visitor_id}"
        return self.get_ident(request)


def throttle_scope_of(view) -> str | None:
    """Return the scope a view's requests are limited by, for the schema; None when it has none."""
    scope = getattr(view, VisitorRateThrottle.scope_attr, None)
    throttled = any(isinstance(throttle, VisitorRateThrottle) for throttle in view.get_throttles())
    return scope if scope and throttled else None


def rate_problem(rate: str | None) -> str | None:
    """Why DRF cannot read ``rate``, or None."""
    if rate is None or rate.strip().lower() in DISABLED_RATES:
        return None
    try:
        VisitorRateThrottle().parse_rate(rate)
    except (ValueError, KeyError, IndexError):
        return f"{rate!r} is not a rate: write <count>/<s|min|hour|day>, e.g. 60/min, or off."
    return None


@checks.register()
def check_throttle_rates(app_configs, **kwargs):
    """A malformed rate would answer every request of its scope with a 500: refuse it at start instead."""
    return [
        checks.Error(f"Throttle rate of scope {scope!r}: {problem}", id="core.E010")
        for scope, rate in api_settings.DEFAULT_THROTTLE_RATES.items()
        if (problem := rate_problem(rate))
    ]
