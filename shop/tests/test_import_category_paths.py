"""Real catalogue files: category paths, rows without a category, and titles longer than the field."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from shop.category_paths import category_path_parse
from shop.importers import RejectedRow, products_import, text_cut_at_word
from shop.models import Category, Product
from shop.tests.test_import_products import counts, csv_file

pytestmark = pytest.mark.django_db

HEADER = "product_id,title,category,description,price,img_url\n"

PATHS = HEADER + (
    "P001,Zoom lens,Electronics > Cameras > Lenses,,299,\n"
    "P002,Prime lens,Electronics > Cameras > Lenses,,199,\n"
    "P003,Camera body,Electronics > Cameras,,899,\n"
    "P004,Lens pouch,Electronics > Cameras > Accessories,,15,\n"
    "P005,Laptop sleeve,Electronics > Computers > Accessories,,25,\n"
    "P006,Speaker,Electronics,,99,\n"
    "P007,Rake,Garden,,20,\n"
)


def tree() -> dict[str, tuple[str | None, str]]:
    """Return {category path: (parent path, slug)} for every category."""
    by_id = {category.pk: category for category in Category.objects.all()}

    def path(category) -> str:
        names = []
        seen = set()
        while category is not None and category.pk not in seen:
            seen.add(category.pk)
            names.append(category.name)
            category = by_id.get(category.parent_id)
        return " > ".join(reversed(names))

    return {path(c): (path(by_id[c.parent_id]) if c.parent_id else None, c.slug) for c in by_id.values()}


def filed_under() -> dict[str, str]:
    return {product.product_id: " > ".join(category_names(product.category)) for product in Product.objects.all()}


def category_names(category) -> list[str]:
    names = []
    while category is not None:
        names.insert(0, category.name)
        category = category.parent
    return names


def test_a_path_creates_the_tree_and_files_the_product_under_the_leaf(tmp_path):
    report = products_import(path=csv_file(tmp_path, PATHS))

    assert counts(report) == (7, 0, 0, 0)
    assert report.related_created == {"categories": 7}
    assert tree() == {
        "Electronics": (None, "electronics"),
        "Electronics > Cameras": ("Electronics", "cameras"),
        "Electronics > Cameras > Lenses": ("Electronics > Cameras", "lenses"),
        "Electronics > Cameras > Accessories": ("Electronics > Cameras", "accessories"),
        "Electronics > Computers": ("Electronics", "computers"),
        "Electronics > Computers > Accessories": ("Electronics > Computers", "accessories-2"),
        "Garden": (None, "garden"),
    }
    assert filed_under() == {
        "P001": "Electronics > Cameras > Lenses",
        "P002": "Electronics > Cameras > Lenses",
        "P003": "Electronics > Cameras",
        "P004": "Electronics > Cameras > Accessories",
        "P005": "Electronics > Computers > Accessories",
        "P006": "Electronics",
        "P007": "Garden",
    }


def test_reimporting_a_file_with_paths_changes_nothing(tmp_path):
    path = csv_file(tmp_path, PATHS)
    products_import(path=path, chunk_size=3)
    categories = sorted(Category.objects.values_list("pk", "name", "slug", "parent_id"))
    products = sorted(Product.objects.values_list("product_id", "category_id", "updated_at"))

    report = products_import(path=path, chunk_size=2)

    assert counts(report) == (0, 0, 7, 0)
    assert report.related_created == {}
    assert sorted(Category.objects.values_list("pk", "name", "slug", "parent_id")) == categories
    assert sorted(Product.objects.values_list("product_id", "category_id", "updated_at")) == products


def test_a_product_moved_to_another_branch_is_an_update(tmp_path):
    products_import(path=csv_file(tmp_path, PATHS))

    moved = PATHS.replace("P003,Camera body,Electronics > Cameras,", "P003,Camera body,Electronics > Cameras > Bodies,")
    report = products_import(path=csv_file(tmp_path, moved, name="v2.csv"))

    assert counts(report) == (0, 1, 6, 0)
    assert report.related_created == {"categories": 1}
    assert filed_under()["P003"] == "Electronics > Cameras > Bodies"


@pytest.mark.parametrize(
    ("separator", "cell"),
    [(">", "Home > Kitchen > Knives"), ("/", "Home/Kitchen/Knives"), ("|", "Home | Kitchen | Knives")],
)
def test_the_separator_the_file_uses_is_chosen_by_option(tmp_path, separator, cell):
    path = csv_file(tmp_path, HEADER + f"P001,Chef knife,{cell},,45,\n")
    out = StringIO()

    call_command("import_products", str(path), "--category-separator", separator, stdout=out, stderr=StringIO())

    assert filed_under() == {"P001": "Home > Kitchen > Knives"}
    assert "1 created" in out.getvalue()


def test_with_the_default_separator_a_slash_is_part_of_the_name(tmp_path):
    products_import(path=csv_file(tmp_path, HEADER + "P001,Greatest hits,Music > AC/DC,,12,\n"))

    assert filed_under() == {"P001": "Music > AC/DC"}


def test_blank_levels_of_a_path_are_skipped():
    assert category_path_parse(" Home >  > Kitchen > ") == ("Home", "Kitchen")
    assert category_path_parse("  ") == ()


def test_a_name_may_have_255_characters_and_a_longer_one_rejects_its_row(tmp_path):
    long_name, too_long = "n" * 255, "m" * 256
    text = HEADER + f"P001,Thing,Tools > {long_name},,1,\nP002,Other,Tools > {too_long} > Leaf,,1,\nP003,Flat,{too_long},,1,\n"

    report = products_import(path=csv_file(tmp_path, text))

    assert counts(report) == (1, 0, 0, 2)
    assert report.rejections == [
        RejectedRow(3, "category level 2 is longer than 255 characters (256)"),
        RejectedRow(4, "category is longer than 255 characters (256)"),
    ]
    assert filed_under() == {"P001": f"Tools > {long_name}"}


def test_a_path_of_the_issues_real_catalogue_longer_than_120_characters_imports(tmp_path):
    cell = (
        "Industrial & Scientific > Janitorial & Sanitation Supplies > Cleaning Tools > "
        "Mops, Buckets & Accessories > Replacement Mop Heads"
    )
    report = products_import(path=csv_file(tmp_path, HEADER + f'P001,Mop head,"{cell}",,9.99,\n'))

    assert len(cell) > 120
    assert counts(report) == (1, 0, 0, 0)
    assert filed_under() == {"P001": cell}


def test_a_row_without_a_category_goes_to_uncategorized_with_a_warning(tmp_path):
    text = HEADER + "P001,Camera,Cameras,,10,\nP002,Mystery box,,,5,\nP003,Odd thing, > ,,5,\n"

    report = products_import(path=csv_file(tmp_path, text))

    assert counts(report) == (3, 0, 0, 0)
    assert report.rejections == []
    assert report.warnings == {"rows without a category filed under 'Uncategorized'": 2}
    assert filed_under() == {"P001": "Cameras", "P002": "Uncategorized", "P003": "Uncategorized"}
    assert "Kept with a warning: 2 rows without a category filed under 'Uncategorized'." in report.summary()


def test_the_default_category_is_named_by_option_and_reused(tmp_path):
    Category.objects.create(name="Misc", slug="misc-things")
    out = StringIO()

    call_command(
        "import_products", str(csv_file(tmp_path, HEADER + "P001,Thing,,,5,\n")), "--default-category", "Misc", stdout=out
    )

    assert filed_under() == {"P001": "Misc"}
    assert Product.objects.get().category.slug == "misc-things"
    assert "1 rows without a category filed under 'Misc'" in out.getvalue()


def test_an_empty_default_category_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="the default category needs a name"):
        call_command("import_products", str(csv_file(tmp_path, HEADER)), "--default-category", " ", stdout=StringIO())


def test_a_category_the_admin_moved_under_another_is_found_by_its_name(tmp_path):
    electronics = Category.objects.create(name="Electronics", slug="electronics")
    Category.objects.create(name="Cameras", slug="cameras", parent=electronics)

    report = products_import(path=csv_file(tmp_path, HEADER + "P001,Camera,Cameras,,10,\nP002,Lens,Cameras > Lenses,,5,\n"))

    assert report.related_created == {"categories": 1}
    assert filed_under() == {"P001": "Electronics > Cameras", "P002": "Electronics > Cameras > Lenses"}


def test_a_title_longer_than_255_characters_is_rejected_saying_so(tmp_path):
    title = "Heavy duty " + "industrial " * 30
    report = products_import(path=csv_file(tmp_path, HEADER + f"P001,{title.strip()},Tools,,10,\n"))

    assert report.rejections == [RejectedRow(2, f"title is longer than 255 characters ({len(title.strip())})")]
    assert Product.objects.count() == 0


def test_truncate_long_text_keeps_the_row_with_the_title_cut_at_a_word_boundary(tmp_path):
    title = "Heavy duty mop, " + "industrial grade cotton, " * 12
    path = csv_file(tmp_path, HEADER + f'P001,"{title.strip()}",Tools,,10,\nP002,Short title,Tools,,5,\n')
    out = StringIO()

    call_command("import_products", str(path), "--truncate-long-text", stdout=out)
    again = products_import(path=path, truncate_long_text=True)

    # 16 + 9 * 25 characters, then "industrial gra" reaches 255: the cut falls before "grade".
    assert Product.objects.get(product_id="P001").title == "Heavy duty mop, " + "industrial grade cotton, " * 9 + "industrial"
    assert "1 titles cut to 255 characters at a word boundary" in out.getvalue()
    assert counts(again) == (0, 0, 2, 0)
    assert again.warnings == {"titles cut to 255 characters at a word boundary": 1}


@pytest.mark.parametrize(
    ("text", "limit", "cut"),
    [
        ("alpha beta gamma", 16, "alpha beta gamma"),
        ("alpha beta gamma", 13, "alpha beta"),
        ("alpha beta, gamma", 14, "alpha beta"),
        ("alpha beta - gamma", 14, "alpha beta"),
        ("alphabetagamma", 9, "alphabeta"),
    ],
)
def test_text_is_cut_at_the_last_word_boundary_within_the_limit(text, limit, cut):
    assert text_cut_at_word(text, limit) == cut


def test_a_word_ending_exactly_at_the_limit_is_kept():
    assert text_cut_at_word("alpha beta gamma", 10) == "alpha beta"
    assert text_cut_at_word("alpha beta gamma", 11) == "alpha beta"


# The storefront's category pages and the API's filter over an imported three-level tree


def test_the_api_lists_a_branchs_products_from_every_level_below_it(tmp_path, api_client):
    products_import(path=csv_file(tmp_path, PATHS))

    def listed(slug: str) -> list[str]:
        response = api_client.get("/api/products/", {"category": slug, "page_size": 50})
        assert response.status_code == 200
        return sorted(item["product_id"] for item in response.json()["results"])

    assert listed("electronics") == ["P001", "P002", "P003", "P004", "P005", "P006"]
    assert listed("cameras") == ["P001", "P002", "P003", "P004"]
    assert listed("lenses") == ["P001", "P002"]
    assert listed("accessories-2") == ["P005"]
    assert listed("garden") == ["P007"]


def test_the_category_list_counts_each_branch_with_its_sub_categories(tmp_path, api_client):
    products_import(path=csv_file(tmp_path, PATHS))

    response = api_client.get("/api/categories/")

    assert response.status_code == 200
    counted = {item["slug"]: (item["parent"], item["product_count"], item["direct_product_count"]) for item in response.json()}
    assert counted == {
        "electronics": (None, 6, 1),
        "cameras": ("electronics", 4, 1),
        "lenses": ("cameras", 2, 2),
        "accessories": ("cameras", 1, 1),
        "computers": ("electronics", 1, 0),
        "accessories-2": ("computers", 1, 1),
        "garden": (None, 1, 1),
    }
