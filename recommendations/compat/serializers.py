"""The Flask engine's query parameters, list shapes and feedback format."""

from rest_framework import serializers

from recommendations.api.serializers import DEFAULT_K, MAX_K
from shop.api.serializers import event_time_validate
from shop.event_parsing import kind_parse, timestamp_parse
from shop.models import Product


class TopKQuerySerializer(serializers.Serializer):
    """How many products (the Flask engine's `top_k`)."""

    top_k = serializers.IntegerField(min_value=1, max_value=MAX_K, default=DEFAULT_K)


class UserQuerySerializer(TopKQuerySerializer):
    """An optional user and page product."""

    user_id = serializers.CharField(required=False, allow_blank=True, max_length=64)
    product_id = serializers.CharField(required=False, allow_blank=True, max_length=64)


class HybridQuerySerializer(UserQuerySerializer):
    """An explicit blend."""

    w_content = serializers.FloatField(required=False, min_value=0, max_value=1)
    w_cf = serializers.FloatField(required=False, min_value=0, max_value=1)


class AbQuerySerializer(UserQuerySerializer):
    """The A/B path needs the user; the experiment defaults to the one on the home page's personal list."""

    user_id = serializers.CharField(max_length=64)
    experiment = serializers.SlugField(required=False, max_length=64, help_text="An experiment's key (default: the one running on home_for_you).")


class CompatItemSerializer(serializers.Serializer):
    """One product as the Flask engine listed it."""

    product_id = serializers.CharField()
    title = serializers.CharField()
    score = serializers.FloatField()


class CompatListSerializer(serializers.Serializer):
    """A list in the Flask engine's shape."""

    source = serializers.ChoiceField(choices=["model", "cache"], help_text="`cache` when the list was read from the cache.")
    results = CompatItemSerializer(many=True)


class CompatAbSerializer(CompatListSerializer):
    """A list and the experiment variant that made it."""

    variant = serializers.CharField(allow_null=True, help_text="The user's variant, or null when no experiment runs.")
    experiment = serializers.CharField(allow_null=True)
    request_id = serializers.CharField()


class FeedbackSerializer(serializers.Serializer):
    """One event in the Flask engine's feedback format."""

    user_id = serializers.CharField(max_length=64)
    product_id = serializers.CharField(max_length=64)
    action = serializers.CharField(max_length=32, help_text="view, click, add_to_cart, purchase, or an alias (clicked, cart, order, ...).")
    ts = serializers.JSONField(
        required=False,
        help_text="ISO 8601 or unix seconds; default now. Not before 2000-01-01 UTC, nor more than 15 minutes ahead.",
    )

    def validate_product_id(self, value: str) -> Product:
        product = Product.objects.filter(product_id=value).first()
        if product is None:
            raise serializers.ValidationError(f"Unknown product '{value}'.", code="unknown_product")
        return product

    def validate_action(self, value: str) -> str:
        try:
            return kind_parse(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc), code="invalid_choice") from None

    def validate_ts(self, value):
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise serializers.ValidationError("Expected ISO 8601 or unix seconds.", code="invalid")
        try:
            moment = timestamp_parse(str(value).strip())
        except ValueError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None
        return event_time_validate(moment)
