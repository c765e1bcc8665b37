"""Team-draft interleaving on hand-made rankings: exact merges, credit, determinism per seed, and validity."""

import os
import random
import subprocess
import sys

import pytest

from recommendations.engine.interleaving import TEAM_A, TEAM_B, InterleavedList, seed_of, team_draft


def assert_valid_team_draft(ranking_a, ranking_b, k, shown):
    """Check ``shown`` against the definition of a team draft, pick by pick.

    Every pick is its team's highest-ranked item not shown before it; the team with fewer picks picked
    (either one on a tie); a team picked out of turn only when the other had nothing left; nothing repeats;
    and the list stops at k or when both rankings are used up.
    """
    rankings = {TEAM_A: list(ranking_a), TEAM_B: list(ranking_b)}
    other = {TEAM_A: TEAM_B, TEAM_B: TEAM_A}
    assert len(shown.items) == len(shown.teams)
    assert len(set(shown.items)) == len(shown.items), "an item is shown twice"
    picks = {TEAM_A: 0, TEAM_B: 0}
    for position, (item, team) in enumerate(zip(shown.items, shown.teams)):
        before = set(shown.items[:position])
        left = {name: [x for x in ranking if x not in before] for name, ranking in rankings.items()}
        assert left[team] and item == left[team][0], f"position {position}: {item} is not {team}'s best unshown item"
        if left[other[team]]:
            assert picks[team] <= picks[other[team]], f"position {position}: {team} picked out of turn"
        picks[team] += 1
    distinct = len(set(ranking_a) | set(ranking_b))
    assert len(shown.items) == min(k, distinct)


# --------------------------------------------------------------------------- exact merges


def test_each_coin_outcome_gives_the_merge_worked_by_hand():
    """A = 1 2 3 4, B = 2 5 1 6, k = 4; two ties, so four merges.

    A first: 1(A) 2(B), then A first: 3(A) 5(B), or B first: 5(B) 3(A).
    B first: 2(B) 1(A), then A first: 3(A) 5(B), or B first: 5(B) 3(A).
    """
    by_hand = {
        ((1, 2, 3, 5), ("A", "B", "A", "B")),
        ((1, 2, 5, 3), ("A", "B", "B", "A")),
        ((2, 1, 3, 5), ("B", "A", "A", "B")),
        ((2, 1, 5, 3), ("B", "A", "B", "A")),
    }
    seen = set()
    for seed in range(200):
        shown = team_draft([1, 2, 3, 4], [2, 5, 1, 6], 4, seed=seed)
        seen.add((tuple(shown.items), tuple(shown.teams)))

    assert seen == by_hand


def test_a_logged_seed_rebuilds_the_same_merge_in_any_python():
    """Seed 2024's three ties go A, B, A; Python guarantees random() repeats for an integer seed.

    A first: p1(A) p3(B); B first: p6(B) p2(A); A first: p4(A), and B's p1 is taken, so p7(B).
    """
    shown = team_draft(["p1", "p2", "p3", "p4", "p5"], ["p3", "p6", "p1", "p7", "p8"], 6, seed=2024)

    assert shown == InterleavedList(
        items=["p1", "p3", "p6", "p2", "p4", "p7"],
        teams=["A", "B", "B", "A", "A", "B"],
    )


def test_identical_rankings_show_that_ranking_with_one_pick_per_team_in_each_pair():
    """Each tie starts a pair of picks: the coin only decides which team takes the first item of the pair."""
    ranking = ["a", "b", "c", "d", "e", "f"]
    first_teams = set()
    for seed in range(50):
        shown = team_draft(ranking, ranking, 6, seed=seed)

        assert shown.items == ranking
        assert all(sorted(shown.teams[i : i + 2]) == ["A", "B"] for i in range(0, 6, 2))
        first_teams.add(tuple(shown.teams[::2]))
    assert len(first_teams) == 8  # every one of the 2^3 coin outcomes occurs over 50 seeds


def test_a_product_in_both_rankings_is_credited_once_to_the_team_that_placed_it():
    for seed in range(40):
        shown = team_draft(["x", "a1", "a2"], ["x", "b1", "b2"], 5, seed=seed)

        assert shown.items.count("x") == 1
        first = shown.teams[0]
        assert shown.items[0] == "x"
        # The other team's best item is taken, so it starts with its second.
        assert shown.items[1] == ("b1" if first == TEAM_A else "a1")
        assert shown.teams[1] != first
        assert sorted(shown.items) == ["a1", "a2", "b1", "b2", "x"]


def test_a_shared_item_ranked_lower_by_one_team_goes_to_whoever_reaches_it_first():
    """B ranks 1 third; A takes it first, so B's turn skips it and goes to 6."""
    for seed in range(40):
        shown = team_draft([1, 2, 3, 4], [2, 5, 1, 6], 6, seed=seed)

        assert shown.teams[shown.items.index(1)] == TEAM_A
        assert shown.teams[shown.items.index(2)] == TEAM_B
        assert sorted(shown.items) == [1, 2, 3, 4, 5, 6]


def test_an_exhausted_ranking_lets_the_other_team_fill_the_list():
    merges = {tuple(team_draft([1], [2, 3, 4, 5], 4, seed=seed).teams) for seed in range(40)}
    assert merges == {("A", "B", "B", "B"), ("B", "A", "B", "B")}

    for seed in range(5):
        assert team_draft([], [7, 8, 9], 2, seed=seed) == InterleavedList(items=[7, 8], teams=["B", "B"])
        assert team_draft([7, 8, 9], [], 5, seed=seed) == InterleavedList(items=[7, 8, 9], teams=["A", "A", "A"])


def test_k_larger_than_both_lists_shows_every_distinct_item_once():
    shown = team_draft([1, 2, 3], [3, 4], 10, seed=3)

    assert sorted(shown.items) == [1, 2, 3, 4]
    assert_valid_team_draft([1, 2, 3], [3, 4], 10, shown)


def test_repeats_within_a_ranking_are_ignored_after_the_first():
    for seed in range(20):
        shown = team_draft([1, 1, 2], [3, 3, 4], 10, seed=seed)

        assert sorted(shown.items) == [1, 2, 3, 4]
        assert [i for i, t in zip(shown.items, shown.teams) if t == TEAM_A] == [1, 2]
        assert [i for i, t in zip(shown.items, shown.teams) if t == TEAM_B] == [3, 4]


def test_k_zero_gives_an_empty_list_and_a_negative_k_raises():
    assert team_draft([1, 2], [3], 0, seed=1) == InterleavedList(items=[], teams=[])
    assert team_draft([], [], 5, seed=1) == InterleavedList(items=[], teams=[])
    with pytest.raises(ValueError):
        team_draft([1, 2], [3], -1, seed=1)


def test_the_result_is_frozen():
    shown = team_draft([1], [2], 2, seed=0)
    with pytest.raises(AttributeError):
        shown.items = []


# --------------------------------------------------------------------------- validity on many cases


def test_every_merge_of_random_rankings_is_a_valid_team_draft():
    """Small catalogues so rankings overlap and repeat; every length and k up to past both lists."""
    rng = random.Random(7)
    for _ in range(1000):
        ranking_a = [rng.randrange(10) for _ in range(rng.randrange(9))]
        ranking_b = [rng.randrange(10) for _ in range(rng.randrange(9))]
        k = rng.randrange(12)
        seed = rng.randrange(2**64)

        assert_valid_team_draft(ranking_a, ranking_b, k, team_draft(ranking_a, ranking_b, k, seed=seed))


# --------------------------------------------------------------------------- seeds


def test_the_same_seed_gives_the_same_merge_and_a_str_seed_goes_through_seed_of():
    ranking_a, ranking_b = list(range(10)), list(range(9, -1, -1))
    for seed in (0, 1, 2**63, "req-1", "req-2"):
        assert team_draft(ranking_a, ranking_b, 10, seed=seed) == team_draft(ranking_a, ranking_b, 10, seed=seed)
    assert team_draft(ranking_a, ranking_b, 10, seed="req-1") == team_draft(ranking_a, ranking_b, 10, seed=seed_of("req-1"))


def test_seed_of_is_a_stable_64_bit_number():
    """Pinned values: a change here would rebuild different lists from logged request ids."""
    assert seed_of("req-1") == 10425524556267509419
    assert seed_of("") == 17235822799114072152
    assert all(0 <= seed_of(f"r{n}") < 2**64 for n in range(100))
    assert len({seed_of(f"r{n}") for n in range(1000)}) == 1000


def test_the_merge_for_a_request_id_is_the_same_in_another_process():
    """Another PYTHONHASHSEED: str hashing differs between the processes, blake2b does not."""
    ids = [f"req-{n}" for n in range(100)]
    code = (
        "from recommendations.engine.interleaving import team_draft;"
        "print(';'.join(''.join(team_draft(list('abcdefgh'), list('hgfedcba'), 8, seed=f'req-{n}').teams)"
        " for n in range(100)))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout.strip()

    here = ";".join("".join(team_draft(list("abcdefgh"), list("hgfedcba"), 8, seed=request_id).teams) for request_id in ids)
    assert other == here


def test_different_seeds_let_either_team_pick_first_about_half_the_time():
    """2,000 integer seeds and 2,000 request ids; 45-55 % is more than 4 standard errors either side."""
    ranking_a, ranking_b = [1, 2, 3], [4, 5, 6]
    by_int = sum(team_draft(ranking_a, ranking_b, 3, seed=seed).teams[0] == TEAM_A for seed in range(2000))
    by_id = sum(team_draft(ranking_a, ranking_b, 3, seed=f"request-{n}").teams[0] == TEAM_A for n in range(2000))

    assert 0.45 <= by_int / 2000 <= 0.55
    assert 0.45 <= by_id / 2000 <= 0.55
