"""Write a whole demo store as products.csv and interactions.csv, deterministically and in bounded memory.

Only numpy and pandas here (no Django), so the generator runs and is tested on its own.
Randomness comes from one numpy Generator seeded with the seed; the catalogue,
customers and events each get their own child stream, so asking for more interactions
never changes the catalogue.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from shop.demo.behaviour import (
    EVENT_KINDS,
    BehaviourModel,
    DemoCustomers,
    ShopperSimulation,
    choose_trending_products,
    generate_customers,
)
from shop.demo.catalog import DemoCatalog, generate_catalog

DEFAULT_END_DATE = "2026-11-01T00:00:00Z"
INTERACTION_COLUMNS = ["user_id", "product_id", "interaction_type", "ts"]
ROWS_PER_WRITE = 500_000


@dataclass(frozen=True)
class DemoStoreOptions:
    """What to generate: sizes, the time window and the seed."""

    seed: int = 42
    products: int = 5_000
    customers: int = 2_000
    interactions: int = 150_000
    days: int = 90
    end_date: str = DEFAULT_END_DATE
    model: BehaviourModel = field(default_factory=BehaviourModel)

    @property
    def end_ts(self) -> int:
        return parse_end_date(self.end_date)

    def validate(self) -> None:
        if self.products < 1 or self.customers < 1 or self.interactions < 0:
            raise ValueError("Sizes must be positive (interactions may be 0).")
        if self.days < self.model.trending_days:
            raise ValueError(f"The window must span at least {self.model.trending_days} days.")


@dataclass
class DemoStore:
    """A generated store held in memory: catalogue, shoppers, trending products and events (time-ordered)."""

    options: DemoStoreOptions
    catalog: DemoCatalog
    customers: DemoCustomers
    trending: np.ndarray
    customer: np.ndarray  # per event, row in customers
    product: np.ndarray  # per event, row in catalog
    kind: np.ndarray  # per event, index into EVENT_KINDS
    ts: np.ndarray  # per event, unix seconds

    @cached_property
    def customer_ids(self) -> np.ndarray:
        return numbered_ids("U", len(self.customers))

    @cached_property
    def product_ids(self) -> np.ndarray:
        return self.catalog.products["product_id"].to_numpy().astype(str)

    def interactions_frame(self, rows=slice(None)) -> pd.DataFrame:
        """Return events (all, or a slice) as the interactions.csv columns."""
        customer_ids, product_ids = self.customer_ids, self.product_ids
        return pd.DataFrame(
            {
                "user_id": customer_ids[self.customer[rows]],
                "product_id": product_ids[self.product[rows]],
                "interaction_type": np.array(EVENT_KINDS)[self.kind[rows]],
                "ts": iso_timestamps(self.ts[rows]),
            },
            columns=INTERACTION_COLUMNS,
        )


@dataclass(frozen=True)
class DemoStoreSummary:
    products_path: Path
    interactions_path: Path
    products: int
    categories: int
    customers: int
    interactions: int
    by_kind: dict[str, int]
    first_ts: str
    last_ts: str
    trending_product_ids: list[str]
    seconds: float

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in self.by_kind.items())
        return [
            f"Products: {self.products:,} in {self.categories} categories -> {self.products_path}",
            f"Interactions: {self.interactions:,} by {self.customers:,} customers ({kinds}) -> {self.interactions_path}",
            f"Time window: {self.first_ts} .. {self.last_ts}",
            f"Trending products: {', '.join(self.trending_product_ids)}",
            f"Generated in {self.seconds:.1f} s",
        ]


def parse_end_date(value: str) -> int:
    """Return unix seconds for an ISO 8601 date or date-time (UTC unless it names an offset)."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp())


def numbered_ids(prefix: str, count: int) -> np.ndarray:
    """Return ids such as U00001 .. U02000, zero-padded to at least five digits."""
    width = max(5, len(str(count)))
    return np.strings.add(prefix, np.strings.zfill(np.arange(1, count + 1).astype(str), width))


def iso_timestamps(unix_seconds: np.ndarray) -> np.ndarray:
    """Return ISO 8601 UTC strings such as 2026-10-31T18:04:11Z."""
    return np.datetime_as_string(np.asarray(unix_seconds).astype("datetime64[s]"), unit="s", timezone="UTC")


def generate_demo_store(options: DemoStoreOptions, log: Callable[[str], None] = lambda message: None) -> DemoStore:
    """Return the whole store in memory (events as compact arrays, about 17 bytes each), ordered by time."""
    options.validate()
    root = np.random.default_rng(options.seed)
    catalog_rng, customer_rng, behaviour_rng = root.spawn(3)
    started = time.perf_counter()
    catalog = generate_catalog(options.products, catalog_rng)
    log(f"catalogue: {len(catalog):,} products ({time.perf_counter() - started:.1f} s)")
    customers = generate_customers(options.customers, catalog, customer_rng, options.model)
    trending = choose_trending_products(catalog, customer_rng, options.model)
    log(f"customers: {len(customers):,} ({time.perf_counter() - started:.1f} s)")

    simulation = ShopperSimulation(
        catalog, customers, trending, end_ts=options.end_ts, days=options.days, rng=behaviour_rng, model=options.model
    )
    n_events = options.interactions
    customer = np.empty(n_events, dtype=np.int32)
    product = np.empty(n_events, dtype=np.int32)
    kind = np.empty(n_events, dtype=np.int8)
    ts = np.empty(n_events, dtype=np.int64)
    filled, next_report = 0, 1_000_000
    for batch in simulation.batches(n_events):
        stop = filled + len(batch)
        customer[filled:stop] = batch.customer
        product[filled:stop] = batch.product
        kind[filled:stop] = batch.kind
        ts[filled:stop] = batch.ts
        filled = stop
        if filled >= next_report:
            log(f"interactions: {filled:,} of {n_events:,} ({time.perf_counter() - started:.1f} s)")
            next_report += 1_000_000
    order = np.argsort(ts, kind="stable")
    store = DemoStore(options, catalog, customers, trending, customer[order], product[order], kind[order], ts[order])
    log(f"interactions: {n_events:,} generated and ordered by time ({time.perf_counter() - started:.1f} s)")
    return store


def write_demo_store(
    out_dir: Path | str, options: DemoStoreOptions, log: Callable[[str], None] = lambda message: None
) -> DemoStoreSummary:
    """Generate the store and write DIR/products.csv and DIR/interactions.csv; return what was written."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    store = generate_demo_store(options, log)
    products_path = out_dir / "products.csv"
    interactions_path = out_dir / "interactions.csv"
    store.catalog.products.to_csv(products_path, index=False, float_format="%.2f", lineterminator="\n")
    with interactions_path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(INTERACTION_COLUMNS) + "\n")
        for first in range(0, len(store.ts), ROWS_PER_WRITE):
            rows = slice(first, first + ROWS_PER_WRITE)
            store.interactions_frame(rows).to_csv(handle, index=False, header=False, lineterminator="\n")
    log(f"written to {out_dir} ({time.perf_counter() - started:.1f} s)")
    return summarise(store, products_path, interactions_path, time.perf_counter() - started)


def summarise(store: DemoStore, products_path: Path, interactions_path: Path, seconds: float) -> DemoStoreSummary:
    counts = np.bincount(store.kind, minlength=len(EVENT_KINDS))
    empty = len(store.ts) == 0
    return DemoStoreSummary(
        products_path=products_path,
        interactions_path=interactions_path,
        products=len(store.catalog),
        categories=int(store.catalog.products["category"].nunique()),
        customers=int(np.count_nonzero(np.bincount(store.customer, minlength=len(store.customers)))),
        interactions=len(store.ts),
        by_kind={kind: int(count) for kind, count in zip(EVENT_KINDS, counts)},
        first_ts="-" if empty else str(iso_timestamps(store.ts[:1])[0]),
        last_ts="-" if empty else str(iso_timestamps(store.ts[-1:])[0]),
        trending_product_ids=[str(product_id) for product_id in store.product_ids[store.trending]],
        seconds=seconds,
    )
