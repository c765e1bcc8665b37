"""The demo catalogue: products with believable titles, descriptions and prices, and their hidden traits.

Besides the public columns (what goes into products.csv) every product carries traits
the behaviour model uses: brand and colour (visible in the text), a taste segment
(invisible in the text, so only collaborative filtering can learn it), a Zipf-like
popularity within its category, and up to three complementary products.

About a quarter of the products are variants: 2-5 consecutive products of a category that
are one product in several sizes, colours or ages (same brand, line, type and features,
a different value of the type's last attribute), sharing an ``item_group_id``.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shop.demo.catalog_spec import ATTRIBUTE_VALUES, BRANDS, CATEGORIES, product_types, validate_catalog_spec
from shop.demo.sampling import WeightedGroups, largest_remainder_counts

PRODUCT_COLUMNS = ["product_id", "title", "category", "description", "price", "img_url", "currency", "stock", "item_group_id"]
TASTE_SEGMENTS = 8
PARTNERS_PER_PRODUCT = 3
POPULARITY_EXPONENT = 0.7
OUT_OF_STOCK_SHARE = 0.02
NEW_ARRIVAL_SHARE = 0.12  # products launched during the window: little history, so only text describes them
NEW_ARRIVAL_BOOST = 2.5  # new arrivals are promoted, so they are looked at more than their rank says
PRICE_SPREAD = 0.18  # sigma of the log-normal noise around a type's typical price
COLOUR_WEIGHTS = np.array([3.0, 2.0, 1.5, 1.0, 1.5, 1.0, 1.0, 1.0, 1.0, 1.0])
VARIANT_GROUP_START = 0.1  # chance that a product opens a group of variants (about a quarter end up in one)
VARIANTS_PER_GROUP = (2, 5)

COLOURS = [value for value, _ in ATTRIBUTE_VALUES["colour"]]
BRAND_NAMES = list(BRANDS)
TYPE_PAIRS = product_types()
TYPE_NAMES = [product_type.name for _, product_type in TYPE_PAIRS]


@dataclass(frozen=True)
class DemoCatalog:
    """Products as they go into products.csv, plus the traits that drive shopper behaviour (row-aligned)."""

    products: pd.DataFrame
    category: np.ndarray  # index into CATEGORIES
    group_leader: np.ndarray  # row of the group's first variant, -1 when the product has no variants
    product_type: np.ndarray  # index into TYPE_PAIRS
    brand: np.ndarray  # index into BRAND_NAMES
    colour: np.ndarray  # index into COLOURS, -1 when the product has no colour
    segment: np.ndarray  # hidden taste segment, 0..TASTE_SEGMENTS-1
    popularity: np.ndarray  # base weight of being looked at, within the category
    partners: np.ndarray  # (n, PARTNERS_PER_PRODUCT) complementary product rows, -1 padded
    launch: np.ndarray  # when the product went on sale, as a fraction of the time window (0: before it)

    def __len__(self) -> int:
        return len(self.products)


def product_id_width(n_products: int) -> int:
    return max(5, len(str(n_products)))


def generate_catalog(n_products: int, rng: np.random.Generator) -> DemoCatalog:
    """Return a catalogue of n_products drawn from the specification with rng."""
    validate_catalog_spec()
    if n_products < 1:
        raise ValueError("A catalogue needs at least one product.")
    category_weights = np.array([category.weight for category in CATEGORIES])
    per_category = largest_remainder_counts(n_products, category_weights, minimum=1)
    category = np.repeat(np.arange(len(CATEGORIES)), per_category)

    type_category = np.array([CATEGORIES.index(category_spec) for category_spec, _ in TYPE_PAIRS])
    type_weights = np.array([product_type.weight for _, product_type in TYPE_PAIRS])
    product_type = WeightedGroups(type_category, type_weights, len(CATEGORIES)).draw(category, rng.random(n_products))

    brand_keys, brand_options, brand_weights = [], [], []
    for index, category_spec in enumerate(CATEGORIES):
        for rank, brand_name in enumerate(category_spec.brands):
            brand_keys.append(index)
            brand_options.append(BRAND_NAMES.index(brand_name))
            brand_weights.append(1.0 / (rank + 1) ** 0.5)
    brand_pick = WeightedGroups(np.array(brand_keys), np.array(brand_weights), len(CATEGORIES)).draw(
        category, rng.random(n_products)
    )
    brand = np.array(brand_options)[brand_pick]

    max_slots = max(len(product_type_spec.attributes) for _, product_type_spec in TYPE_PAIRS)
    attribute_uniforms = rng.random((n_products, max_slots))
    colour_uniforms = rng.random(n_products)
    colour_cumulative = np.cumsum(COLOUR_WEIGHTS) / COLOUR_WEIGHTS.sum()
    drawn_colour = np.searchsorted(colour_cumulative, colour_uniforms, side="right")
    line_uniforms = rng.random(n_products)
    model_numbers = rng.integers(2, 99, n_products)
    feature_uniforms = rng.random((n_products, 3))
    price_noise = rng.lognormal(0.0, PRICE_SPREAD, n_products)
    segment = rng.integers(0, TASTE_SEGMENTS, n_products)
    stock = np.where(rng.random(n_products) < OUT_OF_STOCK_SHARE, 0, rng.integers(3, 400, n_products))

    # Zipf-like popularity within each category, over a random order of its products.
    popularity = np.empty(n_products)
    rank_noise = rng.random(n_products)
    start = 0
    for count in per_category:
        ranks = np.argsort(np.argsort(rank_noise[start : start + count], kind="stable"), kind="stable")
        popularity[start : start + count] = 1.0 / (ranks + 1.0) ** POPULARITY_EXPONENT
        start += count

    # Drawn from a jumped copy of the generator, so the draws above and below stay what they were.
    group_leader, variant = draw_variant_groups(category, product_type, np.random.Generator(rng.bit_generator.jumped()))
    followers = np.flatnonzero(group_leader >= 0)
    leaders = group_leader[followers]
    for traits in (product_type, brand, line_uniforms, model_numbers, feature_uniforms, price_noise, segment):
        traits[followers] = traits[leaders]
    attribute_uniforms[followers] = attribute_uniforms[leaders]
    drawn_colour[followers] = drawn_colour[leaders]
    for row, leader, offset in zip(followers, leaders, variant[followers]):
        slots = TYPE_PAIRS[product_type[leader]][1].attributes
        options = len(ATTRIBUTE_VALUES[slots[-1]])
        if slots[-1] == "colour":
            drawn_colour[row] = (drawn_colour[leader] + offset) % options
        else:
            choice = (int(attribute_uniforms[leader, len(slots) - 1] * options) + offset) % options
            attribute_uniforms[row, len(slots) - 1] = (choice + 0.5) / options

    new_arrival = rng.random(n_products) < NEW_ARRIVAL_SHARE
    launch = np.where(new_arrival, rng.uniform(0.3, 0.97, n_products), 0.0)
    popularity = np.where(new_arrival, popularity * NEW_ARRIVAL_BOOST, popularity)

    width = product_id_width(n_products)
    product_ids = [f"P{number:0{width}d}" for number in range(1, n_products + 1)]
    titles, descriptions, prices, colour = [], [], np.empty(n_products), np.full(n_products, -1)
    for row in range(n_products):
        category_spec, type_spec = TYPE_PAIRS[product_type[row]]
        brand_name = BRAND_NAMES[brand[row]]
        tier, brand_sentence = BRANDS[brand_name]
        values, multiplier = [], tier
        for slot_index, slot in enumerate(type_spec.attributes):
            options = ATTRIBUTE_VALUES[slot]
            if slot == "colour":
                choice = int(drawn_colour[row])
                colour[row] = choice
            else:
                choice = int(attribute_uniforms[row, slot_index] * len(options))
            value, value_multiplier = options[choice]
            values.append(value)
            multiplier *= value_multiplier
        line = category_spec.lines[int(line_uniforms[row] * len(category_spec.lines))]
        if category_spec.model_numbers:
            name = f"{brand_name} {line} {model_numbers[row]} {type_spec.name}"
        else:
            name = f"{brand_name} {line} {type_spec.name}"
        titles.append(", ".join([name, *values]))
        features = pick_distinct(type_spec.features, feature_uniforms[row])
        use_sentence = category_spec.uses[int(feature_uniforms[row, 2] * len(category_spec.uses))]
        descriptions.append(
            describe(
                name, brand_name, type_spec.name, features, values, use_sentence, brand_sentence,
                template=int(feature_uniforms[row, 2] * 97),
            )
        )
        prices[row] = charm_price(type_spec.price * multiplier * price_noise[row])

    titles = distinguish_duplicate_titles(titles, [BRAND_NAMES[index] for index in brand])
    products = pd.DataFrame(
        {
            "product_id": product_ids,
            "title": titles,
            "category": [CATEGORIES[index].name for index in category],
            "description": descriptions,
            "price": prices,
            "img_url": [f"/images/products/{product_id}.svg" for product_id in product_ids],
            "currency": "USD",
            "stock": stock,
            "item_group_id": [f"G{leader + 1:0{width}d}" if leader >= 0 else "" for leader in group_leader],
        },
        columns=PRODUCT_COLUMNS,
    )
    partners = draw_partners(product_type, popularity, rng)
    return DemoCatalog(
        products=products,
        category=category,
        group_leader=group_leader,
        product_type=product_type,
        brand=brand,
        colour=colour,
        segment=segment,
        popularity=popularity,
        partners=partners,
        launch=launch,
    )


def draw_variant_groups(category: np.ndarray, product_type: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return, per product, the row of its group's first variant (-1: no variants) and its place in the group.

    A group is 2-5 consecutive products of one category, of a type with attributes, and no
    larger than the number of values of the type's last attribute, so every variant differs.
    """
    n_products = len(category)
    group_leader = np.full(n_products, -1, dtype=np.int64)
    variant = np.zeros(n_products, dtype=np.int64)
    starts = rng.random(n_products) < VARIANT_GROUP_START
    sizes = rng.integers(VARIANTS_PER_GROUP[0], VARIANTS_PER_GROUP[1] + 1, n_products)
    row = 0
    while row < n_products:
        slots = TYPE_PAIRS[product_type[row]][1].attributes
        if not starts[row] or not slots:
            row += 1
            continue
        same_category = np.flatnonzero(category[row : row + sizes[row]] != category[row])
        size = min(sizes[row], same_category[0] if same_category.size else sizes[row], len(ATTRIBUTE_VALUES[slots[-1]]))
        size = min(size, n_products - row)
        if size >= 2:
            group_leader[row : row + size] = row
            variant[row : row + size] = np.arange(size)
        row += max(size, 1)
    return group_leader, variant


def draw_partners(product_type: np.ndarray, popularity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return, per product, up to three complementary products of its partner types (-1 padded).

    Partners are drawn at random among the partner types' products (weighted by a
    flattened popularity), not matched by brand or words, so the pairing is a signal
    that only co-purchases reveal.
    """
    n_products = len(product_type)
    partners = np.full((n_products, PARTNERS_PER_PRODUCT), -1, dtype=np.int64)
    by_type = WeightedGroups(product_type, np.sqrt(popularity), len(TYPE_PAIRS))
    for type_index, (_, type_spec) in enumerate(TYPE_PAIRS):
        partner_types = [TYPE_NAMES.index(name) for name in type_spec.partners]
        partner_types = [index for index in partner_types if by_type.size[index] > 0]
        anchors = np.flatnonzero(product_type == type_index)
        if not partner_types or len(anchors) == 0:
            continue
        offsets = rng.integers(0, len(partner_types), len(anchors))
        uniforms = rng.random((len(anchors), PARTNERS_PER_PRODUCT))
        for slot in range(PARTNERS_PER_PRODUCT):
            chosen_types = np.array(partner_types)[(offsets + slot) % len(partner_types)]
            picked = by_type.draw(chosen_types, uniforms[:, slot])
            repeated = (partners[anchors, :slot] == picked[:, None]).any(axis=1)
            partners[anchors, slot] = np.where(repeated, -1, picked)
    return partners


def pick_distinct(options: tuple[str, ...], uniforms: np.ndarray) -> tuple[str, str]:
    """Return two different options chosen by two uniform numbers."""
    first = int(uniforms[0] * len(options))
    second = (first + 1 + int(uniforms[1] * (len(options) - 1))) % len(options)
    return options[first], options[second]


def describe(name, brand_name, type_name, features, values, use_sentence, brand_sentence, template) -> str:
    """Return a short product description: selling points, specs, use and the brand's voice."""
    first_feature, second_feature = features
    kind = lower_type_name(type_name)
    openings = (
        f"The {name} comes with {first_feature} and {second_feature}.",
        f"This {kind} from {brand_name} pairs {first_feature} with {second_feature}.",
        f"Designed around {first_feature}, this {kind} also offers {second_feature}.",
    )
    if is_plural(type_name):
        openings = (
            f"The {name} come with {first_feature} and {second_feature}.",
            f"These {kind} from {brand_name} pair {first_feature} with {second_feature}.",
            f"Designed around {first_feature}, these {kind} also offer {second_feature}.",
        )
    sentences = [openings[template % len(openings)]]
    if values:
        sentences.append(f"Specs: {', '.join(values)}.")
    sentences += [use_sentence, brand_sentence]
    return " ".join(sentences)


def is_plural(type_name: str) -> bool:
    """Tell whether a type name is plural ("Hiking Boots", "Jeans"), for the verbs around it."""
    last = type_name.split()[-1]
    return last.endswith("s") and not last.endswith("ss")


def distinguish_duplicate_titles(titles: list[str], brand_names: list[str]) -> list[str]:
    """Append a model code to every repeat of a title, so that no two products share one."""
    counts: dict[str, int] = {}
    result = []
    for row, (title, brand_name) in enumerate(zip(titles, brand_names)):
        counts[title] = counts.get(title, 0) + 1
        if counts[title] > 1:
            initials = "".join(word[0] for word in brand_name.replace("&", "").split()).upper()
            title = f"{title}, Model {initials}-{100 + row}"
        result.append(title)
    return result


def lower_type_name(type_name: str) -> str:
    """Lower-case a type name for use inside a sentence, keeping acronyms such as TV, USB-C or DSLR."""
    words = []
    for word in type_name.split():
        keep = word.isupper() or any(char.isdigit() for char in word) or word[1:] != word[1:].lower()
        words.append(word if keep and not word.istitle() else word.lower())
    return " ".join(words)


def charm_price(price: float) -> float:
    """Round a price the way shops do: 1189.99, 44.99, 12.49."""
    if price >= 100:
        return round(max(round(price / 10.0) * 10.0 - 0.01, 0.99), 2)
    if price >= 20:
        return round(max(round(price) - 0.01, 0.99), 2)
    return round(max(round(price * 2.0) / 2.0 - 0.01, 0.99), 2)
