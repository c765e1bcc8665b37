import textwrap
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from shop.importers import ImportFileError, RejectedRow, csv_line_count, products_import
from shop.management.commands.import_products import Command as ImportProductsCommand
from shop.models import Category, Product

pytestmark = pytest.mark.django_db

GOOD = """\
product_id,title,category,description,price,img_url
P001,Mirrorless camera,Cameras,24 MP body,499.00,https://img.example/p001.png
P002,Memory card 64GB,Memory & Storage,Fast SD card,19.99,
P003,Tripod,Cameras,,35,
"""

THREE_BAD = """\
product_id,title,category,description,price,img_url
P001,Mirrorless camera,Cameras,24 MP body,499.00,
P002,Memory card 64GB,Memory & Storage,Fast SD card,-19.99,
P003,Tripod,Cameras,,35,
,Nameless,Cameras,,1.00,
P005,Lens cap,Cameras,,cheap,
P006,Camera bag,Bags,,49.50,
"""


def csv_file(tmp_path, text, name="products.csv"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def counts(report):
    return report.created, report.updated, report.unchanged, report.rejected


def test_good_file_creates_products_and_their_categories(tmp_path):
    report = products_import(path=csv_file(tmp_path, GOOD))

    assert counts(report) == (3, 0, 0, 0)
    assert report.rows == 3
    assert report.related_created == {"categories": 2}
    camera = Product.objects.get(product_id="P001")
    assert (camera.title, camera.category.name, camera.description) == ("Mirrorless camera", "Cameras", "24 MP body")
    assert (camera.price, camera.currency, camera.image_url) == (Decimal("499.00"), "USD", "https://img.example/p001.png")
    assert (camera.stock, camera.is_active) == (None, True)
    assert Product.objects.get(product_id="P003").price == Decimal("35.00")
    assert dict(Category.objects.values_list("name", "slug")) == {"Cameras": "cameras", "Memory & Storage": "memory-storage"}


def test_the_same_file_twice_changes_nothing(tmp_path):
    path = csv_file(tmp_path, GOOD)
    products_import(path=path)
    before = list(Product.objects.values_list("product_id", "price", "category_id", "updated_at"))

    report = products_import(path=path)

    assert counts(report) == (0, 0, 3, 0)
    assert report.related_created == {}
    assert list(Product.objects.values_list("product_id", "price", "category_id", "updated_at")) == before
    assert Category.objects.count() == 2


def test_a_changed_price_is_an_update_and_nothing_else_moves(tmp_path):
    products_import(path=csv_file(tmp_path, GOOD))
    untouched = Product.objects.get(product_id="P002").updated_at

    report = products_import(path=csv_file(tmp_path, GOOD.replace("499.00", "449.00"), name="v2.csv"))

    assert counts(report) == (0, 1, 2, 0)
    assert Product.objects.get(product_id="P001").price == Decimal("449.00")
    assert Product.objects.get(product_id="P002").updated_at == untouched
    assert Product.objects.count() == 3


def test_a_moved_category_is_an_update(tmp_path):
    products_import(path=csv_file(tmp_path, GOOD))

    report = products_import(path=csv_file(tmp_path, GOOD.replace("Tripod,Cameras", "Tripod,Accessories"), name="v2.csv"))

    assert counts(report) == (0, 1, 2, 0)
    assert Product.objects.get(product_id="P003").category.name == "Accessories"


def test_three_bad_rows_are_reported_by_line_and_the_rest_imports(tmp_path):
    report = products_import(path=csv_file(tmp_path, THREE_BAD))

    assert counts(report) == (3, 0, 0, 3)
    assert report.rejections == [
        RejectedRow(3, "price -19.99 is negative"),
        RejectedRow(5, "missing product_id"),
        RejectedRow(6, "price 'cheap' is not a number"),
    ]
    assert sorted(Product.objects.values_list("product_id", flat=True)) == ["P001", "P003", "P006"]


def test_strict_writes_nothing_when_any_row_is_bad(tmp_path):
    report = products_import(path=csv_file(tmp_path, THREE_BAD), strict=True)

    assert report.rolled_back
    assert counts(report) == (0, 0, 0, 3)
    assert [row.line for row in report.rejections] == [3, 5, 6]
    assert Product.objects.count() == 0
    assert Category.objects.count() == 0


def test_strict_lists_bad_rows_found_after_earlier_chunks_were_written(tmp_path):
    report = products_import(path=csv_file(tmp_path, THREE_BAD), strict=True, chunk_size=1)

    assert [row.line for row in report.rejections] == [3, 5, 6]
    assert Product.objects.count() == 0


def test_strict_imports_a_clean_file(tmp_path):
    report = products_import(path=csv_file(tmp_path, GOOD), strict=True)

    assert not report.rolled_back
    assert counts(report) == (3, 0, 0, 0)
    assert Product.objects.count() == 3


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("P9,,Cameras,,1,", "missing title"),
        ("P9,Thing,Cameras,,,", "missing price"),
        ("P9,Thing,Cameras,,1.999,", "price 1.999 has more than 2 decimal places"),
        ("P9,Thing,Cameras,,10000000000,", "price 10000000000 is too large (under 10000000000 please)"),
        ("P9,Thing,Cameras,,NaN,", "price 'NaN' is not a number"),
        ("P9,Thing,Cameras,,$5,", "price '$5' is not a number"),
        (f"P9,{'x' * 256},Cameras,,1,", "title is longer than 255 characters (256)"),
        (f"{'P' * 65},Thing,Cameras,,1,", "product_id is longer than 64 characters (65)"),
        (f"P9,Thing,{'c' * 256},,1,", "category is longer than 255 characters (256)"),
        ("P9,Thing,Cameras,,1", "expected 6 fields, found 5"),
        ("P9,Thing,Cameras,,1,,extra", "expected 6 fields, found 7"),
    ],
)
def test_bad_values_are_rejected_with_a_reason(tmp_path, row, reason):
    text = "product_id,title,category,description,price,img_url\n" + row + "\n"
    report = products_import(path=csv_file(tmp_path, text))

    assert report.rejections == [RejectedRow(2, reason)]
    assert Product.objects.count() == 0


def test_line_numbers_are_physical_lines_when_a_description_spans_several(tmp_path):
    text = (
        "product_id,title,category,description,price,img_url\n"
        'P001,Camera,Cameras,"Line one\nline two\nline three",10,\n'
        "P002,Card,Cameras,,-1,\n"
    )
    report = products_import(path=csv_file(tmp_path, text))

    assert report.rejections == [RejectedRow(5, "price -1 is negative")]
    assert Product.objects.get(product_id="P001").description == "Line one\nline two\nline three"


def test_a_product_id_repeated_in_the_file_is_rejected_so_reimports_stay_unchanged(tmp_path):
    path = csv_file(tmp_path, GOOD + "P001,Camera again,Cameras,,1.00,\n")

    first = products_import(path=path)
    second = products_import(path=path)

    assert first.rejections == [RejectedRow(5, "duplicate product_id 'P001' (first on line 2)")]
    assert counts(second) == (0, 0, 3, 1)
    assert Product.objects.get(product_id="P001").price == Decimal("499.00")


def test_optional_columns_are_imported_and_validated(tmp_path):
    text = """\
        product_id,title,category,description,price,img_url,currency,stock,is_active
        P001,Camera,Cameras,,499,,eur,3,yes
        P002,Card,Cameras,,19.99,,,0,false
        P003,Tripod,Cameras,,35,,,,
        P004,Lens,Cameras,,99,,DOLLARS,1,true
        P005,Bag,Cameras,,49,,USD,-2,true
        P006,Strap,Cameras,,9,,USD,1,maybe
        """
    report = products_import(path=csv_file(tmp_path, text))

    assert report.rejections == [
        RejectedRow(5, "currency 'DOLLARS' is not a three-letter ISO 4217 code such as USD"),
        RejectedRow(6, "stock '-2' is not a whole number from 0 to 2147483647"),
        RejectedRow(7, "is_active 'maybe' is not true or false"),
    ]
    rows = Product.objects.order_by("product_id").values_list("product_id", "currency", "stock", "is_active")
    assert list(rows) == [("P001", "EUR", 3, True), ("P002", "USD", 0, False), ("P003", "USD", None, True)]


def test_columns_absent_from_the_file_keep_their_values_on_update(tmp_path):
    with_stock = "product_id,title,category,description,price,img_url,stock,currency\nP001,Camera,Cameras,,499,,7,EUR\n"
    products_import(path=csv_file(tmp_path, with_stock))

    report = products_import(path=csv_file(tmp_path, GOOD.replace("499.00", "450"), name="plain.csv"))

    assert counts(report) == (2, 1, 0, 0)
    camera = Product.objects.get(product_id="P001")
    assert (camera.price, camera.stock, camera.currency) == (Decimal("450.00"), 7, "EUR")


def test_categories_whose_names_slugify_alike_get_distinct_slugs(tmp_path):
    text = """\
        product_id,title,category,description,price,img_url
        P001,Rake,Home & Garden,,10,
        P002,Hose,Home Garden,,10,
        P003,Pot,Home  Garden!,,10,
        """
    products_import(path=csv_file(tmp_path, text))

    assert dict(Category.objects.values_list("name", "slug")) == {
        "Home & Garden": "home-garden",
        "Home Garden": "home-garden-2",
        "Home  Garden!": "home-garden-3",
    }


def test_existing_categories_are_reused_by_name(tmp_path):
    Category.objects.create(name="Cameras", slug="photo")

    report = products_import(path=csv_file(tmp_path, GOOD))

    assert report.related_created == {"categories": 1}
    assert Product.objects.get(product_id="P001").category.slug == "photo"


def test_tiny_chunks_give_the_same_result_as_one_chunk(tmp_path):
    path = csv_file(tmp_path, THREE_BAD)

    report = products_import(path=path, chunk_size=2)

    assert counts(report) == (3, 0, 0, 3)
    assert [row.line for row in report.rejections] == [3, 5, 6]
    assert counts(products_import(path=path, chunk_size=4)) == (0, 0, 3, 3)


def test_header_columns_may_come_in_any_order_and_case_with_a_bom(tmp_path):
    text = "\ufeffPrice,Product_ID,title,category,description,img_url\n12.50,P001,Camera,Cameras,,\n"
    report = products_import(path=csv_file(tmp_path, text))

    assert counts(report) == (1, 0, 0, 0)
    assert Product.objects.get(product_id="P001").price == Decimal("12.50")


def test_a_missing_column_is_an_error_naming_the_expected_header(tmp_path):
    path = csv_file(tmp_path, "product_id,title,category,price\nP001,Camera,Cameras,10\n")

    with pytest.raises(ImportFileError) as error:
        products_import(path=path)

    assert str(error.value) == (
        f"{path}: the header must be product_id,title,category,description,price,img_url "
        "(optional: currency,stock,is_active,item_group_id); missing description, img_url"
    )
    assert Product.objects.count() == 0


def test_an_unknown_column_is_an_error(tmp_path):
    path = csv_file(tmp_path, "product_id,title,category,description,price,img_url,colour\n")

    with pytest.raises(ImportFileError, match="unknown 'colour'"):
        products_import(path=path)


def test_an_empty_file_is_an_error(tmp_path):
    with pytest.raises(ImportFileError, match="has no header line"):
        products_import(path=csv_file(tmp_path, ""))


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(ImportFileError, match="cannot open"):
        products_import(path=tmp_path / "nope.csv")


def test_progress_reports_every_physical_line_once(tmp_path):
    path = csv_file(tmp_path, THREE_BAD)
    advanced = []

    products_import(path=path, chunk_size=2, progress=advanced.append)

    assert sum(advanced) == csv_line_count(path) == 7
    assert len(advanced) == 3


def test_command_prints_the_summary_and_succeeds(tmp_path):
    out = StringIO()

    call_command("import_products", str(csv_file(tmp_path, GOOD)), stdout=out, stderr=StringIO())

    assert "3 rows" in out.getvalue()
    assert "3 created, 0 updated, 0 unchanged, 0 rejected, 2 new categories." in out.getvalue()


def test_command_lists_rejected_lines_and_fails(tmp_path):
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match="3 rows rejected"):
        call_command("import_products", str(csv_file(tmp_path, THREE_BAD)), stdout=out, stderr=err)

    assert err.getvalue().splitlines() == [
        "line 3: price -19.99 is negative",
        "line 5: missing product_id",
        "line 6: price 'cheap' is not a number",
    ]
    assert "3 created, 0 updated, 0 unchanged, 3 rejected" in out.getvalue()
    assert Product.objects.count() == 3


def test_command_with_strict_writes_nothing(tmp_path):
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("import_products", str(csv_file(tmp_path, THREE_BAD)), "--strict", stdout=out, stderr=StringIO())

    assert "Nothing was written" in out.getvalue()
    assert Product.objects.count() == 0


def test_command_exit_status_is_1_when_rows_are_rejected_and_0_otherwise(tmp_path, capsys, monkeypatch):
    # run_from_argv closes all connections on the way out, which would end the test's transaction.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    command = ImportProductsCommand()
    with pytest.raises(SystemExit) as exit_info:
        command.run_from_argv(["manage.py", "import_products", str(csv_file(tmp_path, THREE_BAD))])
    assert exit_info.value.code == 1

    ImportProductsCommand().run_from_argv(["manage.py", "import_products", str(csv_file(tmp_path, GOOD, name="g.csv"))])
    assert "0 rejected" in capsys.readouterr().out


def test_command_turns_a_bad_header_into_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="the header must be"):
        call_command("import_products", str(csv_file(tmp_path, "id,name\n")), stdout=StringIO())


class TerminalOutput(StringIO):
    def isatty(self):
        return True


def test_command_draws_a_progress_bar_only_on_a_terminal(tmp_path, capsys):
    path = csv_file(tmp_path, GOOD)

    call_command("import_products", str(path), stdout=StringIO())
    assert capsys.readouterr().err == ""

    call_command("import_products", str(path), stdout=TerminalOutput())
    assert "products.csv" in capsys.readouterr().err
