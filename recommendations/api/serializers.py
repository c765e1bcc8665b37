"""Serializers for the recommendation API: query parameters in, lists out."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

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


class PersonalListQuerySerializer(ListQuerySerializer):
    """Query parameters of a personal list."""

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


class HybridListQuerySerializer(PersonalListQuerySerializer):
    """Query parameters of an explicit blend."""

    w_content = serializers.FloatField(
        required=False, min_value=0, max_value=1, help_text="Weight of content similarity, 0 to 1 (default: the model's)."
    )
    w_cf = serializers.FloatField(
        required=False, min_value=0, max_value=1, help_text="Weight of collaborative filtering, 0 to 1 (default: the model's)."
    )


class TrendingListQuerySerializer(ListQuerySerializer):
    """Query parameters of the trending list."""

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


class RecommendationListSerializer(serializers.Serializer):
    """A recommendation list and how it was made."""

    results = RecommendedProductSerializer(many=True)
    strategy = serializers.ChoiceField(
        choices=["content", "also_bought", "hybrid", "trending", "popular"],
        help_text="popular: no model is active yet; the store's popular products.",
    )
    model_version = serializers.IntegerField(allow_null=True, help_text="The model version that ranked the list.")
    source = serializers.ChoiceField(choices=["model", "cache"], help_text="Computed now, or read from the cache.")
    request_id = serializers.CharField(help_text="Send it back in events' context to attribute clicks and purchases.")
