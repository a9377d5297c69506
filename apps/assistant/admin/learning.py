"""The learning loop in the admin, for ML admins: the review queue of training examples (new ones, conflicting
labels; accept, relabel or reject in bulk), the loop's settings with "run now", the comparisons of candidates
with the champion, and the promotion gate's decisions. Nothing here imports torch: work that needs a model runs
in a worker on the training queue (eager in the embedded default)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import truncatechars
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.assistant.learning_selectors import (
    comparison_label_deltas,
    comparison_scalar_rows,
    conflicting,
    shadow_summary,
)
from apps.assistant.models import GateDecision, LearningLoopConfig, ModelComparison, TrainingExample
from apps.assistant.services import (
    training_example_add,
    training_example_set_status,
    training_examples_relabel,
)
from apps.assistant.training_exports import training_examples_export
from helpdesk.celery import BrokerUnavailable, task_enqueue_by_name

LOOP_TASK = "apps.assistant.tasks.learning_loop_tick"


class ConflictFilter(admin.SimpleListFilter):
    title = "conflicting labels"
    parameter_name = "conflict"

    def lookups(self, request, model_admin):
        return (("yes", "Another label or signal for the same text"),)

    def queryset(self, request, queryset):
        return conflicting(queryset) if self.value() == "yes" else queryset


class RelabelForm(forms.Form):
    label = forms.CharField(max_length=100, help_text="The intent the selected texts really have.")


@admin.register(TrainingExample)
class TrainingExampleAdmin(admin.ModelAdmin):
    """The review queue: filter pending or conflicting examples, then accept, relabel or reject them in bulk."""

    list_display = ("id", "kind", "label", "signal", "short_text", "source", "status", "created_at", "reviewed_by")
    list_filter = ("status", ConflictFilter, "signal", "source", "kind", "created_at")
    list_select_related = ("reviewed_by",)
    search_fields = ("text", "label", "source_ref")
    date_hierarchy = "created_at"
    actions = ("accept", "reject", "relabel", "export_csv")

    def get_readonly_fields(self, request: HttpRequest, obj: TrainingExample | None = None):
        # Text, label and signal make the dedup key; to relabel, use the relabel action.
        fixed = ("kind", "text", "label", "signal", "source", "source_ref")
        return ("created_at", "status_changed_at", "reviewed_by", *(fixed if obj is not None else ()))

    @admin.display(description="text")
    def short_text(self, example: TrainingExample) -> str:
        return truncatechars(example.text, 80)

    def save_model(self, request: HttpRequest, obj: TrainingExample, form: forms.ModelForm, change: bool) -> None:
        if change:
            examples = TrainingExample.objects.filter(pk=obj.pk)
            training_example_set_status(examples=examples, status=obj.status, actor=request.user)
            return
        example, created = training_example_add(
            kind=obj.kind,
            text=obj.text,
            label=obj.label,
            source=obj.source,
            source_ref=obj.source_ref,
            status=obj.status,
            signal=obj.signal,
        )
        if not created:
            self.message_user(request, f"This text already had the label {example.label!r}; kept the stored one.")
        obj.pk = example.pk
        obj.refresh_from_db()

    @admin.action(description="Accept selected examples", permissions=["change"])
    def accept(self, request: HttpRequest, queryset: QuerySet[TrainingExample]) -> None:
        changed = training_example_set_status(
            examples=queryset, status=TrainingExample.Status.ACCEPTED, actor=request.user
        )
        self.message_user(request, f"{changed} example(s) accepted.")

    @admin.action(description="Reject selected examples", permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[TrainingExample]) -> None:
        changed = training_example_set_status(
            examples=queryset, status=TrainingExample.Status.REJECTED, actor=request.user
        )
        self.message_user(request, f"{changed} example(s) rejected.")

    @admin.action(description="Relabel selected examples…", permissions=["change"])
    def relabel(self, request: HttpRequest, queryset: QuerySet[TrainingExample]) -> HttpResponse | None:
        form = RelabelForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            label = form.cleaned_data["label"]
            try:
                count = training_examples_relabel(examples=queryset, label=label, actor=request.user)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
                return None
            self.message_user(request, f"{count} text(s) now labelled {label!r} and accepted.")
            return None
        known = TrainingExample.objects.filter(kind__in=queryset.values("kind")).values_list("label", flat=True)
        context = {
            **self.admin_site.each_context(request),
            "title": "Relabel examples",
            "opts": self.model._meta,
            "form": form,
            "examples": queryset[:200],
            "count": queryset.count(),
            "labels": sorted(set(known)),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/assistant/trainingexample/relabel.html", context)

    @admin.action(description="Export selected examples as CSV (redacted)", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[TrainingExample]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="training-examples.csv"'
        training_examples_export(examples=queryset, out=response, actor=request.user)
        return response


@admin.register(LearningLoopConfig)
class LearningLoopConfigAdmin(admin.ModelAdmin):
    """One row: when the loop retrains and when its gate promotes; "Run the learning loop now" queues a turn."""

    list_display = ("__str__", "enabled", "min_new_examples", "gate_metric", "promotion_margin", "auto_promote")
    readonly_fields = ("ratings_collected_until", "updated_at", "updated_by")
    fieldsets = (
        (None, {"fields": ("enabled",)}),
        ("Feedback", {"fields": ("accept_agent_corrections", "ratings_collected_until")}),
        ("Retraining", {"fields": ("min_new_examples", "fast_training")}),
        ("Promotion gate", {"fields": ("gate_metric", "promotion_margin", "shadow_min_messages", "auto_promote")}),
        (None, {"fields": ("updated_at", "updated_by")}),
    )
    change_form_template = "admin/assistant/learningloopconfig/change_form.html"

    def get_urls(self):
        run = self.admin_site.admin_view(self.run_now_view)
        return [path("run/", run, name="assistant_learningloopconfig_run"), *super().get_urls()]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        config = LearningLoopConfig.objects.order_by("pk").first()
        if config is not None:
            return HttpResponseRedirect(reverse("admin:assistant_learningloopconfig_change", args=[config.pk]))
        return super().add_view(request, form_url, extra_context)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: LearningLoopConfig, form: forms.ModelForm, change: bool) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    def run_now_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or not self.has_change_permission(request):
            return HttpResponse("Running the loop needs a POST by someone who may change its settings.", status=403)
        try:
            task_enqueue_by_name(LOOP_TASK)
        except BrokerUnavailable:
            self.message_user(request, "The task queue is unreachable; try again shortly.", messages.ERROR)
        else:
            self.message_user(request, "A turn of the learning loop was queued on the training queue.")
        return HttpResponseRedirect(reverse("admin:assistant_gatedecision_changelist"))


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(ModelComparison)
class ModelComparisonAdmin(ReadOnlyAdmin):
    """A candidate against the champion on the same held-out examples: figures side by side, per-intent F1
    deltas, the examples whose prediction changed, and the candidate's shadow figures."""

    list_display = ("__str__", "accuracy_delta", "macro_f1_delta", "held_out_size", "changed_count", "created_at")
    list_select_related = ("candidate__model", "champion__model")
    change_form_template = "admin/assistant/modelcomparison/change_form.html"

    @admin.display(description="accuracy Δ")
    def accuracy_delta(self, comparison: ModelComparison) -> str:
        return _delta(comparison, "accuracy")

    @admin.display(description="macro-F1 Δ")
    def macro_f1_delta(self, comparison: ModelComparison) -> str:
        return _delta(comparison, "macro_f1")

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        comparison = self.get_object(request, object_id)
        if comparison is not None:
            extra_context = {
                **(extra_context or {}),
                "scalars": comparison_scalar_rows(comparison),
                "deltas": comparison_label_deltas(comparison),
                "shadow": shadow_summary(version=comparison.candidate),
            }
        return super().change_view(request, object_id, form_url, extra_context)


def _delta(comparison: ModelComparison, key: str) -> str:
    before, after = comparison.champion_metrics.get(key), comparison.candidate_metrics.get(key)
    if before is None or after is None:
        return "—"
    return f"{after - before:+.4f}"


@admin.register(GateDecision)
class GateDecisionAdmin(ReadOnlyAdmin):
    """What the promotion gate made of each challenger; promoting or rolling back is the versions' action."""

    list_display = ("version", "champion", "outcome", "delta", "shadow_line", "reasons_line", "updated_at")
    list_filter = ("outcome", "updated_at")
    list_select_related = ("version__model", "champion__model")

    @admin.display(description="held-out Δ", ordering="held_out_delta")
    def delta(self, decision: GateDecision) -> str:
        return "—" if decision.held_out_delta is None else f"{decision.held_out_delta:+.4f}"

    @admin.display(description="shadow")
    def shadow_line(self, decision: GateDecision) -> str:
        shadow = decision.shadow or {}
        return format_html(
            "{} messages, agreement {}; reviewed by agents {} ({} corrected): challenger {} / champion {} right",
            shadow.get("messages", 0),
            "—" if shadow.get("agreement") is None else f"{shadow['agreement']:.1%}",
            shadow.get("reviewed", 0),
            shadow.get("corrected", 0),
            shadow.get("challenger_right", 0),
            shadow.get("champion_right", 0),
        )

    @admin.display(description="why")
    def reasons_line(self, decision: GateDecision) -> str:
        return "; ".join(decision.reasons)
