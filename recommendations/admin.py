import uuid

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.broker import BrokerUnavailable, task_enqueue
from recommendations.explain import ExplainError, list_explain
from recommendations.forms import ExplainForm
from recommendations.models import ModelVersion, RecommenderSettings
from recommendations.services import ModelNotActivatable, model_activate, training_runs_reap_stale


def _metric(version: ModelVersion, strategy: str, name: str) -> str:
    value = ((version.metrics or {}).get("results", {}).get(strategy) or {}).get(name)
    return "" if value is None else f"{value:.4f}"


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    """Training runs with their offline metrics; activate one to roll forward or back, or retrain now."""

    list_display = [
        "__str__", "status_badge", "trigger", "created_at", "duration", "product_count", "interaction_count",
        "cf_algorithm", "hybrid_ndcg", "cf_ndcg", "content_ndcg",
    ]
    list_filter = ["status", "trigger", "cf_algorithm"]
    date_hierarchy = "created_at"
    actions = ["activate_selected"]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    change_list_template = "admin/recommendations/modelversion/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # a version's fields are a record of its run; its state changes only through the actions below

    def has_operate_permission(self, request):
        """Activating a version and retraining need the model's change permission; view-only staff just look."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_retrain": self.has_operate_permission(request)}
        return super().changelist_view(request, extra_context=extra_context)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        colours = {"active": "#2e7d32", "failed": "#c62828", "training": "#1565c0", "ready": "#6a1b9a"}
        return format_html('<b style="color:{}">{}</b>', colours.get(obj.status, "#555"), obj.get_status_display())

    @admin.display(description="Duration")
    def duration(self, obj):
        seconds = obj.duration_seconds
        return "" if seconds is None else f"{seconds:.1f} s"

    @admin.display(description="Hybrid nDCG@10")
    def hybrid_ndcg(self, obj):
        return _metric(obj, "hybrid", "ndcg")

    @admin.display(description="CF nDCG@10")
    def cf_ndcg(self, obj):
        return _metric(obj, "cf", "ndcg")

    @admin.display(description="Content nDCG@10")
    def content_ndcg(self, obj):
        return _metric(obj, "content", "ndcg")

    @admin.action(description="Activate the selected version (roll forward or back)", permissions=["operate"])
    def activate_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        try:
            version = model_activate(version=queryset.get())
        except ModelNotActivatable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"{version} now serves recommendations.", messages.SUCCESS)

    def get_urls(self):
        retrain = path("retrain/", self.admin_site.admin_view(self.retrain_view), name="recommendations_modelversion_retrain")
        explain = path("explain/", self.admin_site.admin_view(self.explain_view), name="recommendations_explain")
        return [retrain, explain, *super().get_urls()]

    def explain_view(self, request):
        """Why is / isn't a product in a customer's list: the list as served now, with its score parts and filters.

        Read-only (GET): nothing is cached, assigned or counted. Needs the view permission on model versions.
        """
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ExplainForm(request.GET or None)
        explanation = None
        if form.is_valid():
            try:
                explanation = list_explain(**form.cleaned_data)
            except ExplainError as error:
                form.add_error(error.field, str(error))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Why is this shown?",
            "form": form,
            "explanation": explanation,
        }
        return TemplateResponse(request, "admin/recommendations/explain.html", context)

    def retrain_view(self, request):
        """Enqueue a training run (POST only); refused with a message while another run is in progress
        or when the broker does not take the task (within its timeout, not a 500 or a hang).

        Needs the change permission (403 without it): view-only staff may look at runs, not start one.
        """
        if not self.has_operate_permission(request):
            raise PermissionDenied
        changelist = reverse("admin:recommendations_modelversion_changelist")
        if request.method != "POST":
            return HttpResponseRedirect(changelist)
        from recommendations.tasks import train_models

        training_runs_reap_stale()
        running = ModelVersion.objects.filter(status=ModelVersion.Status.TRAINING).first()
        if running is not None:
            self.message_user(request, f"Not started: {running} is still training.", messages.WARNING)
            return HttpResponseRedirect(changelist)
        # Queued now rather than on commit: the view writes nothing the task reads, and whether the
        # broker took the task is for the person who pressed the button to hear.
        try:
            task_enqueue(train_models, kwargs={"trigger": "admin"}, task_id=f"admin-{uuid.uuid4()}")
        except BrokerUnavailable as exc:
            message = f"Not started: {exc} No training run was created; try again once the broker is back."
            self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(changelist)
        self.message_user(request, "Retraining requested; the new version appears below when it is done.", messages.SUCCESS)
        return HttpResponseRedirect(changelist)


@admin.register(RecommenderSettings)
class RecommenderSettingsAdmin(admin.ModelAdmin):
    """One row of tunables; the next training run uses them and records them on its version."""

    fieldsets = [
        ("Event weights", {"fields": ["view_weight", "click_weight", "add_to_cart_weight", "purchase_weight"]}),
        ("Time decay", {"fields": ["cf_half_life_days", "trending_half_life_days"]}),
        ("Neighbours", {"fields": ["content_neighbors_k", "cf_neighbors_k", "min_interactions"]}),
        ("Default hybrid blend and filters", {"fields": ["w_content", "w_cf", "exclude_purchased"]}),
        ("Diversity (applied from the next training)", {"fields": ["diversity", "category_cap"]}),
    ]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        settings = RecommenderSettings.load()
        return redirect(reverse("admin:recommendations_recommendersettings_change", args=[settings.pk]))
