"""The explain flag of the serving path: while a :class:`ListTrace` is active, lists record how they were made.

The staff explain page (:mod:`recommendations.explain`) runs the very selectors a request runs
inside :func:`list_traced`; they then skip the list cache (a cached list has no steps to show,
and an explained list is never stored) and hand the trace to the engine and the renderer.
Serving never activates one, so its only cost there is one context-variable read per list.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np

from recommendations.engine import Recommendations
from recommendations.engine.explain import RankingTrace


@dataclass
class ListTrace:
    """One list's steps: the engine's ranking trace, and what the serving layer did to its output."""

    ranking: RankingTrace = field(default_factory=RankingTrace)
    model: object = None  # the ServingModel that ranked (None: the popular list, no model)
    available: np.ndarray | None = None  # the availability mask the ranking used
    found: Recommendations | None = None  # the engine's output, before one-product-per-group
    hidden_group: str = ""  # the page's product's item group, left out of the list
    dropped: dict[str, str] = field(default_factory=dict)  # product id -> why rendering skipped it


_active: ContextVar[ListTrace | None] = ContextVar("recommendation_list_trace", default=None)


def active_trace() -> ListTrace | None:
    """Return the trace the current list records into, None while serving."""
    return _active.get()


@contextmanager
def list_traced() -> Iterator[ListTrace]:
    """Record the next list made in this block (uncached) into the yielded trace."""
    trace = ListTrace()
    token = _active.set(trace)
    try:
        yield trace
    finally:
        _active.reset(token)
