"""Reading the store for training: PostgreSQL's binary COPY gives exactly what the simple cursor read gives."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from django.conf import settings

from recommendations.store_reading import (
    _table_pages,
    interaction_arrays_simple,
    interactions_frame,
    products_frame,
    store_read,
    store_read_postgresql,
)
from recommendations.store_training import train_from_database
from shop.models import Interaction
from shop.tests.factories import CategoryFactory, CustomerFactory, ProductFactory

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="the COPY read is PostgreSQL's (DATABASE_URL)",
    ),
]

KINDS = ["view", "click", "add_to_cart", "purchase"]
START = datetime(2026, 3, 1, 12, 0, 0, 123457, tzinfo=UTC)  # microseconds, to check the seconds to the last bit


@pytest.fixture
def store_rows():
    """Nine products, 30 customers and 900 events spread over a dozen table pages, some pages emptied."""
    categories = [CategoryFactory(name="Cameras", slug="cameras"), CategoryFactory(name="Books", slug="books")]
    products = [
        ProductFactory(product_id=f"P{i}", title=f"Product {i}", category=categories[i % 2], is_active=i != 4, stock=0 if i == 5 else 3)
        for i in range(9)
    ]
    customers = [CustomerFactory(customer_id=f"U{i:02d}") for i in range(30)]
    rng = np.random.default_rng(7)
    Interaction.objects.bulk_create(
        Interaction(
            customer=customers[int(rng.integers(30))],
            product=products[int(rng.integers(9))],
            kind=KINDS[event % 4],
            timestamp=START + timedelta(seconds=int(rng.integers(0, 86_400 * 30)), microseconds=int(rng.integers(0, 10**6))),
        )
        for event in range(900)
    )
    # Deleted rows leave pages whose events no snapshot sees: blocks of pages without a row.
    first = Interaction.objects.order_by("pk").values_list("pk", flat=True)[100]
    Interaction.objects.filter(pk__lt=first).delete()
    return products


def arrays_of(arrays) -> dict:
    return {name: getattr(arrays, name) for name in ("customer_pks", "product_pks", "kinds", "seconds")}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("connections_count", "block_pages"), [(1, 1024), (2, 1), (3, 2)])
def test_the_copy_read_gives_exactly_the_arrays_of_the_simple_read(store_rows, connections_count, block_pages):
    assert _table_pages("shop_interaction") >= 6  # blocks of one and two pages, the first ones emptied
    simple = arrays_of(interaction_arrays_simple())

    products, arrays = store_read_postgresql(block_pages=block_pages, connections_count=connections_count)

    copied = arrays_of(arrays)
    assert len(copied["kinds"]) == Interaction.objects.count() == 800
    for name, values in simple.items():
        assert copied[name].dtype == values.dtype, name
        assert np.array_equal(copied[name], values), name  # same rows, same order, same bits
    assert sorted(np.unique(copied["kinds"]).tolist()) == [0, 1, 2, 3]
    pd.testing.assert_frame_equal(products, products_frame())


@pytest.mark.django_db(transaction=True)
def test_the_frame_names_each_events_product_and_kind_as_stored(store_rows):
    products, arrays = store_read()
    frame = interactions_frame(arrays, product_pks=products["pk"].to_numpy())

    expected = list(Interaction.objects.order_by("pk").values_list("customer_id", "product__product_id", "kind"))
    read = sorted(
        zip(frame["user_id"].tolist(), products["item_id"].to_numpy()[frame["item_index"]].tolist(), [KINDS[k] for k in frame["kind"]]),
    )
    assert read == sorted(expected)
    assert products.loc[products["item_id"] == "P4", "available"].item() is False  # inactive
    assert products.loc[products["item_id"] == "P5", "available"].item() is False  # out of stock


@pytest.mark.django_db
def test_inside_a_transaction_the_read_sees_its_uncommitted_rows(store_rows):
    products, arrays = store_read()

    assert len(arrays) == Interaction.objects.count() == 800
    assert len(products) == 9


@pytest.mark.django_db(transaction=True)
def test_an_empty_store_reads_as_empty_arrays_and_fails_the_validation_gate():
    products, arrays = store_read()
    assert len(arrays) == 0 and products.empty

    result = train_from_database(params={})

    assert result.bundle is None
    assert result.validation_error == "the store has no products to learn from"


@pytest.mark.django_db(transaction=True)
def test_training_from_postgresql_records_its_evaluation_sample(store_rows):
    result = train_from_database(params={"eval_max_users": 7, "eval_weights": [0.0, 0.5]})

    assert result.validation_error == ""
    assert (result.product_count, result.customer_count, result.interaction_count) == (9, 30, 800)
    sample = result.metrics["sample"]
    assert sample == {"customers": 7, "eligible_customers": 30, "max_customers": 7, "seed": 0}
    assert "seeded sample of 7 of 30 customers" in result.metrics["split"]["protocol"]
    assert 0 < result.metrics["results"]["cf"]["users"] <= 7
    assert result.step_seconds["read_database"] >= 0
