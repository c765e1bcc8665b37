"""A/B experiments of recommendation strategies: who sees which variant, and what they were shown.

An experiment runs on one storefront placement (a carousel). A visitor enters it at the
first list served there (the exposure), when an ``Assignment`` row records the variant
for good; what they saw (``Impression``) and what they did afterwards (clicks carrying the
list's request id, then add-to-cart and orders of the clicked products) are counted per
variant by :mod:`experiments.selectors`.
"""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from shop.models import Customer


class Placement(models.TextChoices):
    """The storefront's recommendation carousels; each list endpoint has one as its default."""

    HOME_FOR_YOU = "home_for_you", "Home: recommended for you"
    HOME_TRENDING = "home_trending", "Home: trending now"
    PRODUCT_SIMILAR = "product_similar", "Product page: similar products"
    PRODUCT_ALSO_BOUGHT = "product_also_bought", "Product page: customers also bought"
    CART_FOR_YOU = "cart_for_you", "Cart: suggestions"
    ORDER_FOR_YOU = "order_for_you", "Order confirmation: suggestions"


class Experiment(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        STOPPED = "stopped", "Stopped"

    class Kind(models.TextChoices):
        AB = "ab", "A/B test"
        INTERLEAVING = "interleaving", "Interleaving (team draft)"

    class Metric(models.TextChoices):
        CTR = "ctr", "Click-through rate"
        ADD_TO_CART_RATE = "add_to_cart_rate", "Add-to-cart rate"
        CONVERSION = "conversion", "Conversion"
        REVENUE_PER_VISITOR = "revenue_per_visitor", "Revenue per visitor"

    key = models.SlugField(max_length=64, unique=True, help_text="Stable id used in the API, events and reports.")
    name = models.CharField(max_length=120)
    hypothesis = models.TextField(blank=True, help_text="What you expect to happen, and why.")
    placement = models.CharField(max_length=32, choices=Placement.choices)
    kind = models.CharField(
        max_length=16, choices=Kind.choices, default=Kind.AB,
        help_text="A/B: each visitor sees one variant. Interleaving: each visitor sees one list merging the two "
        "variants' rankings, and each click is credited to the variant that placed the product.",
    )  # fmt: skip
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    traffic = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("100"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Percent of visitors of the placement who enter the experiment (0 to 100).",
    )
    salt = models.CharField(
        max_length=64, blank=True, help_text="Hash salt; empty means the key. A new salt reshuffles who enters."
    )
    primary_metric = models.CharField(max_length=24, choices=Metric.choices, default=Metric.CTR)
    minimum_detectable_effect = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.001), MaxValueValidator(10)],
        help_text="Smallest relative lift worth detecting (0.1 = 10 %), for the planner and the sequential decision.",
    )
    cart_window_hours = models.PositiveIntegerField(
        default=24, validators=[MinValueValidator(1)], help_text="An add-to-cart counts when it follows a click within this many hours."
    )
    purchase_window_days = models.PositiveIntegerField(
        default=7, validators=[MinValueValidator(1)], help_text="An order counts when it follows a click within this many days."
    )
    results_snapshot = models.JSONField(
        null=True, blank=True, editable=False, help_text="The results as they stood when the experiment was stopped."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["placement"], condition=Q(status="running"), name="experiment_one_running_per_placement"
            ),
            models.CheckConstraint(condition=Q(traffic__gte=0, traffic__lte=100), name="experiment_traffic_percent"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "running", "paused", "stopped"]), name="experiment_status_valid"
            ),
            models.CheckConstraint(condition=Q(minimum_detectable_effect__gt=0), name="experiment_mde_positive"),
            models.CheckConstraint(condition=Q(kind__in=["ab", "interleaving"]), name="experiment_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def hash_salt(self) -> str:
        return self.salt or self.key

    @property
    def is_interleaving(self) -> bool:
        return self.kind == self.Kind.INTERLEAVING


class Variant(models.Model):
    class Strategy(models.TextChoices):
        HYBRID = "hybrid", "Hybrid (content + collaborative)"
        CONTENT = "content", "Content similarity"
        CF = "cf", "Collaborative filtering"
        TRENDING = "trending", "Trending"
        POPULAR = "popular", "Popular (no model)"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    key = models.SlugField(max_length=64)
    name = models.CharField(max_length=120, blank=True)
    weight = models.FloatField(default=1.0, help_text="Share of entering visitors, relative to the other variants (> 0).")
    is_control = models.BooleanField(default=False)
    strategy = models.CharField(max_length=16, choices=Strategy.choices, default=Strategy.HYBRID)
    w_content = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Weight of content similarity (hybrid only); empty means the model's own.",
    )  # fmt: skip
    w_cf = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Weight of collaborative filtering (hybrid only); empty means the model's own.",
    )  # fmt: skip
    options = models.JSONField(default=dict, blank=True, help_text='Other serving options, e.g. {"exclude_purchased": false}.')

    class Meta:
        ordering = ["experiment", "-is_control", "id"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "key"], name="variant_key_unique_per_experiment"),
            models.UniqueConstraint(
                fields=["experiment"], condition=Q(is_control=True), name="variant_one_control_per_experiment"
            ),
            models.CheckConstraint(condition=Q(weight__gt=0), name="variant_weight_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.experiment_id}:{self.key}"

    @property
    def serving_config(self) -> dict:
        """The list options this variant applies (the shape ServingConfigSerializer validates)."""
        config = {"strategy": self.strategy, "options": dict(self.options or {})}
        if self.w_content is not None:
            config["w_content"] = self.w_content
        if self.w_cf is not None:
            config["w_cf"] = self.w_cf
        return config


class Assignment(models.Model):
    """A visitor's variant in an experiment, stored at their first exposure and never moved.

    In an interleaving experiment every visitor who enters sees both variants merged, so the
    assignment records only that they entered (no variant).
    """

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="assignments")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="assignments", db_index=False)
    variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.RESTRICT, related_name="assignments")
    assigned_at = models.DateTimeField(db_index=True)
    request_id = models.CharField(max_length=64, help_text="The list served at the first exposure.")

    class Meta:
        ordering = ["experiment", "assigned_at", "id"]
        constraints = [models.UniqueConstraint(fields=["customer", "experiment"], name="assignment_one_per_experiment")]
        indexes = [models.Index(fields=["experiment", "variant"], name="assignment_experiment_variant")]

    def __str__(self) -> str:
        return f"{self.customer_id} -> {self.variant_id}"


class Impression(models.Model):
    """A recommendation list a shopper actually saw (half visible for a second), once per list.

    Kept apart from ``shop.Interaction`` on purpose: an impression is not interest in a
    product, so training, trending and personal histories must never read it, and there are
    ten or more of them for every click.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="impressions", db_index=False)
    request_id = models.CharField(max_length=64, help_text="The list's request id, as served.")
    placement = models.CharField(max_length=32)
    experiment = models.ForeignKey(Experiment, null=True, blank=True, on_delete=models.CASCADE, related_name="impressions")
    variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.RESTRICT, related_name="impressions")
    strategy = models.CharField(max_length=32, blank=True)
    model_version = models.PositiveIntegerField(null=True, blank=True)
    positions = models.JSONField(default=list, help_text="Positions of the products that were visible (0 = first).")
    product_ids = models.JSONField(default=list, blank=True)
    timestamp = models.DateTimeField()
    event_id = models.CharField(max_length=64, help_text="Client id; a replayed impression is stored once.")

    class Meta:
        ordering = ["-timestamp", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event_id"], name="impression_event_id_unique"),
            models.UniqueConstraint(fields=["request_id"], name="impression_request_id_unique"),
        ]
        indexes = [
            models.Index(fields=["customer", "-timestamp"], name="impression_customer_latest"),
            models.Index(fields=["experiment", "customer"], name="impression_experiment_customer"),
            models.Index(fields=["placement", "timestamp"], name="impression_placement_time"),
        ]

    def __str__(self) -> str:
        return f"{self.placement} {self.request_id}"
