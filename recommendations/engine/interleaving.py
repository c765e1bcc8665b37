"""Team-draft interleaving: merge two rankings into one shown list and credit each shown item to a team.

Pure Python, no Django. Interleaving compares two rankers on the same visitor and the same request, so
the visitor's own click habits cancel out of the comparison (Radlinski, Kurup and Joachims, 2008, "How
does clickthrough data reflect retrieval quality?"). The statistics of the outcome live in
:func:`experiments.stats.interleaving_preference`.

The merge is a function of the two rankings and a seed only, and the seed of a request comes from
:func:`seed_of`, so the list shown to a visitor can be rebuilt exactly in any process, later, from the
request id and the two rankings::

    from recommendations.engine.interleaving import team_draft
    shown = team_draft(ranking_a, ranking_b, 10, seed=request_id)
    shown.items, shown.teams   # product ids as shown, and "A" / "B" per position
"""

from __future__ import annotations

import hashlib
import operator
import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

__all__ = ["TEAM_A", "TEAM_B", "InterleavedList", "seed_of", "team_draft"]

TEAM_A = "A"
TEAM_B = "B"

# Domain separation: the same request id hashed for another purpose gives an unrelated number.
_SEED_PERSON = b"team-draft"


@dataclass(frozen=True)
class InterleavedList:
    """The list shown to the visitor and, per position, the team the item is credited to."""

    items: list  # item ids as shown, best position first; length <= k
    teams: list[str]  # TEAM_A or TEAM_B per shown item


def seed_of(request_id: str) -> int:
    """Return a stable 64-bit seed for a request id: the same in every process, machine and Python version.

    ``hash(str)`` is salted per process (PYTHONHASHSEED), so it cannot rebuild a merge elsewhere; blake2b can.
    """
    digest = hashlib.blake2b(request_id.encode("utf-8", "surrogatepass"), digest_size=8, person=_SEED_PERSON)
    return int.from_bytes(digest.digest(), "big")


def _next_unshown(ranking: list, start: int, shown: set) -> int:
    """Return the first index at or after ``start`` whose item is not shown yet; ``len(ranking)`` when none is."""
    while start < len(ranking) and ranking[start] in shown:
        start += 1
    return start


def team_draft(ranking_a: Sequence[Hashable], ranking_b: Sequence[Hashable], k: int, *, seed: int | str) -> InterleavedList:
    """Return the team-draft merge of two rankings, at most ``k`` items long.

    Until ``k`` items are shown or both rankings are used up, the team with fewer picks picks next and
    adds its highest-ranked item not shown yet, which is credited to it. A tie in picks is broken by a
    coin: the next ``random.Random(seed).random() < 0.5`` puts A first. Python guarantees that
    ``random()`` repeats for the same integer seed across versions, so a logged seed rebuilds the list.
    When one team has nothing left to add, the other keeps picking. An item in both rankings is credited
    to the team that placed it first; a repeat within one ranking is skipped like any shown item.

    A ``str`` seed (a request id) goes through :func:`seed_of`. ``k < 0`` raises ValueError.
    """
    k = operator.index(k)
    if k < 0:
        raise ValueError(f"k must be non-negative, got {k}")
    coin = random.Random(seed_of(seed) if isinstance(seed, str) else operator.index(seed))
    rankings = (list(ranking_a), list(ranking_b))
    cursors = [0, 0]
    picks = [0, 0]
    shown: set = set()
    items: list = []
    teams: list[str] = []
    while len(items) < k:
        cursors = [_next_unshown(ranking, cursor, shown) for ranking, cursor in zip(rankings, cursors)]
        a_left = cursors[0] < len(rankings[0])
        b_left = cursors[1] < len(rankings[1])
        if not (a_left or b_left):
            break
        if not b_left:
            team = 0
        elif not a_left:
            team = 1
        elif picks[0] != picks[1]:
            team = 0 if picks[0] < picks[1] else 1
        else:
            team = 0 if coin.random() < 0.5 else 1
        item = rankings[team][cursors[team]]
        shown.add(item)
        items.append(item)
        teams.append(TEAM_A if team == 0 else TEAM_B)
        picks[team] += 1
        cursors[team] += 1
    return InterleavedList(items=items, teams=teams)
