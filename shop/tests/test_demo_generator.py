"""The demo store generator: deterministic, well-formed, and with the behaviour a recommender can learn."""

import re
from decimal import Decimal
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from shop.demo.behaviour import ADD_TO_CART, CLICK, EVENT_KINDS, PURCHASE, VIEW
from shop.demo.catalog_spec import CATEGORIES
from shop.demo.store import DemoStoreOptions, generate_demo_store, parse_end_date, write_demo_store
from shop.models import Category, Customer, Interaction, Product

SMALL = DemoStoreOptions(seed=3, products=600, customers=300, interactions=30_000)
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DAY = 86_400


@pytest.fixture(scope="module")
def store():
    return generate_demo_store(SMALL)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    directory = tmp_path_factory.mktemp("demo")
    write_demo_store(directory, SMALL)
    return directory


def test_same_seed_writes_identical_bytes(written, tmp_path):
    write_demo_store(tmp_path, SMALL)

    assert (tmp_path / "products.csv").read_bytes() == (written / "products.csv").read_bytes()
    assert (tmp_path / "interactions.csv").read_bytes() == (written / "interactions.csv").read_bytes()


def test_different_seed_writes_a_different_store(written, tmp_path):
    write_demo_store(tmp_path, DemoStoreOptions(**{**SMALL.__dict__, "seed": 4}))

    assert (tmp_path / "products.csv").read_bytes() != (written / "products.csv").read_bytes()
    assert (tmp_path / "interactions.csv").read_bytes() != (written / "interactions.csv").read_bytes()


def test_catalogue_does_not_depend_on_how_many_interactions_are_asked_for(store):
    fewer = generate_demo_store(DemoStoreOptions(**{**SMALL.__dict__, "interactions": 500}))

    pd.testing.assert_frame_equal(fewer.catalog.products, store.catalog.products)


def test_sizes_are_exactly_what_was_asked_for(written):
    products = pd.read_csv(written / "products.csv")
    interactions = pd.read_csv(written / "interactions.csv")

    assert len(products) == 600
    assert len(interactions) == 30_000
    assert interactions["user_id"].nunique() == 300
    assert products["category"].nunique() == len(CATEGORIES) == 22
    assert products["product_id"].tolist() == [f"P{number:05d}" for number in range(1, 601)]
    assert sorted(interactions["user_id"].unique()) == [f"U{number:05d}" for number in range(1, 301)]


def test_files_have_the_import_columns_and_formats(written):
    products = pd.read_csv(written / "products.csv", dtype=str, keep_default_na=False)
    interactions = pd.read_csv(written / "interactions.csv", dtype=str, keep_default_na=False)

    assert list(products.columns) == [
        "product_id", "title", "category", "description", "price", "img_url", "currency", "stock", "item_group_id",
    ]
    assert list(interactions.columns) == ["user_id", "product_id", "interaction_type", "ts"]
    assert products["price"].str.fullmatch(r"\d+\.\d{2}").all()
    assert (products["price"].astype(float) > 0).all()
    assert (products["img_url"] == "/images/products/" + products["product_id"] + ".svg").all()
    assert set(products["currency"]) == {"USD"}
    assert products["stock"].str.fullmatch(r"\d+").all()
    assert (products["title"].str.len() > 10).all() and products["title"].is_unique
    assert (products["description"].str.count(r"\. ") >= 2).all()
    assert set(interactions["interaction_type"]) == set(EVENT_KINDS)
    assert interactions["ts"].str.fullmatch(ISO_UTC.pattern).all()
    assert set(interactions["product_id"]) <= set(products["product_id"])


def test_events_lie_in_the_window_before_the_end_date_in_time_order(written):
    ts = pd.to_datetime(pd.read_csv(written / "interactions.csv")["ts"], utc=True)
    end = pd.Timestamp("2026-11-01T00:00:00Z")

    assert ts.is_monotonic_increasing
    assert ts.max() < end
    assert ts.min() >= end - pd.Timedelta(days=90)
    assert ts.min() < end - pd.Timedelta(days=85)


def test_end_date_and_days_options_move_the_window():
    moved = generate_demo_store(
        DemoStoreOptions(seed=3, products=100, customers=20, interactions=2_000, days=30, end_date="2025-01-01")
    )
    end = parse_end_date("2025-01-01T00:00:00Z")

    assert moved.ts.max() < end
    assert moved.ts.min() >= end - 30 * DAY


def test_a_catalogue_smaller_than_the_category_list_still_works():
    tiny = generate_demo_store(DemoStoreOptions(seed=3, products=5, customers=4, interactions=300))

    assert len(tiny.ts) == 300
    assert set(np.unique(tiny.product)) <= set(range(5))
    assert set(np.unique(tiny.customer)) == set(range(4))


def test_a_few_products_are_out_of_stock(store):
    stock = store.catalog.products["stock"]

    assert 0 < (stock == 0).sum() <= 0.05 * len(stock)


def test_every_event_follows_its_own_earlier_funnel_step(store):
    """No click without an earlier view, no add-to-cart without an earlier click, no purchase without a cart."""
    events = pd.DataFrame(
        {"customer": store.customer, "product": store.product, "kind": store.kind, "ts": store.ts}
    )
    # At equal times children sort before parents, so a parent counts only when strictly earlier.
    events = events.assign(minus_kind=-events["kind"]).sort_values(["customer", "product", "ts", "minus_kind"])
    pair = [events["customer"], events["product"]]
    for child in (CLICK, ADD_TO_CART, PURCHASE):
        parents_so_far = (events["kind"] == child - 1).astype(int).groupby(pair).cumsum()
        children_so_far = (events["kind"] == child).astype(int).groupby(pair).cumsum()
        at_child = events["kind"] == child

        assert at_child.any()
        assert (parents_so_far[at_child] >= children_so_far[at_child]).all(), EVENT_KINDS[child]


def test_most_sessions_only_view_and_a_few_percent_of_views_end_in_a_purchase(store):
    counts = np.bincount(store.kind, minlength=4)

    assert counts[VIEW] > 0.6 * counts.sum()
    assert counts[VIEW] > counts[CLICK] > counts[ADD_TO_CART] > counts[PURCHASE] > 0
    assert 0.02 <= counts[PURCHASE] / counts[VIEW] <= 0.045


def test_shoppers_stay_mostly_in_their_favourite_categories(store):
    favourite = store.customers.favourite_category[store.customer]
    in_favourites = (favourite == store.catalog.category[store.product][:, None]).any(axis=1)

    assert in_favourites.mean() > 0.8


def test_popularity_is_skewed_within_categories(store):
    views = np.bincount(store.product[store.kind == VIEW], minlength=len(store.catalog))
    top_tenth = np.sort(views)[::-1][: len(views) // 10].sum()

    # Uniform popularity would give the top tenth about 13 % of views.
    assert top_tenth > 0.25 * views.sum()


def test_complementary_products_are_bought_together_far_above_chance(store):
    """A camera's buyer buys its memory card much more often than a random buyer does."""
    purchases = store.kind == PURCHASE
    buyer, bought = store.customer[purchases], store.product[purchases]
    n_products = len(store.catalog)
    purchased_pairs = np.unique(buyer.astype(np.int64) * n_products + bought)
    partners = store.catalog.partners[bought]
    is_anchor = (partners >= 0).any(axis=1)

    def share_with_a_partner(customers):
        keys = customers[is_anchor, None].astype(np.int64) * n_products + partners[is_anchor]
        return (np.isin(keys, purchased_pairs) & (partners[is_anchor] >= 0)).any(axis=1).mean()

    same_buyer = share_with_a_partner(buyer)
    random_buyer = np.mean([share_with_a_partner(np.random.default_rng(seed).permutation(buyer)) for seed in range(5)])

    assert is_anchor.sum() > 100
    assert same_buyer > 0.2
    assert same_buyer > 5 * random_buyer


def test_trending_products_rise_in_the_last_two_weeks(store):
    end = SMALL.end_ts
    assert len(store.trending) == 3
    for product in store.trending:
        ts = store.ts[store.product == product]
        last_week = np.sum(ts >= end - 7 * DAY)
        week_before = np.sum((ts >= end - 14 * DAY) & (ts < end - 7 * DAY))
        daily_before_trend = np.sum(ts < end - 14 * DAY) / (SMALL.days - 14)

        assert last_week > week_before > 0
        assert last_week / 7 > 4 * daily_before_trend


def test_a_share_of_products_come_as_two_to_five_variants_of_one_product(store):
    products = store.catalog.products
    grouped = products[products["item_group_id"] != ""]
    sizes = grouped.groupby("item_group_id").size()

    assert 0.15 < len(grouped) / len(products) < 0.35
    assert sizes.between(2, 5).all()
    for _, variants in grouped.groupby("item_group_id"):
        assert variants["category"].nunique() == 1
        # One product in several sizes, colours or ages: the same brand, line and type before the attributes.
        assert variants["title"].str.split(", ").str[0].nunique() == 1
        assert variants["title"].is_unique


@pytest.mark.django_db
def test_loading_the_demo_store_stores_its_item_groups():
    options = {"seed": 3, "products": 60, "customers": 12, "interactions": 300}
    expected = generate_demo_store(DemoStoreOptions(**options)).catalog.products

    call_command("generate_demo_data", **options, stdout=StringIO(), stderr=StringIO())

    stored = dict(Product.objects.exclude(item_group_id="").values_list("product_id", "item_group_id"))
    assert stored and stored == dict(expected.loc[expected["item_group_id"] != "", ["product_id", "item_group_id"]].values)


def test_descriptions_share_vocabulary_within_a_category(store):
    """TF-IDF nearest neighbours mostly stay in the category: content similarity has something to find."""
    products = store.catalog.products
    text = products["title"] + " " + products["category"] + " " + products["description"]
    vectors = TfidfVectorizer(stop_words="english").fit_transform(text)
    similarity = cosine_similarity(vectors)
    np.fill_diagonal(similarity, -1)
    nearest = similarity.argmax(axis=1)

    assert (store.catalog.category[nearest] == store.catalog.category).mean() > 0.9


def test_generator_modules_do_not_import_django():
    demo = Path(__file__).resolve().parents[1] / "demo"
    for module in demo.glob("*.py"):
        assert not re.search(r"^\s*(from|import)\s+django", module.read_text(), re.MULTILINE), module.name


def test_command_writes_the_csv_files_and_prints_a_summary(tmp_path):
    output = StringIO()

    call_command(
        "generate_demo_data", out=str(tmp_path), seed=3, products=50, customers=10, interactions=700, stdout=output
    )

    assert len(pd.read_csv(tmp_path / "products.csv")) == 50
    assert len(pd.read_csv(tmp_path / "interactions.csv")) == 700
    assert "Products: 50 in 22 categories" in output.getvalue()
    assert "Interactions: 700 by 10 customers" in output.getvalue()


def test_command_rejects_a_bad_end_date(tmp_path):
    with pytest.raises(CommandError, match="--end-date"):
        call_command("generate_demo_data", out=str(tmp_path), end_date="next tuesday", stdout=StringIO())


@pytest.mark.django_db
def test_command_without_out_loads_the_store_through_the_importers_idempotently():
    pytest.importorskip("shop.importers", reason="the CSV importers have not landed yet")
    options = DemoStoreOptions(seed=3, products=60, customers=12, interactions=900)
    expected = generate_demo_store(options)
    sizes = {"seed": 3, "products": 60, "customers": 12, "interactions": 900}

    call_command("generate_demo_data", **sizes, stdout=StringIO(), stderr=StringIO())
    call_command("generate_demo_data", **sizes, stdout=StringIO(), stderr=StringIO())

    assert Product.objects.count() == 60
    assert Category.objects.count() == 22
    assert Customer.objects.count() == 12
    assert Interaction.objects.count() == 900
    stored_kinds = {kind: Interaction.objects.filter(kind=kind).count() for kind in EVENT_KINDS}
    assert stored_kinds == dict(zip(EVENT_KINDS, np.bincount(expected.kind, minlength=4).tolist()))
    first = expected.catalog.products.iloc[0]
    product = Product.objects.select_related("category").get(product_id="P00001")
    assert (product.title, product.category.name, product.description) == (
        first["title"], first["category"], first["description"],
    )
    assert product.price == Decimal(f"{first['price']:.2f}")
    assert (product.currency, product.stock, product.image_url) == ("USD", first["stock"], "/images/products/P00001.svg")


def test_committed_fixtures_are_what_the_documented_command_makes(tmp_path):
    """fixtures/README.md names the command; the committed files must be exactly its output."""
    readme = (FIXTURES / "README.md").read_text()
    command = re.search(r"manage\.py (generate_demo_data [^\n`]*)", readme).group(1).split()
    options = dict(zip(command[1::2], command[2::2]))
    assert options.pop("--out") == "fixtures"

    call_command(
        "generate_demo_data",
        out=str(tmp_path),
        **{name.lstrip("-").replace("-", "_"): int(value) for name, value in options.items()},
        stdout=StringIO(),
    )

    assert (tmp_path / "products.csv").read_bytes() == (FIXTURES / "products.csv").read_bytes()
    assert (tmp_path / "interactions.csv").read_bytes() == (FIXTURES / "interactions.csv").read_bytes()
