"""The interaction-kind vocabulary: the four canonical kinds and the names older systems used for them."""

from shop.models import Interaction

KIND_ALIASES: dict[str, Interaction.Kind] = {
    "viewed": Interaction.Kind.VIEW,
    "view_item": Interaction.Kind.VIEW,
    "clicked": Interaction.Kind.CLICK,
    "cart": Interaction.Kind.ADD_TO_CART,
    "addtocart": Interaction.Kind.ADD_TO_CART,
    "added_to_cart": Interaction.Kind.ADD_TO_CART,
    "order": Interaction.Kind.PURCHASE,
    "buy": Interaction.Kind.PURCHASE,
    "bought": Interaction.Kind.PURCHASE,
    "purchased": Interaction.Kind.PURCHASE,
}

_KIND_BY_NAME: dict[str, str] = {kind.value: kind.value for kind in Interaction.Kind} | {
    alias: kind.value for alias, kind in KIND_ALIASES.items()
}


def kind_parse(value: str) -> str:
    """Return the canonical kind for a kind or alias, in any case and with `-` or spaces for `_`.

    Raises ValueError with a reason a person can act on.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError("interaction kind is empty")
    name = value.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return _KIND_BY_NAME[name]
    except KeyError:
        canonical = ", ".join(Interaction.Kind.values)
        raise ValueError(
            f"unknown interaction kind {value.strip()!r} (expected {canonical} or an alias such as clicked, cart, order)"
        ) from None
