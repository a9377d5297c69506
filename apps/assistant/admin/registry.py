"""Registered models and their aliases: training actions, promotion, rollback, and the alias history."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest

from apps.assistant.admin.metrics import HEADLINE_METRICS, format_metric
from apps.assistant.jobs import training_enqueue
from apps.assistant.models import (
    AliasChange,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
)
from apps.assistant.registry import (
    model_version_rollback,
)
from apps.assistant.services import alias_clear, alias_set
from helpdesk.admin_base import AppendOnlyAdminMixin, ReadOnlyTabularInline


class ModelVersionInline(ReadOnlyTabularInline):
    model = ModelVersion
    fields = ("version", "status", "headline_metrics", "training_size", "created_at", "notes")
    readonly_fields = fields
    ordering = ("-version",)
    show_change_link = True

    @admin.display(description="metrics")
    def headline_metrics(self, version: ModelVersion) -> str:
        return ", ".join(
            f"{name}={format_metric(version.metrics[name])}" for name in HEADLINE_METRICS if name in version.metrics
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
            accuracy = format_metric(version.metrics.get("accuracy"))
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
