"""Reads for the recommendations dashboard: what the carousels showed, what shoppers clicked, what it earned.

Every figure is a SQL aggregate over stored rows (the same on SQLite and PostgreSQL), grouped
by placement or strategy; nothing loops over events in Python.

- impressions: ``Impression`` rows (lists a shopper actually saw), by their placement / strategy;
- clicks: click events whose context names the placement / strategy;
- attributed revenue: order lines (quantity x unit price) of a product the same customer
  clicked in a recommendation list (the click's context has a request id) within
  ``ATTRIBUTION_DAYS`` before the order. Each line counts once: by placement or strategy
  it goes to the latest such click that names one (last-click attribution).

QA previews (request ids starting ``qa-``) are staff looking at a list, not shoppers: they never count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import (
    CharField,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from experiments.models import Impression
from experiments.serving import QA_REQUEST_PREFIX
from recommendations.models import ModelVersion
from shop.models import Interaction, OrderLine

DASHBOARD_DAYS = 30
ATTRIBUTION_DAYS = 7
MODEL_VERSIONS_SHOWN = 20
NDCG_STRATEGIES = ("hybrid", "cf", "content")
DIMENSIONS = ("placement", "strategy")
MONEY = DecimalField(max_digits=18, decimal_places=2)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class TrafficRow:
    """One placement's or strategy's recommendation traffic and what followed it."""

    key: str
    impressions: int
    clicks: int
    revenue: Decimal

    @property
    def ctr(self) -> float | None:
        """Clicks per impression (a list seen counts once, however many products it showed)."""
        return self.clicks / self.impressions if self.impressions else None


@dataclass(frozen=True)
class RevenueShare:
    attributed: Decimal
    total: Decimal

    @property
    def share(self) -> float | None:
        return float(self.attributed / self.total) if self.total else None


@dataclass(frozen=True)
class ModelQuality:
    """A model version's offline nDCG@k per strategy (None where it was not measured)."""

    version: ModelVersion
    k: int
    ndcg: dict[str, float | None]


def dashboard_window(*, now: datetime | None = None, days: int = DASHBOARD_DAYS) -> Window:
    """The last ``days`` days up to now."""
    end = now or timezone.now()
    return Window(start=end - timedelta(days=days), end=end)


def _context_text(key: str) -> Cast:
    """A key of an event's context as text; cast so that comparisons are plain text ones on every database."""
    return Cast(KT(f"context__{key}"), output_field=CharField())


def _line_revenue():
    return ExpressionWrapper(F("quantity") * F("unit_price"), output_field=MONEY)


def _recommendation_clicks() -> QuerySet:
    """Click events that came from a recommendation list shown to a shopper (not a QA preview)."""
    return (
        Interaction.objects.filter(kind=Interaction.Kind.CLICK)
        .annotate(request_id=_context_text("request_id"))
        .filter(request_id__isnull=False)
        .exclude(request_id="")
        .exclude(request_id__startswith=QA_REQUEST_PREFIX)
    )


def _attributable_clicks() -> QuerySet:
    """Recommendation clicks by the order line's customer on its product within the attribution window."""
    order_time = OuterRef("order__created_at")
    return _recommendation_clicks().filter(
        customer_id=OuterRef("order__customer_id"),
        product_id=OuterRef("product_id"),
        timestamp__lte=order_time,
        timestamp__gte=ExpressionWrapper(order_time - timedelta(days=ATTRIBUTION_DAYS), output_field=DateTimeField()),
    )


def _order_lines(window: Window) -> QuerySet:
    return OrderLine.objects.filter(order__created_at__gte=window.start, order__created_at__lte=window.end)


def recommendation_traffic(*, by: str, window: Window) -> list[TrafficRow]:
    """Impressions, clicks, CTR and attributed revenue per placement or strategy (``by``), most impressions first."""
    if by not in DIMENSIONS:
        raise ValueError(f"by must be one of {', '.join(DIMENSIONS)}")
    impressions = dict(
        Impression.objects.filter(timestamp__gte=window.start, timestamp__lte=window.end)
        .exclude(request_id__startswith=QA_REQUEST_PREFIX)
        .exclude(**{by: ""})
        .values_list(by)
        .annotate(n=Count("id"))
        .values_list(by, "n")
    )
    clicks = dict(
        Interaction.objects.filter(kind=Interaction.Kind.CLICK, timestamp__gte=window.start, timestamp__lte=window.end)
        .annotate(key=_context_text(by), request_id=_context_text("request_id"))
        .filter(key__isnull=False)
        .exclude(key="")
        .filter(Q(request_id__isnull=True) | ~Q(request_id__startswith=QA_REQUEST_PREFIX))
        .values_list("key")
        .annotate(n=Count("id"))
        .values_list("key", "n")
    )
    latest_click = (
        _attributable_clicks()
        .annotate(key=_context_text(by))
        .filter(key__isnull=False)
        .exclude(key="")
        .order_by("-timestamp", "-id")
        .values("key")[:1]
    )
    revenue = dict(
        _order_lines(window)
        .annotate(key=Subquery(latest_click))
        .filter(key__isnull=False)
        .values_list("key")
        .annotate(revenue=Sum(_line_revenue()))
        .values_list("key", "revenue")
    )
    keys = set(impressions) | set(clicks) | set(revenue)
    rows = [
        TrafficRow(
            key=str(key),
            impressions=int(impressions.get(key, 0)),
            clicks=int(clicks.get(key, 0)),
            revenue=Decimal(revenue.get(key) or 0).quantize(Decimal("0.01")),
        )
        for key in keys
    ]
    return sorted(rows, key=lambda row: (-row.impressions, -row.clicks, row.key))


def recommendation_revenue_share(*, window: Window) -> RevenueShare:
    """Revenue of order lines that followed a recommendation click, against all order revenue, in the window."""
    totals = _order_lines(window).aggregate(
        total=Coalesce(Sum(_line_revenue()), Decimal("0"), output_field=MONEY),
        attributed=Coalesce(Sum(_line_revenue(), filter=Q(Exists(_attributable_clicks()))), Decimal("0"), output_field=MONEY),
    )
    return RevenueShare(
        attributed=Decimal(totals["attributed"]).quantize(Decimal("0.01")),
        total=Decimal(totals["total"]).quantize(Decimal("0.01")),
    )


def model_quality_history(*, limit: int = MODEL_VERSIONS_SHOWN) -> list[ModelQuality]:
    """Offline nDCG@k per strategy of the latest ``limit`` trained versions, oldest first."""
    versions = list(
        ModelVersion.objects.exclude(status__in=[ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED])
        .order_by("-created_at", "-id")
        .only("id", "status", "created_at", "metrics")[:limit]
    )
    history = []
    for version in reversed(versions):
        metrics = version.metrics or {}
        results = metrics.get("results") or {}
        ndcg = {}
        for strategy in NDCG_STRATEGIES:
            value = (results.get(strategy) or {}).get("ndcg")
            ndcg[strategy] = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        history.append(ModelQuality(version=version, k=int(metrics.get("k") or 10), ndcg=ndcg))
    return history
