"""Synthetic shoppers and what they do: sessions of views, clicks, add-to-carts and purchases.

The model is built so that recommenders have something real to learn, each from its
own angle:

- every shopper has a few favourite categories, a favourite brand in each, a favourite
  colour (all visible in product text, so content similarity can follow them) and a
  hidden taste segment (invisible in text, so only collaborative filtering can);
- products bought after another (camera -> memory card) are specific pairings that
  only co-purchases reveal;
- popularity is Zipf-like within a category, and a few products trend up at the end.

Every event is derived from its parent (a click from its view, an add-to-cart from its
click, a purchase from its add-to-cart) and happens strictly later, so the funnel is
ordered per shopper and product by construction.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from shop.demo.catalog import BRAND_NAMES, COLOUR_WEIGHTS, COLOURS, TASTE_SEGMENTS, TYPE_PAIRS, DemoCatalog
from shop.demo.catalog_spec import CATEGORIES
from shop.demo.sampling import WeightedGroups

EVENT_KINDS = ("view", "click", "add_to_cart", "purchase")
VIEW, CLICK, ADD_TO_CART, PURCHASE = range(len(EVENT_KINDS))
DAY = 86_400

# Shopping by hour of day (UTC) and by weekday (Monday first).
HOURLY_TRAFFIC = np.array(
    [2, 1.2, 0.8, 0.6, 0.6, 0.8, 1.5, 2.5, 3.5, 4, 4.5, 5, 5.5, 5, 4.5, 4.5, 5, 5.5, 6.5, 7.5, 8, 7, 5, 3.2]
)
WEEKDAY_TRAFFIC = np.array([0.95, 0.92, 0.95, 1.0, 1.05, 1.18, 1.12])


@dataclass(frozen=True)
class BehaviourModel:
    """The knobs of shopper behaviour. The defaults give realistic funnels and a learnable signal."""

    favourite_categories: int = 3
    exploration: float = 0.08  # share of sessions outside the shopper's favourite categories
    mean_views_per_session: float = 4.0
    max_views_per_session: int = 40
    # How the next product in a session is found: same type as the session's focus, the
    # shopper's favourite brand, their hidden segment, their colour, or anything in the category.
    lens_shares: tuple[float, ...] = (0.2, 0.12, 0.18, 0.2, 0.15, 0.15)
    click_rate: float = 0.2
    cart_rate: float = 0.18
    purchase_rate: float = 0.36
    late_purchase_share: float = 0.2  # purchases that happen on a later visit, hours or days after the cart
    # A product matching the shopper's brand, segment or colour is more likely clicked and carted.
    brand_affinity: float = 0.5
    segment_affinity: float = 0.6
    colour_affinity: float = 0.25
    co_view_rate: float = 0.12  # a view of a product with partners leads to a view of a partner
    follow_up_rate: float = 0.6  # a purchase of a product with partners leads to a partner's funnel
    follow_up_funnel: tuple[float, float, float] = (0.85, 0.65, 0.75)
    follow_up_together_share: float = 0.5  # bought in the same visit rather than days later
    partner_preference: tuple[float, float, float] = (0.55, 0.3, 0.15)
    trending_products_per_1000: float = 2.0
    trending_max: int = 40
    trending_days: int = 14
    trending_share: float = 0.03  # share of sessions that start at a trending product
    sessions_per_chunk: int = 20_000


@dataclass(frozen=True)
class DemoCustomers:
    """Shoppers' hidden tastes, one row per customer (U00001 is row 0)."""

    activity: np.ndarray  # relative number of visits
    favourite_category: np.ndarray  # (n, favourite_categories) category indices
    category_share: np.ndarray  # (n, favourite_categories) how often each favourite is visited
    favourite_brand: np.ndarray  # (n, favourite_categories) a brand per favourite category
    colour: np.ndarray  # favourite colour index
    segment: np.ndarray  # hidden taste segment

    def __len__(self) -> int:
        return len(self.activity)


@dataclass
class EventBatch:
    """Events as parallel arrays, kinds as indices into EVENT_KINDS and times as unix seconds."""

    session: np.ndarray
    customer: np.ndarray
    product: np.ndarray
    kind: np.ndarray
    ts: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)

    def take(self, index) -> "EventBatch":
        return EventBatch(*(array[index] for array in self.arrays()))

    def arrays(self):
        return self.session, self.customer, self.product, self.kind, self.ts

    @staticmethod
    def concatenate(batches: list["EventBatch"]) -> "EventBatch":
        return EventBatch(*(np.concatenate(parts) for parts in zip(*(batch.arrays() for batch in batches))))


def generate_customers(
    n_customers: int, catalog: DemoCatalog, rng: np.random.Generator, model: BehaviourModel = BehaviourModel()
) -> DemoCustomers:
    """Return n_customers shoppers with category, brand, colour and segment tastes."""
    if n_customers < 1:
        raise ValueError("A store needs at least one customer.")
    n_categories = len(CATEGORIES)
    category_weights = stocked_category_weights(catalog)
    favourites = min(model.favourite_categories, int(np.count_nonzero(category_weights)))
    favourite_category = np.empty((n_customers, favourites), dtype=np.int64)
    block = 100_000
    for start in range(0, n_customers, block):
        stop = min(start + block, n_customers)
        # Exponential race: the `favourites` smallest of Exp(1)/weight are a weighted draw without replacement.
        with np.errstate(divide="ignore"):  # an empty category races at infinity: never a favourite
            race = rng.exponential(size=(stop - start, n_categories)) / category_weights
        favourite_category[start:stop] = np.argsort(race, axis=1)[:, :favourites]
    share = rng.gamma(1.0, size=(n_customers, favourites))
    share /= share.sum(axis=1, keepdims=True)
    # A favourite brand per favourite category: the brand of a product drawn by popularity,
    # so the brand always exists in that category.
    by_category = WeightedGroups(catalog.category, catalog.popularity, n_categories)
    picked = by_category.draw(favourite_category.ravel(), rng.random(favourite_category.size))
    favourite_brand = np.where(picked >= 0, catalog.brand[np.maximum(picked, 0)], -1).reshape(favourite_category.shape)
    colour_cumulative = np.cumsum(COLOUR_WEIGHTS) / COLOUR_WEIGHTS.sum()
    colour = np.searchsorted(colour_cumulative, rng.random(n_customers), side="right")
    segment = rng.integers(0, TASTE_SEGMENTS, n_customers)
    activity = rng.lognormal(0.0, 1.0, n_customers)
    return DemoCustomers(activity, favourite_category, share, favourite_brand, colour, segment)


def stocked_category_weights(catalog: DemoCatalog) -> np.ndarray:
    """Return each category's share of attention, zero for a category without products (tiny catalogues)."""
    weights = np.array([category.weight for category in CATEGORIES])
    return np.where(np.bincount(catalog.category, minlength=len(CATEGORIES)) > 0, weights, 0.0)


def choose_trending_products(catalog: DemoCatalog, rng: np.random.Generator, model: BehaviourModel) -> np.ndarray:
    """Return a few mid-popularity products that will rise during the last trending_days."""
    n_products = len(catalog)
    wanted = int(np.clip(round(n_products * model.trending_products_per_1000 / 1000), 3, model.trending_max))
    wanted = min(wanted, n_products)
    top_in_category = np.zeros(len(CATEGORIES))
    np.maximum.at(top_in_category, catalog.category, catalog.popularity)
    relative = catalog.popularity / top_in_category[catalog.category]
    candidates = np.flatnonzero((relative < 0.5) & (relative > 0.05) & (catalog.launch == 0))
    if len(candidates) < wanted:
        candidates = np.arange(n_products)
    return np.sort(rng.choice(candidates, size=wanted, replace=False))


class BrowsingPools:
    """Products grouped the ways a shopper finds them, each way a "lens" over the session's category.

    Lenses: 0 the session's product type; 1 the shopper's brand; 2 their hidden segment;
    3 their brand in their colour; 4 the session's type in their brand; 5 anything in the
    category. Narrow lenses fall back to wider ones when nothing matches.
    """

    LENSES = 6

    def __init__(self, catalog: DemoCatalog, weights: np.ndarray):
        n_categories, n_brands, n_colours = len(CATEGORIES), len(BRAND_NAMES), len(COLOURS)
        self.by_category = WeightedGroups(catalog.category, weights, n_categories)
        self.by_type = WeightedGroups(catalog.product_type, weights, len(TYPE_PAIRS))
        self.by_brand = WeightedGroups(catalog.category * n_brands + catalog.brand, weights, n_categories * n_brands)
        self.by_segment = WeightedGroups(
            catalog.category * TASTE_SEGMENTS + catalog.segment, weights, n_categories * TASTE_SEGMENTS
        )
        brand_colour = (catalog.category * n_brands + catalog.brand) * n_colours + catalog.colour
        self.by_brand_colour = WeightedGroups(
            np.where(catalog.colour >= 0, brand_colour, -1), weights, n_categories * n_brands * n_colours
        )
        self.by_type_brand = WeightedGroups(catalog.product_type * n_brands + catalog.brand, weights,
                                            len(TYPE_PAIRS) * n_brands)

    def draw(self, lens, uniforms, *, category, focus_type, brand, segment, colour) -> np.ndarray:
        """Return one product per draw through its lens, by popularity; -1 only for an empty category."""
        n_brands, n_colours = len(BRAND_NAMES), len(COLOURS)
        known_brand = brand >= 0
        category_brand = np.where(known_brand, category * n_brands + brand, -1)
        chains = (
            ((self.by_type, focus_type),),
            ((self.by_brand, category_brand),),
            ((self.by_segment, category * TASTE_SEGMENTS + segment),),
            ((self.by_brand_colour, np.where(known_brand, category_brand * n_colours + colour, -1)),
             (self.by_brand, category_brand)),
            ((self.by_type_brand, np.where(known_brand, focus_type * n_brands + brand, -1)),
             (self.by_type, focus_type)),
        )
        product = np.full(len(lens), -1)
        for index, chain in enumerate(chains):
            chosen = np.flatnonzero(lens == index)
            for pool, keys in chain:
                product[chosen] = pool.draw(keys[chosen], uniforms[chosen])
                chosen = chosen[product[chosen] < 0]
        missing = product < 0
        product[missing] = self.by_category.draw(category[missing], uniforms[missing])
        return product


class ShopperSimulation:
    """Generate the event stream of a store, session by session, in bounded chunks."""

    def __init__(
        self,
        catalog: DemoCatalog,
        customers: DemoCustomers,
        trending: np.ndarray,
        *,
        end_ts: int,
        days: int,
        rng: np.random.Generator,
        model: BehaviourModel = BehaviourModel(),
    ):
        self.catalog = catalog
        self.customers = customers
        self.trending = trending
        self.end_ts = int(end_ts)
        self.days = int(days)
        self.rng = rng
        self.model = model
        self.launch_ts = self.end_ts - self.days * DAY + (catalog.launch * self.days * DAY).astype(np.int64)
        self.pools = BrowsingPools(catalog, catalog.popularity)
        # Before a new arrival goes on sale, shoppers find what was already there.
        self.established_pools = BrowsingPools(catalog, np.where(catalog.launch > 0, 0.0, catalog.popularity))
        self.by_category = self.pools.by_category
        self.category_cumulative = np.cumsum(stocked_category_weights(catalog))
        self.category_cumulative /= self.category_cumulative[-1]
        self.activity_cumulative = np.cumsum(customers.activity)
        self.activity_cumulative /= self.activity_cumulative[-1]
        self.first_visit_order = rng.permutation(len(customers))
        self.day_cumulative = self.day_weights().cumsum()
        self.hour_cumulative = np.cumsum(HOURLY_TRAFFIC) / HOURLY_TRAFFIC.sum()

    def day_weights(self) -> np.ndarray:
        first_day = self.end_ts - self.days * DAY
        weekdays = ((np.arange(self.days) * DAY + first_day) // DAY + 3) % 7  # 1970-01-01 was a Thursday
        weights = WEEKDAY_TRAFFIC[weekdays]
        return weights / weights.sum()

    def batches(self, n_interactions: int) -> Iterator[EventBatch]:
        """Yield event batches, each ordered by session and time, totalling exactly n_interactions.

        A batch is cut only at its end; since every event comes after its parent within its
        session, the cut never leaves an add-to-cart without its click or a purchase
        without its add-to-cart.
        """
        produced, first_session = 0, 0
        while produced < n_interactions:
            batch = self.session_batch(first_session, self.model.sessions_per_chunk)
            first_session += self.model.sessions_per_chunk
            if produced + len(batch) > n_interactions:
                batch = batch.take(slice(0, n_interactions - produced))
            produced += len(batch)
            yield batch

    def session_batch(self, first_session: int, n_sessions: int) -> EventBatch:
        """Return the events of sessions first_session .. first_session + n_sessions - 1."""
        rng, model, catalog, customers = self.rng, self.model, self.catalog, self.customers
        session = np.arange(first_session, first_session + n_sessions)
        # Every shopper visits at least once; after that, visits follow activity.
        customer = np.searchsorted(self.activity_cumulative, rng.random(n_sessions), side="right")
        first_visits = session < len(customers)
        customer[first_visits] = self.first_visit_order[session[first_visits]]
        customer = np.minimum(customer, len(customers) - 1)

        start = self.session_starts(n_sessions)
        slot = (rng.random(n_sessions)[:, None] > customers.category_share[customer].cumsum(axis=1)).sum(axis=1)
        slot = np.minimum(slot, customers.favourite_category.shape[1] - 1)
        category = customers.favourite_category[customer, slot]
        brand = customers.favourite_brand[customer, slot]
        exploring = rng.random(n_sessions) < model.exploration
        category[exploring] = np.searchsorted(self.category_cumulative, rng.random(exploring.sum()), side="right")
        brand[exploring] = -1
        focus_type = catalog.product_type[self.by_category.draw(category, rng.random(n_sessions))]

        trending_session = np.zeros(n_sessions, dtype=bool)
        trending_product = np.full(n_sessions, -1)
        if len(self.trending) and model.trending_share > 0:
            trending_session = rng.random(n_sessions) < model.trending_share
            count = int(trending_session.sum())
            trending_product[trending_session] = self.trending[rng.integers(0, len(self.trending), count)]
            window = model.trending_days * DAY
            # Density rising linearly towards the end date.
            start[trending_session] = self.end_ts - (window * (1.0 - np.sqrt(rng.random(count)))).astype(np.int64) - 1
            category[trending_session] = catalog.category[trending_product[trending_session]]
            focus_type[trending_session] = catalog.product_type[trending_product[trending_session]]
            brand[trending_session] = self.favourite_brand_in(customer[trending_session], category[trending_session])

        views_per_session = np.minimum(rng.geometric(1.0 / model.mean_views_per_session, n_sessions),
                                       model.max_views_per_session)
        view_session = np.repeat(np.arange(n_sessions), views_per_session)
        session_offsets = np.cumsum(views_per_session) - views_per_session
        position = np.arange(len(view_session)) - session_offsets[view_session]
        gaps = 5 + rng.exponential(70.0, len(view_session)).astype(np.int64)
        elapsed = np.cumsum(gaps)
        elapsed -= elapsed[session_offsets][view_session]
        view_ts = start[view_session] + elapsed
        view_customer = customer[view_session]
        product = self.browse(
            category[view_session], focus_type[view_session], brand[view_session], view_customer, view_ts
        )
        opens_with_trend = trending_session[view_session] & (position == 0)
        product[opens_with_trend] = trending_product[view_session[opens_with_trend]]

        co_session, co_customer, co_product, co_ts = self.co_views(view_session, view_customer, product, view_ts)
        view_session = np.concatenate([view_session, co_session])
        view_customer = np.concatenate([view_customer, co_customer])
        product = np.concatenate([product, co_product])
        view_ts = np.concatenate([view_ts, co_ts])

        parts = [EventBatch(view_session, view_customer, product, np.full(len(product), VIEW, np.int8), view_ts)]
        affinity = self.affinity(view_customer, product)
        funnel = self.funnel(
            parts[0],
            click=np.minimum(model.click_rate * affinity, 0.95),
            cart=np.minimum(model.cart_rate * affinity, 0.9),
            purchase=np.full(len(product), model.purchase_rate),
        )
        parts += funnel
        parts += self.follow_ups(funnel[-1])
        events = EventBatch.concatenate(parts)
        events.session += first_session
        events = events.take(events.ts < self.end_ts)
        order = np.lexsort((events.kind, events.ts, events.session))
        return events.take(order)

    def session_starts(self, n_sessions: int) -> np.ndarray:
        rng = self.rng
        day = np.searchsorted(self.day_cumulative, rng.random(n_sessions) * self.day_cumulative[-1], side="right")
        day = np.minimum(day, self.days - 1)
        hour = np.minimum(np.searchsorted(self.hour_cumulative, rng.random(n_sessions), side="right"), 23)
        seconds = (rng.random(n_sessions) * 3600).astype(np.int64)
        return self.end_ts - self.days * DAY + day * DAY + hour * 3600 + seconds

    def favourite_brand_in(self, customer: np.ndarray, category: np.ndarray) -> np.ndarray:
        """Return each shopper's favourite brand in the given category, -1 when it is not a favourite."""
        matches = self.customers.favourite_category[customer] == category[:, None]
        brands = np.where(matches, self.customers.favourite_brand[customer], -1)
        return brands.max(axis=1)

    def browse(self, category, focus_type, brand, customer, view_ts) -> np.ndarray:
        """Return the product each view lands on, found through one of the lenses, by popularity."""
        rng, customers = self.rng, self.customers
        n_views = len(category)
        lens = np.searchsorted(np.cumsum(self.model.lens_shares), rng.random(n_views) * sum(self.model.lens_shares))
        uniforms = rng.random(n_views)
        tastes = {"segment": customers.segment[customer], "colour": customers.colour[customer]}
        product = self.pools.draw(lens, uniforms, category=category, focus_type=focus_type, brand=brand, **tastes)
        early = self.launch_ts[product] > view_ts
        if early.any():
            # A category made only of new arrivals has nothing established: keep the draw then.
            established = self.established_pools.draw(
                lens[early], uniforms[early], category=category[early], focus_type=focus_type[early],
                brand=brand[early], segment=tastes["segment"][early], colour=tastes["colour"][early],
            )
            product[early] = np.where(established >= 0, established, product[early])
        return product

    def affinity(self, customer: np.ndarray, product: np.ndarray) -> np.ndarray:
        """Return how much more likely than usual each shopper is to click and cart each product."""
        catalog, customers, model = self.catalog, self.customers, self.model
        brand_match = self.favourite_brand_in(customer, catalog.category[product]) == catalog.brand[product]
        segment_match = customers.segment[customer] == catalog.segment[product]
        colour_match = customers.colour[customer] == catalog.colour[product]
        return (
            1.0
            + model.brand_affinity * brand_match
            + model.segment_affinity * segment_match
            + model.colour_affinity * colour_match
        )

    def co_views(self, view_session, view_customer, product, view_ts):
        """Return extra views of a partner product right after some views of a product that has partners."""
        rng = self.rng
        partner = self.pick_partner(product, rng.random(len(product)))
        chosen = np.flatnonzero((partner >= 0) & (rng.random(len(product)) < self.model.co_view_rate))
        ts = view_ts[chosen] + 10 + rng.exponential(60.0, len(chosen)).astype(np.int64)
        on_sale = self.launch_ts[partner[chosen]] <= ts
        chosen, ts = chosen[on_sale], ts[on_sale]
        return view_session[chosen], view_customer[chosen], partner[chosen], ts

    def pick_partner(self, product: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
        """Return one partner per product (the first partner more often), -1 for products without partners."""
        partners = self.catalog.partners[product]
        cumulative = np.cumsum(self.model.partner_preference)
        slot = np.minimum(np.searchsorted(cumulative / cumulative[-1], uniforms, side="right"), partners.shape[1] - 1)
        partner = partners[np.arange(len(product)), slot]
        return np.where(partner >= 0, partner, partners[:, 0])

    def funnel(self, views: EventBatch, *, click, cart, purchase) -> list[EventBatch]:
        """Return the clicks, add-to-carts and purchases that follow the given views, each after its parent."""
        rng, model = self.rng, self.model
        clicked = rng.random(len(views)) < click
        clicks = views.take(clicked)
        clicks.kind = np.full(len(clicks), CLICK, np.int8)
        clicks.ts = clicks.ts + 2 + rng.exponential(15.0, len(clicks)).astype(np.int64)
        carted = rng.random(len(clicks)) < cart[clicked]
        carts = clicks.take(carted)
        carts.kind = np.full(len(carts), ADD_TO_CART, np.int8)
        carts.ts = carts.ts + 5 + rng.exponential(90.0, len(carts)).astype(np.int64)
        bought = rng.random(len(carts)) < purchase[clicked][carted]
        purchases = carts.take(bought)
        purchases.kind = np.full(len(purchases), PURCHASE, np.int8)
        late = rng.random(len(purchases)) < model.late_purchase_share
        delay = np.where(
            late,
            rng.integers(3600, 3 * DAY, len(purchases)),
            30 + rng.exponential(400.0, len(purchases)).astype(np.int64),
        )
        purchases.ts = purchases.ts + delay
        return [clicks, carts, purchases]

    def follow_ups(self, purchases: EventBatch) -> list[EventBatch]:
        """Return the funnels of partner products that some purchases lead to (the camera's memory card)."""
        rng, model = self.rng, self.model
        partner = self.pick_partner(purchases.product, rng.random(len(purchases)))
        chosen = (partner >= 0) & (rng.random(len(purchases)) < model.follow_up_rate)
        views = purchases.take(chosen)
        views.product = partner[chosen]
        views.kind = np.full(len(views), VIEW, np.int8)
        together = rng.random(len(views)) < model.follow_up_together_share
        delay = np.where(
            together,
            20 + rng.exponential(120.0, len(views)).astype(np.int64),
            rng.integers(DAY // 4, 10 * DAY, len(views)),
        )
        views.ts = views.ts + delay
        views = views.take(self.launch_ts[views.product] <= views.ts)
        click_rate, cart_rate, purchase_rate = model.follow_up_funnel
        size = len(views)
        funnel = self.funnel(
            views, click=np.full(size, click_rate), cart=np.full(size, cart_rate), purchase=np.full(size, purchase_rate)
        )
        return [views, *funnel]
