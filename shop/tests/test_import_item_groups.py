"""The optional item_group_id column of the products CSV: variants share it; a file without it leaves groups alone."""

import pytest

from shop.importers import products_import
from shop.models import Product
from shop.tests.test_import_products import GOOD, counts, csv_file

pytestmark = pytest.mark.django_db

GROUPED = """\
product_id,title,category,description,price,img_url,item_group_id
P001,Board game Ages 3+,Games,,19.00,,BG1
P002,Board game Ages 8+,Games,,21.00,,BG1
P003,Chess set,Games,,35.00,,
"""


def groups() -> dict[str, str]:
    return dict(Product.objects.values_list("product_id", "item_group_id"))


def test_the_column_sets_each_products_group_and_an_empty_cell_means_none(tmp_path):
    report = products_import(path=csv_file(tmp_path, GROUPED))

    assert counts(report) == (3, 0, 0, 0)
    assert groups() == {"P001": "BG1", "P002": "BG1", "P003": ""}


def test_a_file_without_the_column_creates_ungrouped_products_and_keeps_existing_groups(tmp_path):
    products_import(path=csv_file(tmp_path, GOOD))
    assert groups() == {"P001": "", "P002": "", "P003": ""}
    Product.objects.filter(product_id="P001").update(item_group_id="CAMS")

    report = products_import(path=csv_file(tmp_path, GOOD.replace("499.00", "449.00"), name="v2.csv"))

    assert counts(report) == (0, 1, 2, 0)
    assert groups() == {"P001": "CAMS", "P002": "", "P003": ""}


def test_a_changed_group_is_an_update_and_the_same_file_again_changes_nothing(tmp_path):
    products_import(path=csv_file(tmp_path, GROUPED))

    moved = products_import(path=csv_file(tmp_path, GROUPED.replace(",,BG1\nP003", ",,BG2\nP003"), name="v2.csv"))
    again = products_import(path=csv_file(tmp_path, GROUPED.replace(",,BG1\nP003", ",,BG2\nP003"), name="v3.csv"))

    assert counts(moved) == (0, 1, 2, 0)
    assert counts(again) == (0, 0, 3, 0)
    assert groups() == {"P001": "BG1", "P002": "BG2", "P003": ""}


def test_a_group_id_longer_than_the_field_rejects_its_row(tmp_path):
    report = products_import(path=csv_file(tmp_path, GROUPED.replace("BG1\nP002", "G" * 65 + "\nP002")))

    assert counts(report) == (2, 0, 0, 1)
    assert report.rejections[0].line == 2 and "item_group_id is longer than 64 characters" in report.rejections[0].reason
