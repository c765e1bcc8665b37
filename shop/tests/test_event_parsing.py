import pytest

from shop.event_parsing import kind_parse


@pytest.mark.parametrize("kind", ["view", "click", "add_to_cart", "purchase"])
def test_canonical_kinds_parse_to_themselves(kind):
    assert kind_parse(kind) == kind


@pytest.mark.parametrize(
    ("alias", "kind"),
    [
        ("viewed", "view"),
        ("view_item", "view"),
        ("clicked", "click"),
        ("cart", "add_to_cart"),
        ("add-to-cart", "add_to_cart"),
        ("addtocart", "add_to_cart"),
        ("order", "purchase"),
        ("buy", "purchase"),
        ("bought", "purchase"),
        ("purchased", "purchase"),
    ],
)
def test_aliases_map_to_the_canonical_kind(alias, kind):
    assert kind_parse(alias) == kind


@pytest.mark.parametrize(("value", "kind"), [("CLICKED", "click"), (" Add-To-Cart ", "add_to_cart"), ("View Item", "view")])
def test_case_spaces_and_hyphens_do_not_matter(value, kind):
    assert kind_parse(value) == kind


def test_the_result_is_a_plain_string():
    assert type(kind_parse("clicked")) is str


def test_unknown_kind_names_the_value_and_the_canonical_kinds():
    with pytest.raises(ValueError) as error:
        kind_parse("sneeze")
    assert str(error.value) == (
        "unknown interaction kind 'sneeze' (expected view, click, add_to_cart, purchase or an alias such as clicked, cart, order)"
    )


@pytest.mark.parametrize("value", ["", "   ", None])
def test_empty_kind_is_refused(value):
    with pytest.raises(ValueError, match="interaction kind is empty"):
        kind_parse(value)
