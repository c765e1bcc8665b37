"""The model registry (one row per training run) and the tunables staff edit in the admin."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class RecommenderSettings(models.Model):
    """Training and serving tunables; the next training run reads them and records them on its version."""

    view_weight = models.FloatField(default=1.0, validators=[MinValueValidator(0)])
    click_weight = models.FloatField(default=2.0, validators=[MinValueValidator(0)])
    add_to_cart_weight = models.FloatField(default=4.0, validators=[MinValueValidator(0)])
    purchase_weight = models.FloatField(default=8.0, validators=[MinValueValidator(0)])
    cf_half_life_days = models.FloatField(
        null=True, blank=True, default=30.0, validators=[MinValueValidator(0.1)],
        help_text="Older interactions count less for collaborative filtering; empty means no decay.",
    )
    trending_half_life_days = models.FloatField(default=7.0, validators=[MinValueValidator(0.1)])
    content_neighbors_k = models.PositiveIntegerField(
        default=50, validators=[MinValueValidator(5), MaxValueValidator(500)],
        help_text="Neighbours kept per product for 'Similar products' and 'Customers also bought'.",
    )
    cf_neighbors_k = models.PositiveIntegerField(
        default=100, validators=[MinValueValidator(5), MaxValueValidator(1000)],
        help_text="Neighbours kept per product by item-based collaborative filtering.",
    )
    w_content = models.FloatField(default=0.3, validators=[MinValueValidator(0), MaxValueValidator(1)])
    w_cf = models.FloatField(default=0.7, validators=[MinValueValidator(0), MaxValueValidator(1)])
    min_interactions = models.PositiveIntegerField(
        default=2, help_text="Customers with fewer distinct products are left out of collaborative training."
    )
    exclude_purchased = models.BooleanField(default=True, help_text="Never recommend what the customer already bought.")
    diversity = models.FloatField(
        default=0.2, validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=(
            "How strongly personal and 'Similar products' lists avoid near-identical products (maximal marginal "
            "relevance over product text): 0 turns it off (pure relevance), 0.2 is mild, 1 ignores relevance after "
            "the first item. Trending and 'Customers also bought' are not re-ranked. Takes effect at the next training."
        ),
    )
    category_cap = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)],
        help_text=(
            "At most this many products of one category in a personal or 'Similar products' list, unless too few "
            "others are left to fill it; 0 means no cap. Takes effect at the next training."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "recommender settings"
        verbose_name_plural = "recommender settings"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="recommender_settings_singleton"),
            models.CheckConstraint(condition=Q(w_content__gte=0, w_cf__gte=0), name="recommender_weights_non_negative"),
            models.CheckConstraint(condition=Q(diversity__gte=0, diversity__lte=1), name="recommender_diversity_0_to_1"),
        ]

    def __str__(self) -> str:
        return "Recommender settings"

    @classmethod
    def load(cls) -> "RecommenderSettings":
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings

    @property
    def event_weights(self) -> dict[str, float]:
        return {
            "view": self.view_weight,
            "click": self.click_weight,
            "add_to_cart": self.add_to_cart_weight,
            "purchase": self.purchase_weight,
        }


class ModelVersion(models.Model):
    """One training run and, when it succeeded, its artifact."""

    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    class Trigger(models.TextChoices):
        COMMAND = "command", "Command"
        ADMIN = "admin", "Admin"
        SCHEDULE = "schedule", "Schedule"
        TASK = "task", "Task"

    run_key = models.CharField(max_length=64, unique=True, help_text="Identifies the request; a redelivered task finds its run.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRAINING)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.TASK)
    created_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of a running training.")
    finished_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    product_count = models.PositiveIntegerField(default=0)
    customer_count = models.PositiveIntegerField(default=0)
    interaction_count = models.PositiveBigIntegerField(default=0)
    params = models.JSONField(default=dict, blank=True)
    step_seconds = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    cf_algorithm = models.CharField(max_length=32, blank=True)
    artifact = models.FileField(upload_to="models/", blank=True)
    artifact_bytes = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="one_active_model_version"),
            models.UniqueConstraint(fields=["status"], condition=Q(status="training"), name="one_training_run"),
        ]

    def __str__(self) -> str:
        return f"v{self.pk} ({self.get_status_display().lower()})"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.created_at).total_seconds()

    @property
    def can_be_activated(self) -> bool:
        return self.status in {self.Status.READY, self.Status.RETIRED} and bool(self.artifact)
