"""Product images: a deterministic SVG per product, served with a long cache and an ETag."""

from decimal import Decimal
from xml.etree import ElementTree

import pytest

from shop.images import ICONS, IMAGE_MAX_AGE, image_style, product_image_svg, title_lines
from shop.models import Category, Product

SVG = "{http://www.w3.org/2000/svg}"
LAPTOPS_BLUE = "#3b5bdb"


@pytest.fixture
def laptop(db):
    category = Category.objects.create(name="Laptops", slug="laptops")
    return Product.objects.create(
        product_id="P00001",
        title='Zentro Air 14 Ultrabook, 14", 16 GB RAM, 512 GB SSD, Silver',
        category=category,
        price=Decimal("1299.99"),
    )


def test_image_is_an_svg_with_a_long_public_cache(client, laptop, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/images/products/P00001.svg")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert f"max-age={IMAGE_MAX_AGE}" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    assert IMAGE_MAX_AGE >= 30 * 24 * 3600
    assert response["ETag"].startswith('"')
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height")) == ("400", "400")


def test_image_shows_the_wrapped_title_the_category_and_the_type_icon(client, laptop):
    root = ElementTree.fromstring(client.get("/images/products/P00001.svg").content)
    lines = [tspan.text for tspan in root.iter(f"{SVG}tspan")]
    texts = [text.text for text in root.iter(f"{SVG}text") if text.text]

    assert lines == ["Zentro Air 14 Ultrabook,", '14", 16 GB RAM, 512 GB', "SSD, Silver"]
    assert texts == ["LAPTOPS"]
    icon_group = next(group for group in root.iter(f"{SVG}g") if group.get("stroke"))
    assert icon_group.get("stroke") == LAPTOPS_BLUE
    assert '<rect x="20" y="22" width="60" height="40" rx="4"/>' in ICONS["laptop"]
    assert len(list(icon_group)) == 2  # the laptop icon: screen and base


def test_unknown_product_is_404(client, db):
    response = client.get("/images/products/P99999.svg")

    assert response.status_code == 404


def test_same_product_gives_the_same_bytes_and_a_matching_etag_gives_304(client, laptop):
    first = client.get("/images/products/P00001.svg")
    second = client.get("/images/products/P00001.svg")
    revalidated = client.get("/images/products/P00001.svg", HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.content == second.content
    assert revalidated.status_code == 304
    assert revalidated.content == b""


def test_changing_the_title_changes_the_image_and_its_etag(client, laptop):
    before = client.get("/images/products/P00001.svg")
    laptop.title = "Zentro Air 14 Ultrabook, 14\", 32 GB RAM"
    laptop.save()
    after = client.get("/images/products/P00001.svg", HTTP_IF_NONE_MATCH=before["ETag"])

    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]


def test_only_get_and_head_are_allowed(client, laptop):
    assert client.head("/images/products/P00001.svg").status_code == 200
    assert client.post("/images/products/P00001.svg").status_code == 405


def test_markup_in_a_title_is_escaped():
    svg = product_image_svg(title='<script>"x"</script> & Co', category="Toys & Games")
    root = ElementTree.fromstring(svg)

    assert "<script" not in svg
    assert [tspan.text for tspan in root.iter(f"{SVG}tspan")] == ['<script>"x"</script> &', "Co"]
    assert root.get("aria-label") == '<script>"x"</script> & Co'


def test_style_follows_the_type_named_in_the_title_then_the_category():
    assert image_style(title="Kestrel Pro Memory Card, 128 GB", category="Camera Accessories") == ("#0ca678", "card")
    assert image_style(title="Lumora Z 50 Mirrorless Camera, 24 MP", category="Cameras") == ("#0b7285", "camera")
    assert image_style(title="Ridgeway Field Camera Bag, Black", category="Camera Accessories") == ("#0ca678", "bag")
    assert image_style(title="Mystery gadget", category="Cameras") == ("#0b7285", "camera")


def test_unknown_category_gets_a_stable_colour_and_a_tag_icon():
    colour, icon = image_style(title="Mystery gadget", category="Curiosities")

    assert icon == "tag"
    assert image_style(title="Something else", category="Curiosities") == (colour, "tag")
    assert colour.startswith("#") and len(colour) == 7


def test_long_titles_wrap_to_three_lines_ending_in_an_ellipsis():
    lines = title_lines("word " * 40)

    assert len(lines) == 3
    assert lines[-1].endswith("…")
    assert all(len(line) <= 24 for line in lines)


def test_every_icon_is_well_formed_svg():
    for name, markup in ICONS.items():
        ElementTree.fromstring(f'<g xmlns="http://www.w3.org/2000/svg">{markup}</g>')
        assert markup, name
