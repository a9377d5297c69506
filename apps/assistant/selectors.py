"""Reads of the model registry: which version an alias points at, its history, and a version's report."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, QuerySet

from apps.assistant.models import (
    AliasChange,
    ModelAlias,
    ModelKind,
    ModelVersion,
    PolicyConfig,
    RegisteredModel,
    SuggestionUse,
    TrainingExample,
)


def model_alias_version(*, model: RegisteredModel, alias: str) -> ModelVersion | None:
    pointer = ModelAlias.objects.select_related("version__model").filter(model=model, alias=alias).first()
    return pointer.version if pointer else None


def champion_previous(*, model: RegisteredModel) -> ModelVersion | None:
    """The version the champion pointed at before its latest move; None when it has never moved."""
    latest = (
        AliasChange.objects.select_related("from_version__model")
        .filter(model=model, alias=ModelAlias.Name.CHAMPION)
        .order_by("-created_at", "-pk")
        .first()
    )
    return latest.from_version if latest else None


def model_version_get(*, model_name: str, version: int | None = None) -> ModelVersion:
    """Version ``version`` of the model named ``model_name``, or its champion when ``version`` is None.

    Raises ModelVersion.DoesNotExist when there is no such version (or no champion)."""
    if version is not None:
        return ModelVersion.objects.select_related("model").get(model__name=model_name, version=version)
    pointer = (
        ModelAlias.objects.select_related("version__model")
        .filter(model__name=model_name, alias=ModelAlias.Name.CHAMPION)
        .first()
    )
    if pointer is None:
        raise ModelVersion.DoesNotExist(f"The model {model_name!r} has no champion")
    return pointer.version


@dataclass(frozen=True)
class LabelRow:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Confusion:
    actual: str
    predicted: str
    count: int


@dataclass
class ClassificationView:
    """A classification report laid out for a page: headline figures, one row per label (worst F1 first, so
    the labels to work on come first), the matrix as points for a chart and its largest mistakes."""

    headline: list[tuple[str, str]] = field(default_factory=list)
    rows: list[LabelRow] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    # [predicted index, actual index, count] for every non-zero cell.
    cells: list[list[int]] = field(default_factory=list)
    top_confusions: list[Confusion] = field(default_factory=list)

    @property
    def chart_height_em(self) -> int:
        """Room for one row per label plus the rotated label names under the matrix."""
        return round(1.2 * len(self.labels)) + 16

    @property
    def chart(self) -> dict[str, Any]:
        """What the page's chart script reads (through json_script)."""
        return {
            "labels": self.labels,
            "cells": self.cells,
            "top_confusions": [[c.actual, c.predicted, c.count] for c in self.top_confusions],
        }


HEADLINE_ORDER = (
    ("accuracy", "Accuracy"),
    ("macro_f1", "Macro-F1"),
    ("top1_accuracy", "Top-1 accuracy (ignoring the out-of-scope rule)"),
    ("answered_share", "Share answered (not out of scope)"),
    ("in_scope_accuracy", "In-scope accuracy"),
    ("oos_recall", "Out-of-scope recall"),
    ("oos_precision", "Out-of-scope precision"),
    ("n", "Examples"),
    ("training_seconds", "Training time (s)"),
    ("epochs", "Epochs"),
)


def _figure(value: Any) -> str:
    if not isinstance(value, float):
        return str(value)
    return f"{value:.4f}" if abs(value) <= 1 else f"{value:.1f}"  # a share, or e.g. seconds


def classification_view(report: dict[str, Any], top: int = 15) -> ClassificationView:
    """Lays out a classification_report dict (as stored in ModelVersion.metrics) for a page."""
    view = ClassificationView(
        headline=[(title, _figure(report[key])) for key, title in HEADLINE_ORDER if key in report],
        labels=list(report.get("labels", [])),
    )
    view.rows = sorted(
        (LabelRow(label=label, **figures) for label, figures in report.get("per_label", {}).items()),
        # Labels only predicted, never in the data (support 0), go last: their F1 of 0 is no news.
        key=lambda row: (row.support == 0, row.f1, row.label),
    )
    confusions = []
    for actual_index, counts in enumerate(report.get("confusion", [])):
        for predicted_index, count in enumerate(counts):
            if count:
                view.cells.append([predicted_index, actual_index, count])
                if predicted_index != actual_index:
                    confusions.append(Confusion(view.labels[actual_index], view.labels[predicted_index], count))
    view.top_confusions = sorted(confusions, key=lambda c: (-c.count, c.actual, c.predicted))[:top]
    return view


def policy_config() -> PolicyConfig:
    """The dialogue policy's settings: the one row, or the defaults until an admin saves it."""
    return PolicyConfig.objects.order_by("pk").first() or PolicyConfig()


def suggestion_acceptance_of(*, uses: QuerySet[SuggestionUse]) -> dict[str, Any]:
    """Counts of ``uses`` by outcome, their total, and the acceptance rate: (used + edited) / total, or None
    when there is nothing to count."""
    counts = dict(uses.order_by().values_list("outcome").annotate(count=Count("pk")))
    figures: dict[str, Any] = {outcome: counts.get(outcome, 0) for outcome in SuggestionUse.Outcome.values}
    total = sum(figures.values())
    figures["total"] = total
    accepted = figures[SuggestionUse.Outcome.USED] + figures[SuggestionUse.Outcome.EDITED]
    figures["acceptance_rate"] = accepted / total if total else None
    return figures


def suggestion_acceptance(*, since: datetime | None = None, agent: AbstractBaseUser | None = None) -> dict[str, Any]:
    """How agents took the suggested replies: ``{"used", "edited", "ignored", "total", "acceptance_rate"}``,
    since ``since`` and for one ``agent`` when given."""
    uses = SuggestionUse.objects.all()
    if since is not None:
        uses = uses.filter(created_at__gte=since)
    if agent is not None:
        uses = uses.filter(agent=agent)
    return suggestion_acceptance_of(uses=uses)


def intent_labels_known() -> list[str]:
    """Every intent label of an accepted training example, sorted: what agents pick from to correct one."""
    examples = TrainingExample.objects.filter(kind=ModelKind.INTENT, status=TrainingExample.Status.ACCEPTED)
    return list(examples.order_by("label").values_list("label", flat=True).distinct())
