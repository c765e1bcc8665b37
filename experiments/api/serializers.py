"""Serializers for the experiments API: experiments with their variants, impressions, results."""

import math

from django.utils import timezone
from rest_framework import serializers

from experiments.models import Experiment, Placement, Variant
from experiments.services import ImpressionInput
from recommendations.api.serializers import ServingConfigSerializer
from shop.api.serializers import FUTURE_TIMESTAMP_TOLERANCE

MAX_IMPRESSIONS_PER_REQUEST = 100
MAX_POSITIONS = 100
MAX_WEIGHT = 1_000_000


class VariantSerializer(serializers.ModelSerializer):
    """One variant: its share of visitors and the serving config it applies."""

    key = serializers.SlugField(max_length=64)
    weight = serializers.FloatField(help_text="Relative share of entering visitors; above 0.")
    options = serializers.JSONField(required=False, default=dict, help_text='Other serving options: {"exclude_purchased": false}.')

    class Meta:
        model = Variant
        fields = ["key", "name", "weight", "is_control", "strategy", "w_content", "w_cf", "options"]
        extra_kwargs = {"strategy": {"required": True}}

    def validate_weight(self, value: float) -> float:
        if not math.isfinite(value) or value <= 0:
            raise serializers.ValidationError("Must be above 0.", code="min_value")
        if value > MAX_WEIGHT:
            raise serializers.ValidationError(f"Must be at most {MAX_WEIGHT}.", code="max_value")
        return value

    def validate(self, attrs):
        # The same serializer the list API uses: a variant can only ask for what the API can serve.
        config = ServingConfigSerializer(
            data={name: attrs[name] for name in ("strategy", "w_content", "w_cf", "options") if name in attrs}
        )
        if not config.is_valid():
            raise serializers.ValidationError(config.errors)
        return attrs


class ExperimentSerializer(serializers.ModelSerializer):
    """An experiment, its variants, and where it stands."""

    key = serializers.SlugField(max_length=64)
    variants = VariantSerializer(many=True)
    traffic = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False)
    minimum_detectable_effect = serializers.FloatField(min_value=0.001, max_value=10, required=False)

    class Meta:
        model = Experiment
        fields = [
            "key", "name", "hypothesis", "placement", "kind", "status", "started_at", "stopped_at", "traffic", "salt",
            "primary_metric", "minimum_detectable_effect", "cart_window_hours", "purchase_window_days", "variants",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["status", "started_at", "stopped_at", "created_at", "updated_at"]
        extra_kwargs = {
            "cart_window_hours": {"min_value": 1, "max_value": 24 * 90},
            "purchase_window_days": {"min_value": 1, "max_value": 365},
        }

    def validate_key(self, value: str) -> str:
        others = Experiment.objects.filter(key=value)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError(f"An experiment with key '{value}' already exists.", code="unique")
        return value


class ImpressionItemSerializer(serializers.Serializer):
    """A recommendation list the shopper saw: half of it on screen for a second."""

    request_id = serializers.RegexField(r"^[-a-zA-Z0-9_]{1,64}$", max_length=64, help_text="The list's request_id, as served.")
    placement = serializers.ChoiceField(choices=Placement.choices)
    positions = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=MAX_POSITIONS - 1), min_length=1, max_length=MAX_POSITIONS,
        help_text="Positions of the products that were at least half visible (0 = first).",
    )  # fmt: skip
    product_ids = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list, max_length=MAX_POSITIONS)
    experiment = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=64)
    variant = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=64, help_text="Informative: the server uses the stored assignment.")
    strategy = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    model_version = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**31 - 1)
    timestamp = serializers.DateTimeField(required=False, help_text="ISO 8601; defaults to now.")
    event_id = serializers.RegexField(r"^[-a-zA-Z0-9_.:]{1,64}$", max_length=64, help_text="The client's id; a replay is stored once.")

    def validate_timestamp(self, value):
        if value > timezone.now() + FUTURE_TIMESTAMP_TOLERANCE:
            raise serializers.ValidationError("Must not be in the future.", code="future_timestamp")
        return value

    def validate_positions(self, value: list[int]) -> list[int]:
        return sorted(set(value))

    def to_input(self, attrs: dict) -> ImpressionInput:
        return ImpressionInput(
            request_id=attrs["request_id"],
            placement=attrs["placement"],
            positions=attrs["positions"],
            product_ids=attrs["product_ids"],
            timestamp=attrs.get("timestamp") or timezone.now(),
            event_id=attrs["event_id"],
            experiment=attrs.get("experiment") or None,
            strategy=attrs.get("strategy") or "",
            model_version=attrs.get("model_version"),
        )


class ImpressionResultSerializer(serializers.Serializer):
    stored = serializers.IntegerField(help_text="Impressions stored now.")
    duplicates = serializers.IntegerField(help_text="Skipped: their list or event_id was recorded before.")
