"""Estimate how many visitors an A/B test and an interleaving experiment need to find the same preference (a benchmark, not a test).

    .venv/bin/python bench/interleaving_power.py [--quick] [--runs 400] [--seed 0]

Simulated shoppers: a catalogue of 200 items with attractiveness ~ Uniform(0, 0.4); two rankers each
list 10 items per request, A by sampling the catalogue uniformly, B by sampling it in proportion to
exp(beta * attractiveness) (successive sampling, so B also tends to put its best items first), beta
chosen so that the items B lists are 10 % more attractive on average. A shopper sees 1-3 lists and
clicks the item at position i (0-based) with probability propensity x attractiveness x 1/(i + 1),
independently of the other items.

- A/B test: half the visitors see A's lists, half B's; clicks / lists shown per visitor is a ratio
  metric compared with ``experiments.stats.ratio_comparison`` (delta method).
- Interleaving: every visitor sees the team-draft merge of both lists
  (``recommendations.engine.interleaving``), analysed with ``experiments.stats.interleaving_preference``.

Power is P(p < 0.05 and the winner is B), estimated from ``--runs`` seeded experiments per sample size.
Each run simulates the largest size once and smaller sizes are its first visitors, so one set of runs
gives the whole power curve (common random numbers: the curve is smooth in n). The visitors for 80 %
power come from interpolating that curve in log n. Two shopper populations are compared: identical
shoppers (propensity 1) and shoppers whose propensity to click varies (Gamma, mean 1), since how much
visitors differ from each other is what the A/B test pays for and interleaving does not.

What drives the ratio: with identical shoppers and independent clicks, every click carries the same
information in both designs (an A/B click is 1.1 : 1 more likely in arm B, an interleaved click 1.1 : 1
more likely on B's items), so interleaving has nothing to cancel, and the sign test, which keeps only
the side each visitor leans to and drops visitors who lean to neither, needs somewhat more visitors.
When shoppers differ in how much they click, that spread is noise in every A/B arm (a ratio metric's
variance over visitors) but cancels within an interleaved list, so the A/B test's sample size grows
with the spread while interleaving's barely moves.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import optimize, stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experiments.stats import (  # noqa: E402
    B_PREFERRED,
    RatioSums,
    impression_outcomes,
    interleaving_preference,
    ratio_comparison,
)
from experiments.interleaving_simulation import ranked_lists, team_draft_batch  # noqa: E402

ALPHA = 0.05
TARGET_POWER = 0.8
CATALOGUE = 200
K = 10
ATTRACTIVENESS_HIGH = 0.4  # attractiveness ~ Uniform(0, ATTRACTIVENESS_HIGH)
B_LIFT = 0.10  # B's listed items are this much more attractive on average
IMPRESSIONS = (1, 3)  # lists shown per visitor, uniform on this range
BANK = 50_000  # lists drawn per ranker up front; each impression picks one at random
GRID_POINTS = 12
# The interval is not used here, only the sign test's decision; a small bootstrap keeps 10,000 calls fast.
BENCH_N_BOOT = 100


@dataclass(frozen=True)
class Population:
    """Shoppers' propensity to click: 1 for everyone (shape None) or Gamma(shape, scale 1 / shape), mean 1."""

    name: str
    gamma_shape: float | None

    def propensities(self, rng: np.random.Generator, size: int) -> np.ndarray:
        if self.gamma_shape is None:
            return np.ones(size)
        return rng.gamma(self.gamma_shape, 1 / self.gamma_shape, size=size)

    def describe(self) -> str:
        if self.gamma_shape is None:
            return "propensity 1 for every shopper"
        sd = 1 / math.sqrt(self.gamma_shape)
        return f"propensity ~ Gamma(shape {self.gamma_shape:g}, mean 1, sd {sd:.2f}) per shopper"


POPULATIONS = (
    Population("identical shoppers", None),
    Population("shoppers differ", 0.5),
    Population("shoppers differ a lot", 0.1),  # most rarely click, a few click a lot
)


# --------------------------------------------------------------------------- shoppers


@dataclass
class Store:
    """The catalogue and a bank of lists per ranker, drawn once."""

    attractiveness: np.ndarray
    bias: np.ndarray
    lists_a: np.ndarray
    lists_b: np.ndarray
    beta: float


def store_build(seed: int) -> Store:
    """Draw the catalogue and calibrate beta so B's listed items are B_LIFT more attractive, within the bank."""
    rng = np.random.default_rng(seed)
    attractiveness = rng.uniform(0, ATTRACTIVENESS_HIGH, size=CATALOGUE)
    lists_a = ranked_lists(rng, np.ones(CATALOGUE), BANK, K)
    list_seed = int(rng.integers(2**63))

    def lists_b_for(beta: float) -> np.ndarray:
        # The same random numbers for every beta, so the lift is a smooth, increasing function of beta.
        return ranked_lists(np.random.default_rng(list_seed), np.exp(beta * attractiveness), BANK, K)

    mean_a = attractiveness[lists_a].mean()
    beta = optimize.brentq(lambda b: attractiveness[lists_b_for(b)].mean() / mean_a - 1 - B_LIFT, 0.0, 50.0, xtol=1e-4)
    return Store(attractiveness, 1.0 / (np.arange(K) + 1.0), lists_a, lists_b_for(beta), beta)


def _visitors(rng: np.random.Generator, population: Population, visitors: int):
    """Return (owner of each impression, impressions per visitor, click propensity per impression)."""
    impressions = rng.integers(IMPRESSIONS[0], IMPRESSIONS[1] + 1, size=visitors)
    owner = np.repeat(np.arange(visitors), impressions)
    propensity = population.propensities(rng, visitors)[owner]
    return owner, impressions, propensity


def _clicks(rng: np.random.Generator, store: Store, items: np.ndarray, propensity: np.ndarray) -> np.ndarray:
    probability = np.minimum(propensity[:, None] * store.attractiveness[items] * store.bias, 1.0)
    return rng.random(items.shape) < probability


def ab_run(rng: np.random.Generator, store: Store, population: Population, visitors_per_arm: int):
    """Return per-visitor (clicks, lists shown) for arm A and arm B."""
    arms = []
    for lists in (store.lists_a, store.lists_b):
        owner, impressions, propensity = _visitors(rng, population, visitors_per_arm)
        items = lists[rng.integers(0, BANK, size=owner.size)]
        clicks = _clicks(rng, store, items, propensity).sum(axis=1)
        arms.append((np.bincount(owner, weights=clicks, minlength=visitors_per_arm), impressions.astype(float)))
    return arms


def interleaving_run(rng: np.random.Generator, store: Store, population: Population, visitors: int):
    """Return per-visitor counts of impressions won by A, won by B and tied."""
    owner, _, propensity = _visitors(rng, population, visitors)
    lists_a = store.lists_a[rng.integers(0, BANK, size=owner.size)]
    lists_b = store.lists_b[rng.integers(0, BANK, size=owner.size)]
    items, credited_a = team_draft_batch(lists_a, lists_b, K, rng.random((owner.size, K // 2 + 1)) < 0.5)
    clicks = _clicks(rng, store, items, propensity)
    outcomes = impression_outcomes((clicks & credited_a).sum(axis=1), (clicks & ~credited_a).sum(axis=1))
    return [np.bincount(owner, weights=outcome, minlength=visitors) for outcome in outcomes]


# --------------------------------------------------------------------------- power


def ab_correct(arms, n_per_arm: int) -> bool:
    (clicks_a, lists_a), (clicks_b, lists_b) = arms
    result = ratio_comparison(
        RatioSums.from_values(clicks_a[:n_per_arm], lists_a[:n_per_arm]),
        RatioSums.from_values(clicks_b[:n_per_arm], lists_b[:n_per_arm]),
        alpha=ALPHA,
    )
    return result.p_value < ALPHA and result.absolute > 0


def interleaving_correct(counts, n: int) -> bool:
    wins_a, wins_b, ties = counts
    result = interleaving_preference(wins_a[:n], wins_b[:n], ties[:n], alpha=ALPHA, n_boot=BENCH_N_BOOT)
    return result.decision == B_PREFERRED


def _grid(guess: float) -> np.ndarray:
    """Sizes from guess / 3 to 3 x guess, geometric."""
    return np.unique(np.geomspace(max(guess / 3, 20), guess * 3, GRID_POINTS).round().astype(int))


def power_curve(simulate, correct, grid: np.ndarray, runs: int, seed: int) -> np.ndarray:
    """Return the share of ``runs`` seeded experiments that find B at each size of ``grid`` (prefixes of one run)."""
    hits = np.zeros(grid.size)
    for run in range(runs):
        data = simulate(np.random.default_rng([seed, run]), int(grid[-1]))
        hits += [correct(data, int(n)) for n in grid]
    return hits / runs


def size_for_power(grid: np.ndarray, power: np.ndarray, target: float = TARGET_POWER) -> float:
    """Interpolate the first crossing of ``target`` in log n; nan when the grid never reaches it."""
    above = np.flatnonzero(power >= target)
    if above.size == 0:
        return math.nan
    i = int(above[0])
    if i == 0:
        return float(grid[0]) if power[0] == target else math.nan
    x0, x1 = math.log(grid[i - 1]), math.log(grid[i])
    y0, y1 = power[i - 1], power[i]
    return math.exp(x0 + (target - y0) * (x1 - x0) / (y1 - y0))


def ab_guess(store: Store, population: Population, seed: int) -> float:
    """Return the visitors per arm the normal approximation wants, from a pilot's delta-method spreads."""
    arms = ab_run(np.random.default_rng([seed, 10**6]), store, population, 40_000)
    control, treatment = (RatioSums.from_values(clicks, lists) for clicks, lists in arms)
    z = stats.norm.ppf(1 - ALPHA / 2) + stats.norm.ppf(TARGET_POWER)
    difference = treatment.value - control.value
    return z * z * (control.linearised_sd**2 + treatment.linearised_sd**2) / difference**2


def interleaving_guess(store: Store, population: Population, seed: int) -> tuple[float, float, float]:
    """Return (visitors the normal approximation of the sign test wants, P(a visitor prefers a side), P(B | prefers))."""
    wins_a, wins_b, _ = interleaving_run(np.random.default_rng([seed, 10**6]), store, population, 40_000)
    prefer_a, prefer_b = (wins_a > wins_b).sum(), (wins_b > wins_a).sum()
    share_b = prefer_b / (prefer_a + prefer_b)
    preferring = (prefer_a + prefer_b) / wins_a.size
    z_alpha, z_power = stats.norm.ppf(1 - ALPHA / 2), stats.norm.ppf(TARGET_POWER)
    n_preferring = ((z_alpha * 0.5 + z_power * math.sqrt(share_b * (1 - share_b))) / (share_b - 0.5)) ** 2
    return n_preferring / preferring, preferring, share_b


def measure(store: Store, population: Population, runs: int, seed: int):
    """Return (A/B visitors in all, interleaving visitors, curves) for 80 % power, widening grids that fall short."""
    guess_ab = ab_guess(store, population, seed)
    guess_il, preferring, share_b = interleaving_guess(store, population, seed)
    found = {}
    for name, guess, simulate, correct in (
        ("ab", guess_ab, lambda rng, n: ab_run(rng, store, population, n), ab_correct),
        ("il", guess_il, lambda rng, n: interleaving_run(rng, store, population, n), interleaving_correct),
    ):
        for _ in range(6):
            grid = _grid(guess)
            power = power_curve(simulate, correct, grid, runs, seed)
            needed = size_for_power(grid, power)
            if not math.isnan(needed):
                break
            guess = guess * 3 if power[-1] < TARGET_POWER else guess / 3
        else:
            raise RuntimeError(f"{name}: no grid around the normal approximation reached {TARGET_POWER:.0%} power")
        found[name] = (needed, grid, power)
    return found, {"preferring": preferring, "share_b": share_b, "guess_ab": guess_ab, "guess_il": guess_il}


def arguments_parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400, help="seeded experiments per sample size (default 400)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="60 runs per size: a smoke run with rough figures")
    return parser.parse_args()


def main() -> None:
    args = arguments_parse()
    runs = 60 if args.quick else args.runs
    started = time.perf_counter()
    store = store_build(args.seed)
    mean_a = store.attractiveness[store.lists_a].mean()
    mean_b = store.attractiveness[store.lists_b].mean()
    clicks_a = (store.attractiveness[store.lists_a] * store.bias).sum(axis=1).mean()
    clicks_b = (store.attractiveness[store.lists_b] * store.bias).sum(axis=1).mean()
    print("Settings")
    print(f"  catalogue {CATALOGUE} items, attractiveness ~ Uniform(0, {ATTRACTIVENESS_HIGH}); lists of k = {K}")
    print(f"  position bias 1/(i+1), i = 0..{K - 1}; {IMPRESSIONS[0]}-{IMPRESSIONS[1]} lists per visitor (uniform)")
    print(f"  A samples the catalogue uniformly; B in proportion to exp({store.beta:.3f} x attractiveness)")
    print(f"  B's listed items: mean attractiveness {mean_b:.4f} vs {mean_a:.4f} (x{mean_b / mean_a:.3f});")
    print(f"    expected clicks per list for a propensity-1 shopper {clicks_b:.4f} vs {clicks_a:.4f} (x{clicks_b / clicks_a:.3f})")
    print(f"  power = P(p < {ALPHA} and B wins), {runs} seeded runs per size, seed {args.seed}; target {TARGET_POWER:.0%}")
    print("  the vectorised team draft (experiments.interleaving_simulation) is checked against the engine by the tests")
    print()
    rows = []
    for population in POPULATIONS:
        found, pilot = measure(store, population, runs, args.seed)
        ab_per_arm, ab_grid, ab_power = found["ab"]
        il_needed, il_grid, il_power = found["il"]
        rows.append((population, 2 * ab_per_arm, il_needed))
        print(f"{population.name}: {population.describe()}")
        print(
            f"  pilot: {pilot['preferring']:.1%} of interleaved visitors prefer a side, "
            f"{pilot['share_b']:.1%} of those prefer B"
        )
        print("  A/B per arm  " + " ".join(f"{n:>6d}" for n in ab_grid))
        print("       power   " + " ".join(f"{p:>6.2f}" for p in ab_power))
        print("  interleaved  " + " ".join(f"{n:>6d}" for n in il_grid))
        print("       power   " + " ".join(f"{p:>6.2f}" for p in il_power))
        print()
    print(f"Visitors for {TARGET_POWER:.0%} power (A/B: both arms together)")
    print(f"  {'shoppers':<22}{'A/B test':>12}{'interleaving':>14}{'ratio':>9}")
    for population, ab_total, il_total in rows:
        print(f"  {population.name:<22}{ab_total:>12,.0f}{il_total:>14,.0f}{ab_total / il_total:>8.1f}x")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
