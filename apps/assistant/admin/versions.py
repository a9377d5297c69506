"""Model versions (their reports and evaluations) and the evaluations run by workers."""

import io

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import truncatechars
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from apps.assistant.admin.metrics import HEADLINE_METRICS, format_metric, metric_column, scalar_metrics
from apps.assistant.examples import LabelledFileError, labelled_csv_parse
from apps.assistant.jobs import comparison_enqueue, evaluation_enqueue
from apps.assistant.models import (
    ModelAlias,
    ModelEvaluation,
    ModelVersion,
)
from apps.assistant.registry import (
    challenger_set,
    model_version_artifact_problem,
    model_version_promote,
)
from apps.assistant.selectors import classification_view

_TRAINING_RECORD = (
    "metrics_summary",
    "artifact_path",
    "artifact_sha256",
    "training_size",
    "data_fingerprint",
    "parameters",
    "code_version",
    "created_by",
    "created_at",
)


class EvaluationUploadForm(forms.Form):
    data = forms.FileField(label="CSV file (text,label)")


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "status",
        "metric_accuracy",
        "metric_macro_f1",
        "other_metrics",
        "alias_names",
        "training_size",
        "created_at",
        "short_notes",
    )
    list_filter = ("model", "status", "created_at")
    list_select_related = ("model", "created_by")
    search_fields = ("model__name", "notes", "code_version", "data_fingerprint")
    date_hierarchy = "created_at"
    actions = ("make_champion", "make_challenger", "evaluate_held_out", "compare_with_champion")
    change_form_template = "admin/assistant/modelversion/change_form.html"

    metric_accuracy = metric_column("accuracy")
    metric_macro_f1 = metric_column("macro_f1")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelVersion]:
        return super().get_queryset(request).prefetch_related("aliases")

    def get_fields(self, request: HttpRequest, obj: ModelVersion | None = None):
        if obj is None:
            return super().get_fields(request, obj)
        return ("model", "version", "status", "notes", *_TRAINING_RECORD)

    def get_readonly_fields(self, request: HttpRequest, obj: ModelVersion | None = None):
        return ("created_by", "created_at") if obj is None else ("model", "version", *_TRAINING_RECORD)

    def save_model(self, request: HttpRequest, obj: ModelVersion, form: forms.ModelForm, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="other metrics")
    def other_metrics(self, version: ModelVersion) -> str:
        scalars = scalar_metrics(version.metrics)
        others = sorted(set(scalars) - set(HEADLINE_METRICS))
        return ", ".join(f"{name}={format_metric(scalars[name])}" for name in others)

    @admin.display(description="metrics")
    def metrics_summary(self, version: ModelVersion) -> str:
        scalars = scalar_metrics(version.metrics)
        return ", ".join(f"{name}={format_metric(value)}" for name, value in scalars.items()) or "-"

    @admin.display(description="aliases")
    def alias_names(self, version: ModelVersion) -> str:
        return ", ".join(sorted(alias.alias for alias in version.aliases.all()))

    @admin.display(description="notes")
    def short_notes(self, version: ModelVersion) -> str:
        # While a version trains, its notes carry the progress ("Training 40%: epoch 4 ...").
        return truncatechars(version.notes, 80)

    def has_alias_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(["assistant.add_modelalias", "assistant.change_modelalias"])

    def _move_alias(self, request: HttpRequest, queryset: QuerySet[ModelVersion], alias: str, move) -> None:
        versions = list(queryset.select_related("model"))
        if len({version.model_id for version in versions}) != len(versions):
            self.message_user(request, f"Pick one version per model to make {alias}.", messages.ERROR)
            return
        for version in versions:
            try:
                move(version=version, actor=request.user, reason="admin action")
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
            else:
                self.message_user(request, f"{version} is now {alias}.")

    @admin.action(description="Promote the selected version to champion", permissions=["alias"])
    def make_champion(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        self._move_alias(request, queryset, ModelAlias.Name.CHAMPION, model_version_promote)

    @admin.action(description="Make the selected version challenger", permissions=["alias"])
    def make_challenger(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        self._move_alias(request, queryset, ModelAlias.Name.CHALLENGER, challenger_set)

    @admin.action(description="Evaluate on today's held-out split (replaces the metrics)", permissions=["change"])
    def evaluate_held_out(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for version in queryset.select_related("model"):
            try:
                evaluation = evaluation_enqueue(version=version, actor=request.user)
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
            else:
                self._evaluation_message(request, evaluation)

    @admin.action(description="Compare with the champion on the held-out split", permissions=["change"])
    def compare_with_champion(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for version in queryset.select_related("model"):
            try:
                comparison_enqueue(version=version)
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
            else:
                link = reverse("admin:assistant_modelcomparison_changelist") + f"?candidate__id__exact={version.pk}"
                self.message_user(
                    request, format_html('{} is being compared: see <a href="{}">its comparisons</a>.', version, link)
                )

    def _evaluation_message(self, request: HttpRequest, evaluation: ModelEvaluation) -> None:
        if evaluation.status == ModelEvaluation.Status.FAILED:
            self.message_user(request, f"{evaluation}: {evaluation.error}", messages.ERROR)
        elif evaluation.status == ModelEvaluation.Status.DONE:
            metrics = evaluation.metrics
            self.message_user(
                request,
                f"{evaluation}: accuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f} "
                f"on {metrics['n']} examples.",
            )
        else:
            self.message_user(request, f"{evaluation} is queued on the training queue; the evaluations list shows it.")

    # --- The version page: its classification report, and evaluation on an uploaded file ----------------

    def get_urls(self):
        evaluate = self.admin_site.admin_view(require_POST(self.evaluate_view))
        name = f"{self.opts.app_label}_{self.opts.model_name}_evaluate"
        return [path("<path:object_id>/evaluate/", evaluate, name=name), *super().get_urls()]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        version = self.get_object(request, object_id)
        if version is not None:
            extra_context = {**(extra_context or {}), **self._report_context(request, version)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _report_context(self, request: HttpRequest, version: ModelVersion) -> dict:
        ready = version.status == ModelVersion.Status.READY
        return {
            "artifact_problem": model_version_artifact_problem(version) if ready else None,
            "report": classification_view(version.metrics) if version.metrics.get("per_label") else None,
            "report_title": "Held-out split",
            "upload_form": EvaluationUploadForm() if ready and self.has_change_permission(request, version) else None,
            "evaluations": version.evaluations.select_related("created_by")[:20],
        }

    def evaluate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        version = get_object_or_404(ModelVersion.objects.select_related("model"), pk=object_id)
        if not self.has_change_permission(request, version):
            raise PermissionDenied
        change_url = reverse("admin:assistant_modelversion_change", args=[version.pk])
        form = EvaluationUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            self.message_user(request, "Choose a CSV file to evaluate on.", messages.ERROR)
            return HttpResponseRedirect(change_url)
        upload = form.cleaned_data["data"]
        try:
            rows = labelled_csv_parse(io.TextIOWrapper(upload.file, encoding="utf-8-sig", newline=""), upload.name)
            evaluation = evaluation_enqueue(version=version, actor=request.user, rows=rows, data_name=upload.name)
        except LabelledFileError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(change_url)
        except ValidationError as error:
            self.message_user(request, "; ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(change_url)
        self._evaluation_message(request, evaluation)
        return HttpResponseRedirect(reverse("admin:assistant_modelevaluation_change", args=[evaluation.pk]))


@admin.register(ModelEvaluation)
class ModelEvaluationAdmin(admin.ModelAdmin):
    """Evaluations are written by the worker that runs them; here they are read (and deleted when stale)."""

    list_display = ("__str__", "status", "accuracy", "size", "created_by", "created_at", "finished_at")
    list_filter = ("status", "held_out", "version__model", "created_at")
    list_select_related = ("version__model", "created_by")
    search_fields = ("data_name", "version__model__name")
    fields = ("version", "data_name", "status", "size", "error", "created_by", "created_at", "finished_at")
    readonly_fields = fields
    change_form_template = "admin/assistant/modelevaluation/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("assistant.view_modelversion")

    @admin.display(description="accuracy")
    def accuracy(self, evaluation: ModelEvaluation) -> str | None:
        return format_metric(evaluation.metrics.get("accuracy"))

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        evaluation = self.get_object(request, object_id)
        if evaluation is not None and evaluation.status == ModelEvaluation.Status.DONE:
            extra_context = {
                **(extra_context or {}),
                "report": classification_view(evaluation.metrics),
                "report_title": f"{evaluation.data_name} ({evaluation.size} examples)",
            }
        return super().change_view(request, object_id, form_url, extra_context)
