"""How metrics show in the registry's lists."""

from django.contrib import admin
from django.db.models import FloatField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from apps.assistant.models import (
    ModelVersion,
)

# The metrics every kind of model reports on its held-out split, shown as columns side by side.
HEADLINE_METRICS = ("accuracy", "macro_f1")


def format_metric(value) -> str | None:
    if isinstance(value, float):
        return f"{value:.3f}"
    return None if value is None else str(value)


def scalar_metrics(metrics: dict) -> dict[str, int | float]:
    """The single-number metrics; per_label, confusion and the like are for the version page."""
    return {
        name: value for name, value in metrics.items() if isinstance(value, int | float) and not isinstance(value, bool)
    }


def metric_column(name: str):
    @admin.display(description=name, ordering=Cast(KT(f"metrics__{name}"), FloatField()))
    def column(self, version: ModelVersion) -> str | None:
        return format_metric(version.metrics.get(name))

    column.__name__ = f"metric_{name}"
    return column
