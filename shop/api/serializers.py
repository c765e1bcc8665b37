"""Serializers for the catalog and interactions API: query parameters in, JSON out."""

import json
from datetime import UTC
from decimal import Decimal

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api_errors import ApiError
from shop.event_parsing import FUTURE_TIMESTAMP_TOLERANCE as FUTURE_TIMESTAMP_TOLERANCE  # re-exported: other apps import it here
from shop.event_parsing import EventTimeError, event_time_check
from shop.models import Interaction, Order, OrderLine, Product
from shop.selectors import DEFAULT_PRODUCT_ORDERING, PRODUCT_ORDERINGS, products_by_id
from shop.services import MAX_ORDER_LINES, InteractionInput, OrderLineInput

MAX_EVENTS_PER_REQUEST = 500
MAX_CONTEXT_BYTES = 2048
MAX_CONTEXT_STRING = 200
CONTEXT_STRING_KEYS = ("request_id", "placement", "strategy", "experiment", "variant")


class ProductListQuerySerializer(serializers.Serializer):
    """Query parameters of the product list."""

    category = serializers.SlugField(
        required=False, max_length=140, help_text="Category slug; products of its sub-categories are included."
    )
    min_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    max_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    in_stock = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: buyable now; false: sold out."
    )
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Words that must all appear in the title or description."
    )
    ordering = serializers.ChoiceField(
        choices=list(PRODUCT_ORDERINGS),
        required=False,
        default=DEFAULT_PRODUCT_ORDERING,
        help_text="popularity: most weighted interactions (purchase 8, add to cart 4, click 2, view 1) in the "
        "store's latest 30 days first. newest is -created_at.",
    )

    def validate(self, attrs):
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low is not None and high is not None and high < low:
            raise serializers.ValidationError({"max_price": ["Must not be less than min_price."]}, code="invalid")
        return attrs


class CategoryRefSerializer(serializers.Serializer):
    """A product's category, as the product list shows it."""

    slug = serializers.SlugField()
    name = serializers.CharField()


class ProductSerializer(serializers.ModelSerializer):
    """A product as shoppers see it, named by the store's product_id."""

    category = CategoryRefSerializer(read_only=True)
    in_stock = serializers.BooleanField(read_only=True)

    class Meta:
        model = Product
        fields = [
            "product_id",
            "title",
            "category",
            "description",
            "price",
            "currency",
            "image_url",
            "in_stock",
            "stock",
            "item_group_id",
            "created_at",
        ]
        read_only_fields = fields


class CategorySerializer(serializers.Serializer):
    """A category with its parent's slug and its counts of active products."""

    slug = serializers.SlugField()
    name = serializers.CharField()
    parent = serializers.SlugField(allow_null=True, help_text="The parent category's slug, or null at the top.")
    product_count = serializers.IntegerField(help_text="Active products here and in every sub-category.")
    direct_product_count = serializers.IntegerField(help_text="Active products filed under this category itself.")


class InteractionContextField(serializers.DictField):
    """Attribution of an event to what was shown: request_id, placement, strategy, experiment, variant, position.

    Loosely typed on purpose (clients differ): known keys are checked, other keys may hold
    plain values, and the whole object is capped in size.
    """

    def __init__(self, **kwargs):
        super().__init__(child=serializers.JSONField(), **kwargs)

    def to_internal_value(self, data):
        context = super().to_internal_value(data)
        if len(json.dumps(context)) > MAX_CONTEXT_BYTES:
            raise serializers.ValidationError(f"Must be at most {MAX_CONTEXT_BYTES} bytes of JSON.", code="too_large")
        errors = {}
        for key, value in context.items():
            if key == "position":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                    errors[key] = ["Must be a whole number, 0 or more."]
            elif key in CONTEXT_STRING_KEYS:
                if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
                    errors[key] = ["Must be a string."]
                elif isinstance(value, str) and len(value) > MAX_CONTEXT_STRING:
                    errors[key] = [f"Must be at most {MAX_CONTEXT_STRING} characters."]
            elif isinstance(value, (dict, list)):
                errors[key] = ["Must be a plain value (string, number, true/false or null), not an object or a list."]
        if errors:
            raise serializers.ValidationError(errors, code="invalid")
        return context


def event_time_validate(moment):
    """Return `moment` if an event may claim it (`shop.event_parsing`); a ValidationError otherwise."""
    try:
        return event_time_check(moment)
    except EventTimeError as error:
        raise serializers.ValidationError(f"Must not be {error}.", code=error.code) from None


class EventTimestampField(serializers.DateTimeField):
    """An ISO 8601 event time; one outside the event time bounds is refused with their error, whatever its offset."""

    def enforce_timezone(self, value):
        try:
            return super().enforce_timezone(value)
        except serializers.ValidationError:
            # Only an instant at the very edge of datetime's range (year 1 or 9999) fails to convert: far out of bounds.
            event_time_validate(value.replace(tzinfo=UTC))
            raise


class InteractionItemSerializer(serializers.Serializer):
    """One storefront event: a customer did `kind` to a product."""

    product_id = serializers.CharField(max_length=64, help_text="The store's product id, e.g. P001.")
    kind = serializers.ChoiceField(choices=Interaction.Kind.choices)
    timestamp = EventTimestampField(
        required=False,
        help_text="ISO 8601; defaults to now. Not before 2000-01-01 UTC, nor more than 15 minutes ahead of the server's clock.",
    )
    quantity = serializers.IntegerField(required=False, default=1, min_value=1, max_value=1_000_000)
    context = InteractionContextField(required=False, default=dict)
    event_id = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=64,
        help_text="The client's id for this event; an event_id already stored is skipped and counted as a duplicate.",
    )
    customer_id = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=64,
        help_text="Only for API-token clients and staff: whose event this is (created on first sight). "
        "Others always write as the current visitor.",
    )

    def validate_product_id(self, value: str) -> Product:
        product = self.context["products"].get(value)
        if product is None:
            raise serializers.ValidationError(f"Unknown product '{value}'.", code="unknown_product")
        return product

    def validate_timestamp(self, value):
        return event_time_validate(value)


class RecordResultSerializer(serializers.Serializer):
    """What a posted batch of events did."""

    stored = serializers.IntegerField(help_text="Events stored now.")
    duplicates = serializers.IntegerField(help_text="Events skipped because their event_id was stored before.")


def interaction_items_parse(*, data, may_name_customers: bool) -> list[InteractionInput]:
    """Validate an event object or a list of up to 500, resolving every product in one query.

    Errors follow the payload's shape: fields by name for one object, by item index and
    then field name for a list. Any bad item rejects the whole request.
    """
    single = isinstance(data, dict)
    if not single and not isinstance(data, list):
        raise ApiError("Send one event object or a list of event objects.", code="invalid")
    items = [data] if single else data
    if not items:
        raise ApiError("Send at least one event.", code="empty")
    if len(items) > MAX_EVENTS_PER_REQUEST:
        raise ApiError(
            f"Send at most {MAX_EVENTS_PER_REQUEST} events a request; this one has {len(items)}.", code="too_many_items"
        )
    if not may_name_customers:
        _reject_customer_ids(items, single=single)

    product_ids = [item.get("product_id") for item in items if isinstance(item, dict)]
    product_ids = [str(pid).strip() for pid in product_ids if isinstance(pid, (str, int)) and not isinstance(pid, bool)]
    context = {"products": products_by_id(product_ids=product_ids)}
    serializer = (
        InteractionItemSerializer(data=data, context=context)
        if single
        else InteractionItemSerializer(data=data, many=True, context=context)
    )
    serializer.is_valid(raise_exception=True)
    now = timezone.now()
    validated = [serializer.validated_data] if single else serializer.validated_data
    return [
        InteractionInput(
            product=attrs["product_id"],
            kind=attrs["kind"],
            timestamp=attrs.get("timestamp") or now,
            quantity=attrs["quantity"],
            context=attrs["context"],
            event_id=attrs.get("event_id") or None,
            customer_id=attrs.get("customer_id") or None,
        )
        for attrs in validated
    ]


def _reject_customer_ids(items: list, *, single: bool) -> None:
    message = "Only API-token clients and staff may set customer_id; events are recorded for the current visitor."
    bad = [index for index, item in enumerate(items) if isinstance(item, dict) and item.get("customer_id") is not None]
    if not bad:
        return
    fields = {"customer_id": [message]} if single else {str(index): {"customer_id": [message]} for index in bad}
    prefix = "customer_id" if single else f"Item {bad[0]}: customer_id"
    raise ApiError(f"{prefix}: {message}", code="customer_id_not_allowed", fields=fields, status_code=403)


class DecimalStringField(serializers.DecimalField):
    """A decimal sent as a JSON string ("19.99"), never a number: a float would not keep its cents."""

    default_error_messages = {"not_a_string": 'Send the amount as a decimal string, e.g. "19.99".'}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError(self.error_messages["not_a_string"], code="invalid")
        return super().to_internal_value(data)


class CheckoutLineSerializer(serializers.Serializer):
    """One line of the cart being checked out."""

    product_id = serializers.CharField(max_length=64, help_text="The store's product id, e.g. P001.")
    quantity = serializers.IntegerField(min_value=1, max_value=1000)
    context = InteractionContextField(
        required=False, default=dict, help_text="What led the shopper to the product; stored on its purchase event."
    )
    unit_price = DecimalStringField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        help_text=(
            "The unit price the shopper's cart showed, e.g. \"19.99\". Never charged: the order uses the product's "
            "current price, and a line where the two differ is listed in the response's `price_changes`."
        ),
    )


class CheckoutRequestSerializer(serializers.Serializer):
    """The cart to check out: each product once, with its quantity."""

    lines = CheckoutLineSerializer(many=True, allow_empty=False, max_length=MAX_ORDER_LINES)


def checkout_lines_parse(*, data) -> list[OrderLineInput]:
    """Validate a checkout body; a bad line is reported by its index and field ("Line 2: quantity: ...")."""
    if not isinstance(data, dict):
        raise ApiError("Send an object with a list of lines.", code="invalid")
    serializer = CheckoutRequestSerializer(data=data)
    if not serializer.is_valid():
        errors = serializer.errors.get("lines")
        if isinstance(errors, list) and any(isinstance(item, dict) and item for item in errors):
            errors = {index: item for index, item in enumerate(errors) if item}
        if isinstance(errors, dict) and errors and all(isinstance(key, int) for key in errors):
            index, line_errors = next(iter(sorted(errors.items())))
            if isinstance(line_errors, dict):  # a field of the line is bad
                name, messages = next(iter(line_errors.items()))
                first = messages[0] if isinstance(messages, list) else next(iter(messages.values()))[0]
                where = f"Line {index}: {name}: "
            else:  # the line itself is bad (null)
                first, where = line_errors[0], f"Line {index}: "
            if isinstance(first, list):
                first = first[0]
            fields = {"lines": {str(key): value for key, value in sorted(errors.items())}}
            others = len(errors) - 1
            message = f"{where}{first}" + (
                f" (and {others} more line{'s' if others > 1 else ''} with errors)" if others else ""
            )
            raise ApiError(message, code=getattr(first, "code", None) or "invalid", fields=fields)
        serializer.is_valid(raise_exception=True)
    return [
        OrderLineInput(
            product_id=line["product_id"].strip(), quantity=line["quantity"], context=line["context"], cart_price=line.get("unit_price")
        )
        for line in serializer.validated_data["lines"]
    ]


class OrderLineSerializer(serializers.ModelSerializer):
    """A line of a placed order."""

    product_id = serializers.CharField(source="product.product_id")
    title = serializers.CharField(source="product.title")
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        model = OrderLine
        fields = ["product_id", "title", "quantity", "unit_price", "line_total"]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    """A placed order, for the confirmation page."""

    order_number = serializers.CharField(source="number")
    lines = OrderLineSerializer(many=True)

    class Meta:
        model = Order
        fields = ["order_number", "created_at", "currency", "total", "lines"]
        read_only_fields = fields


class PriceChangeSerializer(serializers.Serializer):
    """A line whose price in the shopper's cart differs from the price the order charged."""

    product_id = serializers.CharField()
    title = serializers.CharField()
    cart_price = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="The unit price the cart sent.")
    price = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="The unit price charged: the product's current price.")


class CheckoutResponseSerializer(OrderSerializer):
    """A placed order, with the lines whose cart price was out of date; pass them as `context["price_changes"]`."""

    price_changes = serializers.SerializerMethodField(
        help_text="Lines sent with a `unit_price` other than the price charged; empty when every cart price was current."
    )

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "price_changes"]
        read_only_fields = fields

    @extend_schema_field(PriceChangeSerializer(many=True))
    def get_price_changes(self, order: Order) -> list:
        return PriceChangeSerializer(self.context["price_changes"], many=True).data
