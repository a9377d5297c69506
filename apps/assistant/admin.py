"""The model registry's back office, for ML admins. Alias moves go through the registry's services (alias_set
underneath), so every move is in the append-only AliasChange history. Training starts a Celery task on the
training queue; in the embedded default Celery is eager and the action trains inline."""

import io

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, FloatField, OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import truncatechars
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from apps.assistant.examples import LabelledFileError, labelled_csv_parse
from apps.assistant.jobs import evaluation_enqueue, training_enqueue
from apps.assistant.models import (
    AliasChange,
    ModelAlias,
    ModelEvaluation,
    ModelVersion,
    PolicyConfig,
    RegisteredModel,
    SuggestionUse,
    TrainingExample,
)
from apps.assistant.registry import (
    challenger_set,
    model_version_artifact_problem,
    model_version_promote,
    model_version_rollback,
)
from apps.assistant.selectors import classification_view, suggestion_acceptance_of
from apps.assistant.services import alias_clear, alias_set, training_example_add, training_example_set_status
from helpdesk.admin_base import AppendOnlyAdminMixin, ReadOnlyTabularInline

# The metrics every kind of model reports on its held-out split, shown as columns side by side.
HEADLINE_METRICS = ("accuracy", "macro_f1")


def _format_metric(value) -> str | None:
    if isinstance(value, float):
        return f"{value:.3f}"
    return None if value is None else str(value)


def _scalar_metrics(metrics: dict) -> dict[str, int | float]:
    """The single-number metrics; per_label, confusion and the like are for the version page."""
    return {
        name: value for name, value in metrics.items() if isinstance(value, int | float) and not isinstance(value, bool)
    }


def _metric_column(name: str):
    @admin.display(description=name, ordering=Cast(KT(f"metrics__{name}"), FloatField()))
    def column(self, version: ModelVersion) -> str | None:
        return _format_metric(version.metrics.get(name))

    column.__name__ = f"metric_{name}"
    return column


class ModelVersionInline(ReadOnlyTabularInline):
    model = ModelVersion
    fields = ("version", "status", "headline_metrics", "training_size", "created_at", "notes")
    readonly_fields = fields
    ordering = ("-version",)
    show_change_link = True

    @admin.display(description="metrics")
    def headline_metrics(self, version: ModelVersion) -> str:
        return ", ".join(
            f"{name}={_format_metric(version.metrics[name])}" for name in HEADLINE_METRICS if name in version.metrics
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelVersion]:
        # Each row is labelled with str(version), which names the model.
        return super().get_queryset(request).select_related("model")


class AliasChangeInline(ReadOnlyTabularInline):
    model = AliasChange
    fk_name = "model"
    verbose_name_plural = "alias history"
    fields = ("created_at", "alias", "from_version", "to_version", "actor", "reason")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[AliasChange]:
        return (
            super().get_queryset(request).select_related("model", "from_version__model", "to_version__model", "actor")
        )


def _alias_version(alias: str) -> Subquery:
    return Subquery(ModelAlias.objects.filter(model=OuterRef("pk"), alias=alias).values("version__version")[:1])


@admin.register(RegisteredModel)
class RegisteredModelAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "version_count", "champion", "challenger", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "description")
    readonly_fields = ("created_at",)
    inlines = (ModelVersionInline, AliasChangeInline)
    actions = ("train_fast", "train_full", "rollback_champion")

    def get_queryset(self, request: HttpRequest) -> QuerySet[RegisteredModel]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                version_count=Count("versions"),
                champion_version=_alias_version(ModelAlias.Name.CHAMPION),
                challenger_version=_alias_version(ModelAlias.Name.CHALLENGER),
            )
        )

    @admin.display(description="versions", ordering="version_count")
    def version_count(self, model: RegisteredModel) -> int:
        return model.version_count

    @admin.display(description="champion", ordering="champion_version")
    def champion(self, model: RegisteredModel) -> str | None:
        return f"v{model.champion_version}" if model.champion_version else None

    @admin.display(description="challenger", ordering="challenger_version")
    def challenger(self, model: RegisteredModel) -> str | None:
        return f"v{model.challenger_version}" if model.challenger_version else None

    def has_train_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("assistant.add_modelversion")

    def has_alias_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(["assistant.add_modelalias", "assistant.change_modelalias"])

    def _train(self, request: HttpRequest, queryset: QuerySet[RegisteredModel], *, fast: bool) -> None:
        for model in queryset:
            try:
                version = training_enqueue(model=model, fast=fast, actor=request.user)
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
            except Exception as error:
                # Eager Celery (the embedded default) trains inline and raises here, as does a broker out of
                # reach; either way the version is marked failed with the error in its notes.
                self.message_user(request, f"Training of {model} failed: {error}", messages.ERROR)
            else:
                self.message_user(request, self._started_message(version))

    @staticmethod
    def _started_message(version: ModelVersion) -> str:
        if version.status == ModelVersion.Status.READY:
            accuracy = _format_metric(version.metrics.get("accuracy"))
            return f"{version} trained: accuracy {accuracy} on the held-out split."
        return f"{version} is training on the training queue; its notes show the progress."

    @admin.action(description="Train a new version (fast: a head on the frozen encoder)", permissions=["train"])
    def train_fast(self, request: HttpRequest, queryset: QuerySet[RegisteredModel]) -> None:
        self._train(request, queryset, fast=True)

    @admin.action(description="Train a new version (full: fine-tune the encoder)", permissions=["train"])
    def train_full(self, request: HttpRequest, queryset: QuerySet[RegisteredModel]) -> None:
        self._train(request, queryset, fast=False)

    @admin.action(description="Roll back the champion to its previous version", permissions=["alias"])
    def rollback_champion(self, request: HttpRequest, queryset: QuerySet[RegisteredModel]) -> None:
        for model in queryset:
            try:
                champion = model_version_rollback(model=model, actor=request.user, reason="admin action")
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
            else:
                self.message_user(request, f"{model}'s champion is back to v{champion.version.version}.")


# Written by the training task; in the admin only the status (e.g. to retire a version) and notes change. The
# metrics show as a summary line; the full report (per label, confusion matrix) is drawn below the form.
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
    actions = ("make_champion", "make_challenger", "evaluate_held_out")
    change_form_template = "admin/assistant/modelversion/change_form.html"

    metric_accuracy = _metric_column("accuracy")
    metric_macro_f1 = _metric_column("macro_f1")

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
        scalars = _scalar_metrics(version.metrics)
        others = sorted(set(scalars) - set(HEADLINE_METRICS))
        return ", ".join(f"{name}={_format_metric(scalars[name])}" for name in others)

    @admin.display(description="metrics")
    def metrics_summary(self, version: ModelVersion) -> str:
        scalars = _scalar_metrics(version.metrics)
        return ", ".join(f"{name}={_format_metric(value)}" for name, value in scalars.items()) or "-"

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
        return _format_metric(evaluation.metrics.get("accuracy"))

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        evaluation = self.get_object(request, object_id)
        if evaluation is not None and evaluation.status == ModelEvaluation.Status.DONE:
            extra_context = {
                **(extra_context or {}),
                "report": classification_view(evaluation.metrics),
                "report_title": f"{evaluation.data_name} ({evaluation.size} examples)",
            }
        return super().change_view(request, object_id, form_url, extra_context)


class ModelAliasForm(forms.ModelForm):
    reason = forms.CharField(
        required=False,
        max_length=AliasChange._meta.get_field("reason").max_length,
        help_text="Kept in the alias history.",
    )

    class Meta:
        model = ModelAlias
        fields = ("model", "alias", "version")

    def clean(self):
        cleaned = super().clean()
        model = cleaned.get("model") or getattr(self.instance, "model", None)
        version = cleaned.get("version")
        # alias_set refuses this too; checking here turns its refusal into a form error instead of a 500.
        if model is not None and version is not None and version.model_id != model.pk:
            self.add_error("version", f"{version} is a version of {version.model}, not of {model}.")
        return cleaned


@admin.register(ModelAlias)
class ModelAliasAdmin(admin.ModelAdmin):
    form = ModelAliasForm
    list_display = ("model", "alias", "version", "updated_at")
    list_filter = ("alias", "model")
    list_select_related = ("model", "version__model")
    search_fields = ("model__name",)

    def get_fields(self, request: HttpRequest, obj: ModelAlias | None = None):
        if obj is not None and not self.has_change_permission(request, obj):
            return ("model", "alias", "version", "updated_at")
        return ("model", "alias", "version", "reason", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: ModelAlias | None = None):
        return ("updated_at",) if obj is None else ("model", "alias", "updated_at")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "version":
            # Only a ready version can take an alias (alias_set's rule), so only those are offered.
            kwargs["queryset"] = ModelVersion.objects.filter(status=ModelVersion.Status.READY).select_related("model")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    actions = ("clear_challenger",)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Removing an alias goes through alias_clear (the action below), which writes the history.
        return False

    @admin.action(description="Clear the selected challengers (stop their shadow runs)", permissions=["change"])
    def clear_challenger(self, request: HttpRequest, queryset: QuerySet[ModelAlias]) -> None:
        champions = queryset.filter(alias=ModelAlias.Name.CHAMPION).count()
        if champions:
            self.message_user(request, "A champion is moved (promote or roll back), never cleared.", messages.ERROR)
            return
        for alias in queryset.select_related("model", "version__model"):
            alias_clear(model=alias.model, alias=alias.alias, actor=request.user, reason="cleared in the admin")
            self.message_user(request, f"{alias.model}'s challenger {alias.version} is cleared.")

    def save_model(self, request: HttpRequest, obj: ModelAlias, form: ModelAliasForm, change: bool) -> None:
        reason = form.cleaned_data["reason"]
        saved = alias_set(model=obj.model, alias=obj.alias, version=obj.version, actor=request.user, reason=reason)
        obj.pk = saved.pk
        obj.refresh_from_db()


@admin.register(AliasChange)
class AliasChangeAdmin(AppendOnlyAdminMixin, admin.ModelAdmin):
    """Append-only: nobody, superusers included, changes or deletes a row."""

    list_display = ("created_at", "model", "alias", "from_version", "to_version", "actor", "reason")
    list_filter = ("alias", "model", "created_at")
    list_select_related = ("model", "from_version__model", "to_version__model", "actor")
    search_fields = ("model__name", "reason", "actor__username")
    date_hierarchy = "created_at"


@admin.register(TrainingExample)
class TrainingExampleAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "label", "short_text", "source", "status", "created_at")
    list_filter = ("kind", "status", "source", "created_at")
    search_fields = ("text", "label", "source_ref")
    date_hierarchy = "created_at"
    actions = ("accept", "reject")

    def get_readonly_fields(self, request: HttpRequest, obj: TrainingExample | None = None):
        # Text and label make the dedup key (kind, text hash, label); to relabel, reject and add a new example.
        return ("created_at",) if obj is None else ("kind", "text", "label", "source", "source_ref", "created_at")

    @admin.display(description="text")
    def short_text(self, example: TrainingExample) -> str:
        return truncatechars(example.text, 80)

    def save_model(self, request: HttpRequest, obj: TrainingExample, form: forms.ModelForm, change: bool) -> None:
        if change:
            training_example_set_status(examples=TrainingExample.objects.filter(pk=obj.pk), status=obj.status)
            return
        example, created = training_example_add(
            kind=obj.kind,
            text=obj.text,
            label=obj.label,
            source=obj.source,
            source_ref=obj.source_ref,
            status=obj.status,
        )
        if not created:
            self.message_user(request, f"This text already had the label {example.label!r}; kept the stored one.")
        obj.pk = example.pk
        obj.refresh_from_db()

    @admin.action(description="Accept selected examples", permissions=["change"])
    def accept(self, request: HttpRequest, queryset: QuerySet[TrainingExample]) -> None:
        changed = training_example_set_status(examples=queryset, status=TrainingExample.Status.ACCEPTED)
        self.message_user(request, f"{changed} example(s) accepted.")

    @admin.action(description="Reject selected examples", permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[TrainingExample]) -> None:
        changed = training_example_set_status(examples=queryset, status=TrainingExample.Status.REJECTED)
        self.message_user(request, f"{changed} example(s) rejected.")


@admin.register(PolicyConfig)
class PolicyConfigAdmin(admin.ModelAdmin):
    """One row: the dialogue policy's thresholds and the reply backend (per intent where it differs)."""

    list_display = (
        "__str__",
        "answer_confidence",
        "clarify_margin",
        "retrieval_min_score",
        "reply_backend",
        "updated_at",
    )
    readonly_fields = ("updated_at", "updated_by")
    fieldsets = (
        ("When the bot answers", {"fields": ("answer_confidence", "retrieval_min_score")}),
        ("When it asks", {"fields": ("clarify_margin", "clarify_confidence")}),
        ("When it hands over", {"fields": ("handoff_sentiment", "max_out_of_scope", "max_failed_answers")}),
        ("How it words answers", {"fields": ("reply_backend", "reply_backend_by_intent")}),
        (None, {"fields": ("updated_at", "updated_by")}),
    )

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        # One row (checked here, not in has_add_permission, which every admin page's sidebar calls).
        config = PolicyConfig.objects.order_by("pk").first()
        if config is not None:
            return HttpResponseRedirect(reverse("admin:assistant_policyconfig_change", args=[config.pk]))
        return super().add_view(request, form_url, extra_context)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: PolicyConfig, form: forms.ModelForm, change: bool) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


def _acceptance_line(figures: dict) -> str:
    if not figures["total"]:
        return "No suggestion use recorded here."
    return (
        f"Acceptance rate {figures['acceptance_rate']:.1%}: used {figures['used']}, edited {figures['edited']}, "
        f"ignored {figures['ignored']} of {figures['total']}"
    )


@admin.register(SuggestionUse)
class SuggestionUseAdmin(AppendOnlyAdminMixin, admin.ModelAdmin):
    """What agents did with the suggested replies, written by the inbox (apps.assistant.suggestion_services)
    and only read here. The header gives the acceptance rate of the rows listed, so the filters (outcome,
    source, agent, dates) narrow it too."""

    list_display = ("created_at", "outcome", "source", "suggestion_id", "agent", "customer_text", "reply_text")
    list_filter = ("outcome", "source", ("agent", admin.RelatedOnlyFieldListFilter), "created_at")
    list_select_related = ("message", "reply", "agent")
    search_fields = ("suggestion_id", "message__text", "reply__text")
    date_hierarchy = "created_at"

    @admin.display(description="customer's message")
    def customer_text(self, use: SuggestionUse) -> str:
        return truncatechars(use.message.text, 80)

    @admin.display(description="reply sent")
    def reply_text(self, use: SuggestionUse) -> str:
        return truncatechars(use.reply.text, 80) if use.reply else "—"

    def changelist_view(self, request: HttpRequest, extra_context=None):
        response = super().changelist_view(request, extra_context)
        # The filtered rows exist only once the changelist is built, so the rate joins the context afterwards.
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            response.context_data["subtitle"] = _acceptance_line(suggestion_acceptance_of(uses=changelist.queryset))
        return response
