"""Experiments in the admin: set one up, start / pause / stop it, read its results; and the recommendations dashboard.

Every write goes through :mod:`experiments.services`, so the admin refuses what the API
refuses with the same words; the forms check the same rules first, so a bad variant set is
shown as a form error and nothing is saved.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from config.api_errors import ApiError
from experiments import charts
from experiments.dashboard import (
    NDCG_STRATEGIES,
    dashboard_window,
    model_quality_history,
    recommendation_revenue_share,
    recommendation_traffic,
)
from experiments.models import Experiment, Placement, Variant
from experiments.results import experiment_results
from experiments.services import (
    VARIANT_FIELDS,
    experiment_create,
    experiment_pause,
    experiment_start,
    experiment_stop,
    experiment_update,
    variant_set_errors,
)
from recommendations.api.serializers import ServingConfigSerializer

CONFIG_FORM_FIELDS = ("is_control", "strategy", "w_content", "w_cf", "options")
FROZEN_EXPERIMENT_FIELDS = ("key", "placement", "salt", "kind")
STATUS_COLOURS = {"draft": "#616161", "running": "#2e7d32", "paused": "#ef6c00", "stopped": "#c62828"}
CHANGE_PERMISSION = "experiments.change_experiment"
ADD_PERMISSION = "experiments.add_experiment"
VIEW_PERMISSION = "experiments.view_experiment"


def _stop_with_results(*, experiment: Experiment) -> Experiment:
    """Stop for good, freezing the results as they stand (what the API's stop does too)."""
    return experiment_stop(experiment=experiment, results=lambda stopped: experiment_results(experiment=stopped))


# name: (service, label on the button, verb in messages, states it applies to)
TRANSITIONS: dict[str, tuple[Callable[..., Experiment], str, str, tuple[str, ...]]] = {
    "start": (experiment_start, "Start", "started", ("draft", "paused")),
    "pause": (experiment_pause, "Pause", "paused", ("running",)),
    "stop": (_stop_with_results, "Stop for good", "stopped", ("running", "paused")),
}


# Variants ----------------------------------------------------------------------------------


class VariantForm(forms.ModelForm):
    """One variant; its serving config is checked by the same serializer the API uses."""

    class Meta:
        model = Variant
        fields = list(VARIANT_FIELDS)

    def clean_weight(self):
        weight = self.cleaned_data.get("weight")
        if weight is not None and not weight > 0:
            raise ValidationError("The weight must be greater than 0.", code="weight_not_positive")
        return weight

    def clean(self):
        cleaned = super().clean()
        if "strategy" not in self.fields or "strategy" not in cleaned:
            return cleaned  # read-only once started, or already refused as an unknown choice
        config = {"strategy": cleaned["strategy"], "options": cleaned.get("options") or {}}
        for name in ("w_content", "w_cf"):
            if cleaned.get(name) is not None:
                config[name] = cleaned[name]
        serializer = ServingConfigSerializer(data=config)
        if not serializer.is_valid():
            for name, errors in serializer.errors.items():
                field = name if name in self.fields and name not in self.errors else None
                for message in _flatten(errors):
                    self.add_error(field, f"{name}: {message}" if field is None else message)
        return cleaned


def _flatten(errors, prefix: str = "") -> list[str]:
    """DRF's nested error lists and dicts as lines ("exclude_purchasedx: Unknown option ...")."""
    if isinstance(errors, dict):
        return [line for key, value in errors.items() for line in _flatten(value, f"{prefix}{key}: ")]
    if isinstance(errors, (list, tuple)):
        return [line for value in errors for line in _flatten(value, prefix)]
    return [f"{prefix}{errors}"]


class VariantFormSet(BaseInlineFormSet):
    """The variants as a set: two or more (exactly two for interleaving), one control, unique keys (``variant_set_errors``).

    The experiment's kind is the one on the form: the admin validates the experiment form before
    its inline formsets, and the form has put its cleaned ``kind`` on ``self.instance`` by then
    (read-only once started: the stored kind).
    """

    def alive_forms(self) -> list[forms.ModelForm]:
        """The forms that stand for a variant after this save: not deleted, not an untouched blank row."""
        alive = []
        for form in self.forms:
            if self.can_delete and self._should_delete_form(form):
                continue
            if form.instance.pk is None and not form.has_changed():
                continue
            alive.append(form)
        return alive

    def variant_values(self, form: forms.ModelForm) -> dict:
        """The variant's fields as the service takes them: submitted values over the stored (read-only) ones."""
        cleaned = getattr(form, "cleaned_data", None) or {}
        values = {name: getattr(form.instance, name) for name in VARIANT_FIELDS}
        values.update({name: cleaned[name] for name in VARIANT_FIELDS if name in cleaned})
        values["options"] = values.get("options") or {}
        return values

    def variants(self) -> list[dict]:
        return [self.variant_values(form) for form in self.alive_forms()]

    def clean(self):
        # Not BaseModelFormSet.clean(): its uniqueness check would repeat variant_set_errors' duplicate-key message.
        errors = variant_set_errors(self.variants(), kind=self.experiment_kind())
        lines = [message for field_messages in errors.values() for message in field_messages]
        if lines:
            raise ValidationError(lines, code="invalid_variant_set")

    def experiment_kind(self) -> str:
        return getattr(self.instance, "kind", None) or Experiment.Kind.AB

    def record_saved(self, experiment: Experiment) -> None:
        """Fill in what ``formset.save()`` would have, for the admin's history message."""
        by_key = {variant.key: variant for variant in experiment.variants.all()}
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        for form in self.forms:
            key = (getattr(form, "cleaned_data", None) or {}).get("key", form.instance.key)
            if form.instance.pk is not None and self.can_delete and self._should_delete_form(form):
                self.deleted_objects.append(form.instance)
            elif form.instance.pk is None and form.has_changed() and key in by_key:
                self.new_objects.append(by_key[key])
            elif form.instance.pk is not None and form.has_changed() and key in by_key:
                self.changed_objects.append((by_key[key], form.changed_data))


class VariantInline(admin.TabularInline):
    """An experiment's variants. Once it has started only names and weights may change; nothing is added or removed."""

    model = Variant
    form = VariantForm
    formset = VariantFormSet
    fields = list(VARIANT_FIELDS)

    def get_extra(self, request, obj=None, **kwargs):
        return 2 if obj is None else 0

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != Experiment.Status.DRAFT:
            return ["key", *CONFIG_FORM_FIELDS]
        return []

    # A variant is part of its experiment: the experiment's permissions decide.
    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(VIEW_PERMISSION) or request.user.has_perm(CHANGE_PERMISSION)

    def has_add_permission(self, request, obj=None):
        if obj is None:
            return request.user.has_perm(ADD_PERMISSION) or request.user.has_perm(CHANGE_PERMISSION)
        return obj.status == Experiment.Status.DRAFT and request.user.has_perm(CHANGE_PERMISSION)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return request.user.has_perm(ADD_PERMISSION) or request.user.has_perm(CHANGE_PERMISSION)
        return obj.status != Experiment.Status.STOPPED and request.user.has_perm(CHANGE_PERMISSION)

    def has_delete_permission(self, request, obj=None):
        return (obj is None or obj.status == Experiment.Status.DRAFT) and request.user.has_perm(CHANGE_PERMISSION)


# Experiments -------------------------------------------------------------------------------


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    """Experiments of recommendation strategies (A/B or interleaving): edit while a draft, then start, pause, stop and read the results."""

    list_display = [
        "key", "name", "placement", "kind", "status_badge", "traffic_percent", "started_at", "stopped_at", "primary_metric",
        "results_link",
    ]  # fmt: skip
    list_filter = ["status", "kind", "placement"]
    search_fields = ["key", "name"]
    inlines = [VariantInline]
    actions = ["start_selected", "pause_selected", "stop_selected"]
    change_list_template = "admin/experiments/experiment/change_list.html"
    change_form_template = "admin/experiments/experiment/change_form.html"
    results_template = "admin/experiments/experiment/results.html"
    interleaving_results_template = "admin/experiments/experiment/interleaving_results.html"

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ["key", "name", "hypothesis", "placement", "kind", "primary_metric"]}),
            ("Who enters", {"fields": ["traffic", "salt"]}),
            ("Analysis", {"fields": ["minimum_detectable_effect", "cart_window_hours", "purchase_window_days"]}),
        ]
        if obj is not None:
            fieldsets.append(("State", {"fields": ["status", "started_at", "stopped_at", "results_link", "created_at", "updated_at"]}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        fields = ["status", "started_at", "stopped_at", "results_link", "created_at", "updated_at"]
        if obj is not None and obj.status != Experiment.Status.DRAFT:
            fields = [*FROZEN_EXPERIMENT_FIELDS, *fields]
        return fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status == Experiment.Status.STOPPED:
            return False  # its results are frozen
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status in (Experiment.Status.RUNNING, Experiment.Status.PAUSED):
            return False  # stop it first: its visitors' assignments and results would go with it
        return super().has_delete_permission(request, obj)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span style="background:{};color:#fff;border-radius:9px;padding:1px 8px;font-size:11px">{}</span>',
            STATUS_COLOURS.get(obj.status, "#616161"),
            obj.get_status_display(),
        )

    @admin.display(description="Traffic", ordering="traffic")
    def traffic_percent(self, obj):
        return f"{obj.traffic.normalize():f} %"

    @admin.display(description="Results")
    def results_link(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        return format_html('<a href="{}">Results</a>', reverse("admin:experiments_experiment_results", args=[obj.pk]))

    # Saving through the services ---------------------------------------------------------

    def save_model(self, request, obj, form, change):
        """Write nothing yet: ``save_related`` hands the experiment and its variants to the service together."""

    def save_related(self, request, form, formsets, change):
        variant_formset = next((formset for formset in formsets if isinstance(formset, VariantFormSet)), None)
        experiment = form.instance
        if not change:
            fields = {name: form.cleaned_data[name] for name in form.fields if name in form.cleaned_data}
            created = experiment_create(fields=fields, variants=variant_formset.variants() if variant_formset else [])
            experiment.pk = created.pk
            experiment._state.adding = False
        else:
            fields = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
            variants = variant_formset.variants() if variant_formset is not None and variant_formset.has_changed() else None
            stored = Experiment.objects.get(pk=experiment.pk)
            experiment_update(experiment=stored, fields=fields, variants=variants)
        experiment.refresh_from_db()
        for formset in formsets:
            if isinstance(formset, VariantFormSet):
                formset.record_saved(experiment)
            else:  # an inline the services know nothing about saves itself
                formset.save()

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        if object_id is not None:
            experiment = self.get_object(request, unquote(object_id))
            if experiment is not None:
                extra_context["transitions"] = self._transitions(request, experiment)
                extra_context["results_url"] = reverse("admin:experiments_experiment_results", args=[experiment.pk])
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApiError as exc:
            # The forms check the same rules first; this is a race with another editor. Nothing was saved.
            self.message_user(request, f"Not saved: {exc.detail}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def _transitions(self, request, experiment: Experiment) -> list[dict]:
        if not super().has_change_permission(request):
            return []
        return [
            {"name": name, "label": label, "url": reverse(f"admin:experiments_experiment_{name}", args=[experiment.pk])}
            for name, (_, label, _, states) in TRANSITIONS.items()
            if experiment.status in states
        ]

    # Start / pause / stop ---------------------------------------------------------------------

    def _run_transition(self, request, experiments, name: str) -> None:
        action, _, verb, _ = TRANSITIONS[name]
        done = []
        for experiment in experiments:
            try:
                action(experiment=experiment)
            except ApiError as exc:
                self.message_user(request, f"{experiment.key}: {exc.detail}", messages.ERROR)
            else:
                done.append(experiment.key)
        if done:
            self.message_user(request, f"{verb.capitalize()}: {', '.join(done)}.", messages.SUCCESS)

    @admin.action(description="Start (or resume) the selected experiments", permissions=["change"])
    def start_selected(self, request, queryset):
        self._run_transition(request, queryset.order_by("created_at", "id"), "start")

    @admin.action(description="Pause the selected experiments", permissions=["change"])
    def pause_selected(self, request, queryset):
        self._run_transition(request, queryset.order_by("created_at", "id"), "pause")

    @admin.action(description="Stop the selected experiments for good (freezes their results)", permissions=["change"])
    def stop_selected(self, request, queryset):
        self._run_transition(request, queryset.order_by("created_at", "id"), "stop")

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        urls = [
            path("<path:object_id>/results/", self.admin_site.admin_view(self.results_view), name="%s_%s_results" % info),
        ]
        for name in TRANSITIONS:
            view = self.admin_site.admin_view(partial(self.transition_view, transition=name))
            urls.append(path(f"<path:object_id>/{name}/", view, name=f"{info[0]}_{info[1]}_{name}"))
        return [*urls, *super().get_urls()]

    def transition_view(self, request: HttpRequest, object_id: str, transition: str):
        """Start, pause or stop one experiment from its change page (POST only; CSRF-checked by admin_view)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not super().has_change_permission(request):
            raise PermissionDenied
        experiment = self.get_object(request, unquote(object_id))
        if experiment is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        self._run_transition(request, [experiment], transition)
        return HttpResponseRedirect(reverse("admin:experiments_experiment_change", args=[experiment.pk]))

    # Results ------------------------------------------------------------------------------------

    def results_view(self, request: HttpRequest, object_id: str):
        """The experiment's results as staff read them: trust (SRM), decision, metrics, lifts, planner, lift by day."""
        experiment = self.get_object(request, unquote(object_id))
        if experiment is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, experiment):
            raise PermissionDenied
        frozen = experiment.status == Experiment.Status.STOPPED and bool(experiment.results_snapshot)
        results = experiment.results_snapshot if frozen else experiment_results(experiment=experiment)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Results: {experiment.name}",
            "subtitle": experiment.key,
            "experiment": experiment,
            "frozen_at": experiment.stopped_at if frozen else None,
            "change_url": reverse("admin:experiments_experiment_change", args=[experiment.pk]),
        }
        request.current_app = self.admin_site.name
        # The kind is frozen once started, so the results (or their snapshot) always have the experiment's shape.
        if (results.get("experiment") or {}).get("kind", experiment.kind) == Experiment.Kind.INTERLEAVING:
            context.update(page=interleaving_page(results), glossary=INTERLEAVING_GLOSSARY)
            return TemplateResponse(request, self.interleaving_results_template, context)
        context.update(page=results_page(results, chart_id=f"lift-{experiment.pk}"), glossary=GLOSSARY)
        return TemplateResponse(request, self.results_template, context)


# The results page, formatted ------------------------------------------------------------------

METRIC_LABELS = {
    "ctr": "CTR",
    "add_to_cart_rate": "Add-to-cart rate",
    "conversion": "Conversion",
    "revenue_per_visitor": "Revenue per visitor",
}
RATE_METRICS = ("ctr", "add_to_cart_rate", "conversion")
DASH = "\u2013"

# (key in the variant row, column heading, how to format it, one line for store staff)
VARIANT_COLUMNS = [
    ("assigned", "Assigned", "count", "Visitors who entered the experiment and were given this variant."),
    ("exposed", "Exposed", "count", "Of those, visitors who actually saw at least one list of this placement."),
    ("impressions", "Impressions", "count", "Lists shown and seen (half visible for a second); one list counts once."),
    ("clicks", "Clicks", "count", "Clicks on a product in those lists."),
    ("ctr", "CTR", "percent", "Click-through rate: clicks per impression."),
    ("clicking_visitors", "Clicking visitors", "count", "Visitors who clicked at least once."),
    ("add_to_cart_rate", "Add-to-cart rate", "percent", "Share of visitors who put a clicked product in the cart soon after."),
    ("conversion", "Conversion", "percent", "Share of visitors who ordered a clicked product within the purchase window."),
    ("orders", "Orders", "count", "Orders containing a clicked product."),
    ("revenue", "Revenue", "money", "Money from those products in those orders (quantity x price paid)."),
    ("revenue_per_visitor", "Revenue per visitor", "money", "Revenue divided by assigned visitors: the metric that pays the bills."),
    ("average_order_value", "AOV", "money", "Average order value: revenue per order."),
]

GLOSSARY = [
    ("Sample ratio check", "Compares visitors per variant with the configured weights; a mismatch (p < 0.001) means "
     "assignment or tracking is broken, and the results cannot be trusted."),
    ("Decision", "The always-valid monitor's call on the primary metric; it may be read every day without "
     "inflating false alarms."),
    *((heading, explanation) for _, heading, _, explanation in VARIANT_COLUMNS),
    ("Lift", "How much the treatment differs from the control, relative to the control (+10 % = a tenth better)."),
    ("95 % interval", "The range of lifts the data is compatible with; if it includes 0, the difference may be chance."),
    ("Interval bar", "The 95 % interval drawn around 0 (the vertical line), with the measured lift as a dot: "
     "green is clearly better, red clearly worse, grey undecided."),
    ("p-value", "How surprising the difference would be if the variants were really the same; below 0.05 is "
     "conventionally significant."),
    ("Holm-adjusted p", "The primary metric's p-value corrected for testing several treatments at once; use this one."),
    ("Chance to beat control", "The probability (Bayesian) that the treatment is really better than the control."),
    ("Expected loss", "What you would lose on average, in the metric's units, if you shipped the treatment and it were worse."),
    ("CUPED variance reduction", "How much noise was removed by accounting for what visitors did before the "
     "experiment; more reduction means a sharper answer from the same traffic."),
    ("Always-valid interval", "A wider interval that stays correct however often you look; the decision uses it."),
    ("Planner", "Visitors needed to detect the minimum detectable effect with 80 % power at 5 % significance, "
     "and the days that takes at the recent traffic."),
]

DECISIONS = {
    "keep_running": "Keep running: the data cannot yet tell whether there is an effect as large as the minimum "
    "detectable effect.",
    "treatment_better": "A treatment is better than the control on the primary metric: the always-valid interval "
    "lies above zero. It is safe to stop and roll it out.",
    "treatment_worse": "The treatment is worse than the control on the primary metric: the always-valid interval "
    "lies below zero. Stop it.",
    "no_meaningful_difference": "No meaningful difference: any effect left is smaller than the minimum detectable "
    "effect, so running longer will not change the answer. Stop and keep the simpler variant.",
}


_finite = charts.finite


def _count(value) -> str:
    number = _finite(value)
    return DASH if number is None else f"{int(number):,}"


def _percent(value, digits: int = 2) -> str:
    number = _finite(value)
    return DASH if number is None else f"{number * 100:.{digits}f} %"


def _money(value) -> str:
    number = _finite(value)
    if number is None:
        return DASH
    return f"{number:,.3f}" if 0 < abs(number) < 1 else f"{number:,.2f}"


def _p_value(value) -> str:
    number = _finite(value)
    if number is None:
        return DASH
    return f"{number:.3f}" if number >= 0.001 else f"{number:.1e}"


def _signed_percent(value, digits: int = 1) -> str:
    number = _finite(value)
    return DASH if number is None else charts.percent_label(number, digits=digits)


def _metric_value(metric: str, value) -> str:
    return _percent(value) if metric in RATE_METRICS else _money(value)


def _difference(metric: str, value, *, signed: bool = True) -> str:
    """An absolute difference in the metric's units: percentage points for rates; "< 0.01 pp" when tiny but not 0."""
    number = _finite(value)
    if number is None:
        return DASH
    scaled, digits, unit = (number * 100, 2, " pp") if metric in RATE_METRICS else (number, 3, "")
    if number and round(abs(scaled), digits) == 0:
        return f"< {10 ** -digits:.{digits}f}{unit}"
    text = f"{abs(scaled):,.{digits}f}{unit}"
    if not signed:
        return text
    return ("+" if number >= 0 else "\u2212") + text


def _format(kind: str, value) -> str:
    return {"count": _count, "percent": _percent, "money": _money}[kind](value)


def _range(metric: str, interval) -> str:
    if not interval or len(interval) != 2 or _finite(interval[0]) is None or _finite(interval[1]) is None:
        return DASH
    return f"{_difference(metric, interval[0])} to {_difference(metric, interval[1])}"


def _relative_range(interval) -> str:
    if not interval or len(interval) != 2 or _finite(interval[0]) is None or _finite(interval[1]) is None:
        return DASH
    return f"{_signed_percent(interval[0])} to {_signed_percent(interval[1])}"


def _config_text(config: dict | None) -> str:
    if not config:
        return ""
    parts = [str(config.get("strategy", ""))]
    if config.get("w_content") is not None or config.get("w_cf") is not None:
        parts.append(f"content {config.get('w_content', DASH)} / CF {config.get('w_cf', DASH)}")
    parts.extend(f"{name}={value}" for name, value in (config.get("options") or {}).items())
    return ", ".join(part for part in parts if part)


def _planner_text(planner: dict | None) -> str:
    if not planner:
        return "No estimate yet."
    if planner.get("note"):
        return str(planner["note"])
    per_arm = _finite(planner.get("visitors_per_arm"))
    if per_arm is None:
        return "No estimate yet."
    per_day = _finite(planner.get("visitors_per_day")) or 0.0
    text = f"{int(per_arm):,} visitors per arm ({_count(planner.get('visitors_needed'))} in all, {_count(planner.get('visitors_so_far'))} so far)"
    remaining = _finite(planner.get("days_remaining"))
    if remaining is None:
        return f"{text}; no visitors entered in the last week, so no estimate of the days."
    if remaining <= 0:
        return f"{text}; enough visitors have entered already."
    days = math.ceil(remaining)
    return f"{text}; about {days:,} more day{'s' if days != 1 else ''} at {per_day:,.0f} visitors/day."


def _lift_series(results: dict) -> tuple[list[str], list[charts.LiftSeries]]:
    daily = results.get("daily") or []
    treatments = [row for row in results.get("variants") or [] if not row.get("is_control")]
    days = [str(entry.get("day", "")) for entry in daily]
    series = []
    for row in treatments:
        points = [(entry.get("variants") or {}).get(row["key"]) or {} for entry in daily]
        series.append(
            charts.LiftSeries(
                name=str(row.get("name") or row["key"]),
                relative=[point.get("relative") for point in points],
                interval=[point.get("relative_ci") for point in points],
                band=[point.get("relative_band") for point in points],
            )
        )
    return days, series


def results_page(results: dict, *, chart_id: str = "lift") -> dict:
    """Turn :func:`experiments.results.experiment_results` (or a frozen snapshot of it) into display text and SVG."""
    experiment = results.get("experiment") or {}
    primary = experiment.get("primary_metric") or "ctr"
    rows = results.get("variants") or []
    srm = results.get("srm") or {}
    total_weight = sum(_finite(row.get("weight")) or 0.0 for row in rows)

    variants = [
        {
            "key": row.get("key"),
            "name": row.get("name") or row.get("key"),
            "is_control": bool(row.get("is_control")),
            "share": _percent((_finite(row.get("weight")) or 0.0) / total_weight, 0) if total_weight else DASH,
            "expected": _count((srm.get("expected") or {}).get(row.get("key"))),
            "config": _config_text(row.get("config")),
            "cells": [_format(kind, row.get(key)) for key, _, kind, _ in VARIANT_COLUMNS],
        }
        for row in rows
    ]

    bounds = []
    for row in rows:
        for lift in (row.get("lifts") or {}).values():
            bounds.extend(lift.get("relative_ci") or [])
            bounds.append(lift.get("relative"))
    limit = charts.symmetric_limit(bounds)

    treatments = []
    for row in rows:
        lifts = row.get("lifts")
        if not lifts:
            continue
        sequential = row.get("sequential") or {}
        cuped = row.get("cuped") or {}
        metrics = []
        for metric in METRIC_LABELS:
            lift = lifts.get(metric) or {}
            ci = lift.get("relative_ci") or [None, None]
            metrics.append({
                "label": METRIC_LABELS[metric],
                "primary": metric == primary,
                "control": _metric_value(metric, lift.get("control")),
                "treatment": _metric_value(metric, lift.get("treatment")),
                "absolute": _difference(metric, lift.get("absolute")),
                "relative": _signed_percent(lift.get("relative")),
                "relative_ci": _relative_range(lift.get("relative_ci")),
                "bar": mark_safe(charts.interval_bar(lift.get("relative"), ci[0], ci[1], limit=limit)),  # noqa: S308 - charts escape all text
                "p_value": _p_value(lift.get("p_value")),
                "p_value_adjusted": _p_value(lift.get("p_value_adjusted")) if metric == primary else "",
                "chance": _percent(lift.get("chance_to_beat_control"), 1),
                "expected_loss": _difference(metric, lift.get("expected_loss"), signed=False),
            })  # fmt: skip
        treatments.append({
            "key": row.get("key"),
            "several": sum(1 for other in rows if other.get("lifts")) > 1,
            "name": row.get("name") or row.get("key"),
            "metrics": metrics,
            "decision": DECISIONS.get(sequential.get("decision"), "Not enough data for a decision yet."),
            "always_valid": _range(primary, sequential.get("interval")),
            "fixed": _range(primary, sequential.get("fixed_interval")),
            "mde": _difference(primary, sequential.get("mde_absolute"), signed=False),
            "chance": _percent(row.get("chance_to_beat_control"), 1),
            "cuped": {
                "variance_reduction": _percent(cuped.get("variance_reduction"), 1),
                "absolute": _difference(primary, cuped.get("absolute")),
                "absolute_ci": _range(primary, cuped.get("absolute_ci")),
                "p_value": _p_value(cuped.get("p_value")),
            } if cuped else None,
        })  # fmt: skip

    days, series = _lift_series(results)
    chart = charts.lift_chart(
        days, series, title=f"Cumulative relative lift in {METRIC_LABELS.get(primary, primary)}", chart_id=chart_id, width=960
    )
    window = results.get("window") or {}
    return {
        "primary": METRIC_LABELS.get(primary, primary),
        "mde": _percent(experiment.get("minimum_detectable_effect"), 1),
        "visitors": _count(results.get("visitors")),
        "window_start": _datetime(window.get("start")),
        "window_end": _datetime(window.get("end")),
        "srm": {
            "flagged": bool(srm.get("flagged")),
            "p": _p_value(srm.get("p")),
            "chi2": f"{_finite(srm.get('chi2')):.2f}" if _finite(srm.get("chi2")) is not None else DASH,
        },
        "decision": (
            DECISIONS.get(results.get("decision"), "Not enough data for a decision yet.")
            if results.get("visitors") else "No visitors yet, so nothing to decide."
        ),
        "columns": [(heading, explanation) for _, heading, _, explanation in VARIANT_COLUMNS],
        "variants": variants,
        "treatments": treatments,
        "planner": _planner_text(results.get("planner")),
        "chart": mark_safe(chart),  # noqa: S308 - charts escape all text
        "interval_scale": _signed_percent(limit, 0),
    }


# The interleaving results page ----------------------------------------------------------------

TEAM_COLOURS = {"A": charts.SERIES_COLOURS[0], "B": charts.SERIES_COLOURS[1]}

# (key in the team row, column heading, how to format it, one line for store staff)
TEAM_COLUMNS = [
    ("clicks", "Clicks", "count", "Clicks on the products this team placed in the merged lists."),
    ("add_to_carts", "Add-to-carts", "count", "Those clicked products put in the cart soon after (within the cart window)."),
    ("orders", "Orders", "count", "Orders containing a product of this team the shopper had clicked (within the purchase window)."),
    ("revenue", "Revenue", "money", "Money from those products in those orders (quantity x price paid)."),
]

INTERLEAVING_DECISIONS = {
    "A preferred": "Shoppers prefer team A's ranking ({a}) to team B's ({b}): visitors whose clicks favoured A outnumber "
    "those favouring B by more than chance would explain (sign test p < 0.05).",
    "B preferred": "Shoppers prefer team B's ranking ({b}) to team A's ({a}): visitors whose clicks favoured B outnumber "
    "those favouring A by more than chance would explain (sign test p < 0.05).",
    "no preference yet": "No preference yet: the visitors preferring A and B could still differ by chance. Keep running; "
    "if it stays like this with many clicking visitors, the two rankings are about equally good for shoppers.",
}

INTERLEAVING_GLOSSARY = [
    ("Interleaving", "Every visitor sees one list merging both rankings: team A (the control's ranking) and team B take "
     "turns adding their best product not shown yet, a coin deciding who picks first in each round, and a click counts "
     "for the team that placed the product. The same shopper compares both rankings on the same list, so it tells "
     "quickly which ranking shoppers prefer. It does not measure what a ranking earns: revenue and long-term effects "
     "still need an A/B test."),
    ("Preference Δ", "Lists won by A minus lists won by B, divided by all lists with clicks (ties included): from "
     "−1 (B won every list) to +1 (A won every list). Above 0 favours A, below 0 favours B, 0 is no preference."),
    ("95 % interval", "The range of Δ the data is compatible with (a bootstrap over visitors); if it includes 0, the "
     "preference may be chance."),
    ("Interval bar", "The 95 % interval of Δ drawn around 0 (the vertical line), with the measured Δ as a dot: "
     "left of 0 in orange, B is preferred; right of 0 in blue, A is preferred; grey when it spans 0."),
    ("Lists won", "A list is won by the team whose products got more clicks in it; as many clicks on each is a tie; a "
     "list without clicks counts for neither."),
    ("Visitors preferring A / B", "A visitor prefers the team that won more of their lists; a visitor with as many wins "
     "for each prefers neither."),
    ("Sign-test p-value", "How surprising the split between visitors preferring A and visitors preferring B would be if "
     "shoppers had no preference; below 0.05 the page declares a preference."),
    ("Visitors", "Visitors who entered the experiment (were served a merged list)."),
    ("Exposed", "Of those, visitors who actually saw at least one list of this placement."),
    ("With clicks", "Visitors who clicked a product of a merged list at least once: only they can show a preference."),
    *((f"Team {heading.lower()}", explanation) for _, heading, _, explanation in TEAM_COLUMNS),
]


def _signed_number(value, digits: int = 3) -> str:
    """0.25 -> "+0.250", -0.25 -> "−0.250" (a real minus sign); missing -> dash."""
    number = _finite(value)
    if number is None:
        return DASH
    text = f"{abs(number):.{digits}f}"
    if round(number, digits) == 0:
        return text
    return ("+" if number > 0 else charts.MINUS) + text


def interleaving_page(results: dict) -> dict:
    """Turn an interleaving experiment's results (or their frozen snapshot) into display text and an interval bar."""
    preference = results.get("preference") or {}
    low, high = (list(preference.get("delta_ci") or []) + [None, None])[:2]
    delta = preference.get("delta")
    limit = charts.symmetric_limit([delta, low, high], floor=0.1, cap=1.0)
    names = {}
    teams = []
    for row in results.get("teams") or []:
        team = row.get("team")
        names[team] = row.get("name") or row.get("key") or f"team {team}"
        teams.append({
            "team": team,
            "key": row.get("key"),
            "name": names[team],
            "is_control": team == "A",
            "colour": TEAM_COLOURS.get(team, charts.AXIS_COLOUR),
            "config": _config_text(row.get("config")),
            "cells": [_format(kind, row.get(key)) for key, _, kind, _ in TEAM_COLUMNS],
        })  # fmt: skip
    window = results.get("window") or {}
    decision = results.get("decision")
    if not results.get("visitors"):
        explanation = "No visitors yet, so nothing to decide."
    else:
        explanation = INTERLEAVING_DECISIONS.get(decision, INTERLEAVING_DECISIONS["no preference yet"]).format(
            a=names.get("A", "team A"), b=names.get("B", "team B")
        )
    bar = charts.interval_bar(
        delta, low, high, limit=limit, width=240, height=22, name="preference Δ", value_format=_signed_number,
        colours=(TEAM_COLOURS["A"], TEAM_COLOURS["B"], "#757575"),
    )  # fmt: skip
    return {
        "visitors": _count(results.get("visitors")),
        "exposed": _count(results.get("exposed")),
        "impressions": _count(results.get("impressions")),
        "with_clicks": _count(results.get("visitors_with_clicks")),
        "window_start": _datetime(window.get("start")),
        "window_end": _datetime(window.get("end")),
        "decision": decision,
        "decision_text": results.get("decision_text") or (decision or "No preference yet").capitalize(),
        "decision_explanation": explanation,
        "delta": _signed_number(delta),
        "delta_ci": f"{_signed_number(low)} to {_signed_number(high)}" if _finite(low) is not None and _finite(high) is not None else DASH,
        "bar": mark_safe(bar),  # noqa: S308 - charts escape all text
        "interval_scale": _signed_number(limit, 1).lstrip("+"),
        "wins_a": _count(preference.get("wins_a")),
        "wins_b": _count(preference.get("wins_b")),
        "ties": _count(preference.get("ties")),
        "prefer_a": _count(preference.get("prefer_a")),
        "prefer_b": _count(preference.get("prefer_b")),
        "counted_visitors": _count(preference.get("visitors")),
        "p_value": _p_value(preference.get("p_value")),
        "team_a": names.get("A", "team A"),
        "team_b": names.get("B", "team B"),
        "columns": [(heading, explanation) for _, heading, _, explanation in TEAM_COLUMNS],
        "teams": teams,
    }


def _datetime(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    return parse_datetime(value) if isinstance(value, str) else None


# The recommendations dashboard ----------------------------------------------------------------

PLACEMENT_LABELS = dict(Placement.choices)


def _traffic_table(rows, *, labels: dict[str, str]) -> list[dict]:
    return [
        {
            "key": row.key,
            "label": labels.get(row.key, row.key),
            "impressions": f"{row.impressions:,}",
            "clicks": f"{row.clicks:,}",
            "ctr": _percent(row.ctr),
            "revenue": f"{row.revenue:,.2f}",
        }
        for row in rows
    ]


def _traffic_charts(rows, *, noun: str) -> list:
    return [
        mark_safe(chart)  # noqa: S308 - charts escape all text
        for chart in (
            charts.bar_chart([(row.key, row.impressions) for row in rows], title=f"Impressions by {noun}", width=380, height=240),
            charts.bar_chart(
                [(row.key, row.ctr) for row in rows], title=f"CTR by {noun}", width=380, height=240,
                value_format=lambda value: charts.percent_label(value, signed=False, digits=1),
                axis_format=lambda value: charts.percent_label(value, signed=False, digits=1),
            ),
            charts.bar_chart([(row.key, float(row.revenue)) for row in rows], title=f"Attributed revenue by {noun}", width=380, height=240),
        )
    ]  # fmt: skip


def recommendations_dashboard_view(request: HttpRequest):
    """The last 30 days of recommendations: traffic and revenue by placement and strategy, and offline nDCG by model."""
    if not (request.user.has_perm(VIEW_PERMISSION) or request.user.has_perm(CHANGE_PERMISSION)):
        raise PermissionDenied
    window = dashboard_window()
    by_placement = recommendation_traffic(by="placement", window=window)
    by_strategy = recommendation_traffic(by="strategy", window=window)
    share = recommendation_revenue_share(window=window)
    history = model_quality_history()
    k = history[-1].k if history else 10
    ndcg_chart = charts.grouped_bar_chart(
        [f"v{quality.version.pk}" for quality in history],
        [(strategy, [quality.ndcg[strategy] for quality in history]) for strategy in NDCG_STRATEGIES],
        title=f"Offline nDCG@{k} by model version",
        width=860,
        height=280,
    )
    context = {
        **admin.site.each_context(request),
        "title": "Recommendations dashboard",
        "window": window,
        "placement_rows": _traffic_table(by_placement, labels=PLACEMENT_LABELS),
        "placement_charts": _traffic_charts(by_placement, noun="placement"),
        "strategy_rows": _traffic_table(by_strategy, labels={}),
        "strategy_charts": _traffic_charts(by_strategy, noun="strategy"),
        "share": {
            "attributed": f"{share.attributed:,.2f}",
            "total": f"{share.total:,.2f}",
            "percent": _percent(share.share, 1),
        },
        "k": k,
        "models": [
            {
                "name": str(quality.version),
                "created_at": quality.version.created_at,
                "ndcg": [DASH if quality.ndcg[strategy] is None else f"{quality.ndcg[strategy]:.4f}" for strategy in NDCG_STRATEGIES],
            }
            for quality in reversed(history)
        ],
        "strategies": NDCG_STRATEGIES,
        "ndcg_chart": mark_safe(ndcg_chart),  # noqa: S308 - charts escape all text
        "experiments_url": reverse("admin:experiments_experiment_changelist"),
    }
    request.current_app = admin.site.name
    return TemplateResponse(request, "admin/experiments/dashboard.html", context)


def _with_dashboard(site_urls: Callable[[], list]) -> Callable[[], list]:
    """The admin site's URLs plus the dashboard at admin/experiments/dashboard/ (not a model's page, so not in get_urls)."""

    def get_urls() -> list:
        dashboard = path(
            "experiments/dashboard/", admin.site.admin_view(recommendations_dashboard_view), name="experiments_dashboard"
        )
        return [dashboard, *site_urls()]

    return get_urls


admin.site.get_urls = _with_dashboard(admin.site.get_urls)
