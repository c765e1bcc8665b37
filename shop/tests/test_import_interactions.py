import textwrap
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from shop.event_parsing import timestamp_parse
from shop.importers import (
    ImportFileError,
    OccurrenceCounter,
    RejectedRow,
    interactions_import,
)
from shop.models import Category, Customer, Interaction, Product

pytestmark = pytest.mark.django_db

GOOD = """\
user_id,product_id,interaction_type,ts
U001,P001,view,2024-03-01T10:00:00Z
U001,P001,click,2024-03-01T10:00:05+00:00
U001,P002,add_to_cart,1709287210
U002,P002,purchase,2024-03-01 11:30:00
U002,P003,view,1709290800.25
"""

THREE_BAD = """\
user_id,product_id,interaction_type,ts
U001,P001,view,2024-03-01T10:00:00Z
U001,P999,view,2024-03-01T10:01:00Z
U002,P002,click,2024-03-01T10:02:00Z
U002,P002,sneeze,2024-03-01T10:03:00Z
U003,P003,purchase,2024-03-01T10:04:00Z
U003,P003,view,yesterday
U004,P001,cart,2024-03-01T10:05:00Z
"""


@pytest.fixture(autouse=True)
def catalog():
    category = Category.objects.create(name="Cameras", slug="cameras")
    for product_id in ("P001", "P002", "P003"):
        Product.objects.create(product_id=product_id, title=f"Product {product_id}", category=category, price=Decimal("10"))


def csv_file(tmp_path, text, name="interactions.csv"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def counts(report):
    return report.created, report.updated, report.unchanged, report.rejected


def stored():
    return sorted(
        Interaction.objects.values_list("customer__customer_id", "product__product_id", "kind", "timestamp", "quantity")
    )


def test_good_file_stores_every_row_and_creates_customers(tmp_path):
    report = interactions_import(path=csv_file(tmp_path, GOOD))

    assert counts(report) == (5, 0, 0, 0)
    assert report.related_created == {"customers": 2}
    at = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert stored() == [
        ("U001", "P001", "click", at + timedelta(seconds=5), 1),
        ("U001", "P001", "view", at, 1),
        ("U001", "P002", "add_to_cart", at + timedelta(seconds=10), 1),
        ("U002", "P002", "purchase", at + timedelta(minutes=90), 1),
        ("U002", "P003", "view", at + timedelta(hours=1, microseconds=250_000), 1),
    ]
    assert sorted(Customer.objects.values_list("customer_id", flat=True)) == ["U001", "U002"]


def test_every_stored_row_has_a_content_derived_event_id(tmp_path):
    interactions_import(path=csv_file(tmp_path, GOOD))

    event_ids = list(Interaction.objects.values_list("event_id", flat=True))
    assert len(set(event_ids)) == 5
    assert all(event_id.startswith("csv-") and len(event_id) <= 64 for event_id in event_ids)


def test_the_same_file_twice_stores_nothing_new(tmp_path):
    path = csv_file(tmp_path, GOOD)
    interactions_import(path=path)
    before = stored()

    report = interactions_import(path=path)

    assert counts(report) == (0, 0, 5, 0)
    assert report.related_created == {}
    assert stored() == before
    assert Customer.objects.count() == 2


def test_exact_repeats_within_a_file_are_all_kept_and_still_stored_once(tmp_path):
    text = GOOD + "U001,P001,view,2024-03-01T10:00:00Z\nU001,P001,view,2024-03-01T10:00:00Z\n"
    path = csv_file(tmp_path, text)

    first = interactions_import(path=path)
    second = interactions_import(path=path)

    assert counts(first) == (7, 0, 0, 0)
    assert counts(second) == (0, 0, 7, 0)
    assert Interaction.objects.filter(kind="view", product__product_id="P001").count() == 3


def test_an_overlapping_export_adds_only_the_new_rows(tmp_path):
    interactions_import(path=csv_file(tmp_path, GOOD))
    overlap = """\
        user_id,product_id,interaction_type,ts
        U001,P001,viewed,1709287200
        U002,P003,view,2024-03-01T12:00:00.250+01:00
        U003,P001,purchase,2024-03-02T09:00:00Z
        """

    report = interactions_import(path=csv_file(tmp_path, overlap, name="overlap.csv"))

    assert counts(report) == (1, 0, 2, 0)
    assert Interaction.objects.count() == 6


def test_three_bad_rows_are_reported_by_line_and_the_rest_imports(tmp_path):
    report = interactions_import(path=csv_file(tmp_path, THREE_BAD))

    assert counts(report) == (4, 0, 0, 3)
    assert report.rejections == [
        RejectedRow(3, "unknown product 'P999'"),
        RejectedRow(
            5,
            "unknown interaction kind 'sneeze' (expected view, click, add_to_cart, purchase "
            "or an alias such as clicked, cart, order)",
        ),
        RejectedRow(7, "bad timestamp 'yesterday': expected ISO 8601 or unix seconds"),
    ]
    assert [row[:3] for row in stored()] == [
        ("U001", "P001", "view"),
        ("U002", "P002", "click"),
        ("U003", "P003", "purchase"),
        ("U004", "P001", "add_to_cart"),
    ]


def test_the_bad_file_twice_gives_identical_counts(tmp_path):
    path = csv_file(tmp_path, THREE_BAD)
    interactions_import(path=path)

    report = interactions_import(path=path)

    assert counts(report) == (0, 0, 4, 3)
    assert Interaction.objects.count() == 4


def test_strict_writes_nothing_not_even_customers(tmp_path):
    report = interactions_import(path=csv_file(tmp_path, THREE_BAD), strict=True)

    assert report.rolled_back
    assert counts(report) == (0, 0, 0, 3)
    assert [row.line for row in report.rejections] == [3, 5, 7]
    assert Interaction.objects.count() == 0
    assert Customer.objects.count() == 0


def test_strict_with_tiny_chunks_rolls_back_chunks_already_written(tmp_path):
    report = interactions_import(path=csv_file(tmp_path, THREE_BAD), strict=True, chunk_size=1)

    assert [row.line for row in report.rejections] == [3, 5, 7]
    assert Interaction.objects.count() == 0
    assert Customer.objects.count() == 0


def test_strict_imports_a_clean_file(tmp_path):
    report = interactions_import(path=csv_file(tmp_path, GOOD), strict=True)

    assert counts(report) == (5, 0, 0, 0)
    assert Interaction.objects.count() == 5


@pytest.mark.parametrize(
    ("alias", "kind"),
    [("viewed", "view"), ("view_item", "view"), ("Clicked", "click"), ("cart", "add_to_cart"),
     ("add-to-cart", "add_to_cart"), ("ADDTOCART", "add_to_cart"), ("order", "purchase"), ("buy", "purchase"),
     ("bought", "purchase"), ("purchased", "purchase")],
)
def test_kind_aliases_are_stored_as_the_canonical_kind(tmp_path, alias, kind):
    text = f"user_id,product_id,interaction_type,ts\nU001,P001,{alias},2024-03-01T10:00:00Z\n"

    report = interactions_import(path=csv_file(tmp_path, text))

    assert counts(report) == (1, 0, 0, 0)
    assert Interaction.objects.get().kind == kind


def test_an_alias_and_its_kind_are_the_same_event(tmp_path):
    interactions_import(path=csv_file(tmp_path, "user_id,product_id,interaction_type,ts\nU1,P001,click,1709287200\n"))

    report = interactions_import(
        path=csv_file(tmp_path, "user_id,product_id,interaction_type,ts\nU1,P001,CLICKED,1709287200\n", name="b.csv")
    )

    assert counts(report) == (0, 0, 1, 0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-01T10:00:00Z", datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),
        ("2024-03-01T10:00:00", datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),
        ("2024-03-01 10:00:00.5", datetime(2024, 3, 1, 10, 0, 0, 500_000, tzinfo=UTC)),
        ("2024-03-01T12:00:00+02:00", datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),
        ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
        ("1709287200", datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),
        ("1709287200.5", datetime(2024, 3, 1, 10, 0, 0, 500_000, tzinfo=UTC)),
        ("0", datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_timestamps_parse_as_iso_8601_or_unix_seconds(value, expected):
    assert timestamp_parse(value) == expected


def test_an_offset_timestamp_keeps_its_instant():
    moment = timestamp_parse("2024-03-01T12:00:00+02:00")

    assert moment.utcoffset() == timedelta(hours=2)
    assert moment.astimezone(timezone.utc) == datetime(2024, 3, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "missing ts"),
        ("yesterday", "bad timestamp 'yesterday': expected ISO 8601 or unix seconds"),
        ("2024-13-01T00:00:00Z", "bad timestamp '2024-13-01T00:00:00Z': expected ISO 8601 or unix seconds"),
        ("1709287200000", "timestamp 1709287200000 is out of range (milliseconds? ts takes unix seconds)"),
        ("nan", "bad timestamp 'nan': expected ISO 8601 or unix seconds"),
    ],
)
def test_bad_timestamps_are_refused_with_a_reason(value, reason):
    with pytest.raises(ValueError) as error:
        timestamp_parse(value)
    assert str(error.value) == reason


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (",P001,view,1709287200", "missing user_id"),
        ("U1,,view,1709287200", "missing product_id"),
        ("U1,P001,,1709287200", "interaction kind is empty"),
        ("U1,P001,view,", "missing ts"),
        (f"{'U' * 65},P001,view,1709287200", "user_id is longer than 64 characters (65)"),
        ("U1,P001,view", "expected 4 fields, found 3"),
    ],
)
def test_bad_rows_are_rejected_with_a_reason(tmp_path, row, reason):
    report = interactions_import(path=csv_file(tmp_path, f"user_id,product_id,interaction_type,ts\n{row}\n"))

    assert report.rejections == [RejectedRow(2, reason)]
    assert Interaction.objects.count() == 0


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        ("0001-01-01T00:00:00+01:00", "ts '0001-01-01T00:00:00+01:00' is before 2000-01-01 UTC, the earliest event time"),
        ("1999-12-31T23:59:59Z", "ts '1999-12-31T23:59:59Z' is before 2000-01-01 UTC, the earliest event time"),
        ("0", "ts '0' is before 2000-01-01 UTC, the earliest event time"),
        ("2099-01-01T00:00:00Z", "ts '2099-01-01T00:00:00Z' is in the future (more than 15 minutes ahead)"),
        ("4070908800", "ts '4070908800' is in the future (more than 15 minutes ahead)"),
    ],
)
def test_a_ts_outside_the_event_time_bounds_is_rejected_by_line_with_the_reason(tmp_path, ts, reason):
    text = f"user_id,product_id,interaction_type,ts\nU1,P001,view,2024-03-01T10:00:00Z\nU2,P002,view,{ts}\n"

    report = interactions_import(path=csv_file(tmp_path, text))

    assert counts(report) == (1, 0, 0, 1)
    assert report.rejections == [RejectedRow(3, reason)]
    assert stored() == [("U1", "P001", "view", datetime(2024, 3, 1, 10, tzinfo=UTC), 1)]
    assert not Customer.objects.filter(customer_id="U2").exists()


def test_a_ts_from_2000_to_now_is_stored(tmp_path):
    now = datetime.now(UTC)
    text = f"""\
        user_id,product_id,interaction_type,ts
        U1,P001,view,2000-01-01T00:00:00Z
        U1,P002,view,2000-01-01T01:00:00+01:00
        U1,P003,view,946684800
        U2,P001,view,{now.isoformat()}
        """

    report = interactions_import(path=csv_file(tmp_path, text))

    millennium = datetime(2000, 1, 1, tzinfo=UTC)
    assert counts(report) == (4, 0, 0, 0)
    assert [row[3] for row in stored()] == [millennium, millennium, millennium, now]


def test_chunk_size_changes_neither_the_result_nor_the_event_ids(tmp_path):
    text = THREE_BAD + "U001,P001,view,2024-03-01T10:00:00Z\nU001,P001,view,2024-03-01T10:00:00Z\n"
    path = csv_file(tmp_path, text)

    tiny = interactions_import(path=path, chunk_size=2)
    event_ids = set(Interaction.objects.values_list("event_id", flat=True))
    again = interactions_import(path=path, chunk_size=1000)

    assert counts(tiny) == (6, 0, 0, 3)
    assert [row.line for row in tiny.rejections] == [3, 5, 7]
    assert counts(again) == (0, 0, 6, 3)
    assert set(Interaction.objects.values_list("event_id", flat=True)) == event_ids


def test_products_in_the_file_must_already_exist(tmp_path):
    text = "user_id,product_id,interaction_type,ts\nU1,P004,view,1709287200\n"

    report = interactions_import(path=csv_file(tmp_path, text))

    assert report.rejections == [RejectedRow(2, "unknown product 'P004'")]
    assert Customer.objects.count() == 0


def test_a_wrong_header_is_an_error_naming_the_expected_columns(tmp_path):
    path = csv_file(tmp_path, "user,item,type,time\nU1,P001,view,1709287200\n")

    with pytest.raises(ImportFileError) as error:
        interactions_import(path=path)

    assert str(error.value) == (
        f"{path}: the header must be user_id,product_id,interaction_type,ts; "
        "missing user_id, product_id, interaction_type, ts; unknown 'user', 'item', 'type', 'time'"
    )


def test_a_file_that_is_not_utf8_is_an_error(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("user_id,product_id,interaction_type,ts\nJos\u00e9,P001,view,1709287200\n".encode("latin-1"))

    with pytest.raises(ImportFileError, match="is not UTF-8 text"):
        interactions_import(path=path)


def test_command_prints_the_summary_and_fails_on_rejected_rows(tmp_path):
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match="3 rows rejected"):
        call_command("import_interactions", str(csv_file(tmp_path, THREE_BAD)), stdout=out, stderr=err)

    assert "7 rows" in out.getvalue()
    assert "4 created, 0 updated, 0 unchanged, 3 rejected, 4 new customers." in out.getvalue()
    assert [line.split(":")[0] for line in err.getvalue().splitlines()] == ["line 3", "line 5", "line 7"]


def test_command_succeeds_on_a_good_file_and_strict_fails_on_a_bad_one(tmp_path):
    out = StringIO()
    call_command("import_interactions", str(csv_file(tmp_path, GOOD)), "--chunk-size", "2", stdout=out)
    assert "5 created, 0 updated, 0 unchanged, 0 rejected" in out.getvalue()

    with pytest.raises(CommandError):
        call_command("import_interactions", str(csv_file(tmp_path, THREE_BAD, name="bad.csv")), "--strict",
                     stdout=StringIO(), stderr=StringIO())
    assert Interaction.objects.count() == 5


def test_occurrence_counter_counts_earlier_equal_keys_across_batches():
    counter = OccurrenceCounter()
    batches = [[5, 7, 5], [7, 7, 9], [5], [], [9, 1, 5]]

    seen = [counter.count_and_add(np.array(batch, dtype=np.uint64)).tolist() for batch in batches]

    assert seen == [[0, 0, 1], [1, 2, 0], [2], [], [1, 0, 3]]
