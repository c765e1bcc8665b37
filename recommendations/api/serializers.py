"""Serializers for the recommendation API: query parameters in, lists out."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from experiments.models import Placement

MAX_K = 100
DEFAULT_K = 10
MAX_EXCLUDED = 100
PRODUCT_ID_MAX_LENGTH = 64


@extend_schema_field(OpenApiTypes.STR)
class ProductIdListField(serializers.Field):
    """Product ids, comma-separated and/or repeated (`exclude=P1,P2&exclude=P3`); at most 100."""

    default_error_messages = {
        "invalid": "Expected product ids separated by commas.",
        "too_many": f"At most {MAX_EXCLUDED} product ids.",
        "too_long": f"Product ids are at most {PRODUCT_ID_MAX_LENGTH} characters.",
    }

    def get_value(self, dictionary):
        if hasattr(dictionary, "getlist"):
            values = dictionary.getlist(self.field_name)
            return ",".join(values) if values else serializers.empty
        return super().get_value(dictionary)

    def to_internal_value(self, data) -> list[str]:
        if not isinstance(data, str):
            self.fail("invalid")
        ids = list(dict.fromkeys(part.strip() for part in data.split(",") if part.strip()))
        if len(ids) > MAX_EXCLUDED:
            self.fail("too_many")
        if any(len(product_id) > PRODUCT_ID_MAX_LENGTH for product_id in ids):
            self.fail("too_long")
        return ids

    def to_representation(self, value):
        return ",".join(value)


class ListQuerySerializer(serializers.Serializer):
    """Query parameters every list takes: how many products, and which to leave out."""

    k = serializers.IntegerField(
        min_value=1, max_value=MAX_K, default=DEFAULT_K, help_text=f"How many products, 1 to {MAX_K}."
    )
    exclude = ProductIdListField(
        required=False, default=list, help_text="Product ids never to return, comma-separated (at most 100)."
    )


class PlacedListQuerySerializer(ListQuerySerializer):
    """Query parameters of a list shown in a storefront placement, where an experiment may run."""

    default_placement = ""

    placement = serializers.ChoiceField(
        choices=Placement.choices, required=False, help_text="Where the list is shown; an experiment running there decides the list."
    )
    variant = serializers.RegexField(
        r"^[-a-zA-Z0-9_]{1,64}:[-a-zA-Z0-9_]{1,64}$",
        required=False,
        max_length=129,
        help_text="Staff and API-token clients only: `<experiment>:<variant>` shows that variant (QA); never stored or counted.",
    )

    def validate(self, attrs):
        attrs.setdefault("placement", self.default_placement)
        return attrs


class ProductListQuerySerializer(PlacedListQuerySerializer):
    """Query parameters of a product page's list."""


class SimilarListQuerySerializer(ProductListQuerySerializer):
    default_placement = Placement.PRODUCT_SIMILAR


class AlsoBoughtListQuerySerializer(ProductListQuerySerializer):
    default_placement = Placement.PRODUCT_ALSO_BOUGHT


class CustomerListQuerySerializer(ListQuerySerializer):
    """Query parameters naming whose list, and the page's product."""

    customer_id = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="Whose list. Only API-token clients and staff may name another customer; "
        "visitors get their own list.",
    )
    product_id = serializers.CharField(
        required=False, allow_blank=True, max_length=PRODUCT_ID_MAX_LENGTH, help_text="The product on the page, if any."
    )


class PersonalListQuerySerializer(CustomerListQuerySerializer, PlacedListQuerySerializer):
    """Query parameters of a personal list."""

    default_placement = Placement.HOME_FOR_YOU


def blend_weight_field(what: str) -> serializers.FloatField:
    """A blend weight, 0 to 1; absent or null means the model's own (the API's and experiment variants' rule)."""
    return serializers.FloatField(
        required=False, allow_null=True, min_value=0, max_value=1, help_text=f"Weight of {what}, 0 to 1 (default: the model's)."
    )


class HybridListQuerySerializer(CustomerListQuerySerializer):
    """Query parameters of an explicit blend (never part of an experiment: the caller chose the weights)."""

    w_content = blend_weight_field("content similarity")
    w_cf = blend_weight_field("collaborative filtering")


SERVING_STRATEGIES = ["hybrid", "content", "cf", "trending", "popular"]
SERVING_OPTIONS = {"exclude_purchased": bool}


class ServingConfigSerializer(serializers.Serializer):
    """How a list is made: the strategy, its blend weights and other engine options (experiment variants)."""

    strategy = serializers.ChoiceField(choices=SERVING_STRATEGIES)
    w_content = blend_weight_field("content similarity")
    w_cf = blend_weight_field("collaborative filtering")
    options = serializers.DictField(
        required=False, default=dict, help_text='Other serving options: {"exclude_purchased": true|false}.'
    )

    def validate_options(self, value: dict) -> dict:
        errors = {}
        for name, option in value.items():
            wanted = SERVING_OPTIONS.get(name)
            if wanted is None:
                errors[name] = [f"Unknown option; known: {', '.join(sorted(SERVING_OPTIONS))}."]
            elif not isinstance(option, wanted):
                errors[name] = [f"Must be {wanted.__name__}."]
        if errors:
            raise serializers.ValidationError(errors)
        return value


class TrendingListQuerySerializer(PlacedListQuerySerializer):
    """Query parameters of the trending list."""

    default_placement = Placement.HOME_TRENDING

    category = serializers.SlugField(
        required=False, max_length=140, help_text="Category slug; its sub-categories' products are included."
    )


class RecommendedProductSerializer(serializers.Serializer):
    """One recommended product, with why it is there."""

    product_id = serializers.CharField()
    title = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    image_url = serializers.CharField()
    category = serializers.CharField(help_text="The category's name.")
    score = serializers.FloatField(help_text="Higher is better; comparable within one list only.")
    reason = serializers.CharField(help_text='For shoppers, e.g. "Because you viewed Trail Running Shoes".')
    team = serializers.ChoiceField(
        choices=["A", "B"], required=False,
        help_text="Interleaving experiments only: the variant whose ranking placed the product (A: the control). "
        "Send it back in the click's context.",
    )  # fmt: skip


class RecommendationListSerializer(serializers.Serializer):
    """A recommendation list and how it was made."""

    results = RecommendedProductSerializer(many=True)
    strategy = serializers.ChoiceField(
        choices=["content", "also_bought", "hybrid", "cf", "trending", "popular", "interleaved"],
        help_text="popular: no model is active yet; the store's popular products.",
    )
    model_version = serializers.IntegerField(allow_null=True, help_text="The model version that ranked the list.")
    source = serializers.ChoiceField(choices=["model", "cache"], help_text="Computed now, or read from the cache.")
    request_id = serializers.CharField(help_text="Send it back in events' context to attribute clicks and purchases.")
    experiment = serializers.CharField(allow_null=True, help_text="The experiment that decided this list, or null.")
    variant = serializers.CharField(
        allow_null=True, help_text="The experiment's variant this visitor sees; null outside experiments and in interleaving ones."
    )
