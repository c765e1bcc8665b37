"""Experiments in the admin: set one up, start / pause / stop it, read its results; and the recommendations dashboard.

Every write goes through :mod:`experiments.services`, so the admin refuses what the API
refuses with the same words; the forms check the same rules first, so a bad variant set is
shown as a form error and nothing is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from core.api_errors import ApiError
from experiments import charts
from experiments.dashboard import (
    NDCG_STRATEGIES,
    dashboard_window,
    model_quality_history,
    recommendation_revenue_share,
    recommendation_traffic,
)
from experiments.models import Experiment, Variant
from experiments.results import experiment_results
from experiments.results_page import (
    DASH,
    GLOSSARY,
    INTERLEAVING_GLOSSARY,
    PLACEMENT_LABELS,
    interleaving_page,
    percent_text,
    results_page,
    traffic_charts,
    traffic_table,
)
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
        "placement_rows": traffic_table(by_placement, labels=PLACEMENT_LABELS),
        "placement_charts": traffic_charts(by_placement, noun="placement"),
        "strategy_rows": traffic_table(by_strategy, labels={}),
        "strategy_charts": traffic_charts(by_strategy, noun="strategy"),
        "share": {
            "attributed": f"{share.attributed:,.2f}",
            "total": f"{share.total:,.2f}",
            "percent": percent_text(share.share, 1),
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
