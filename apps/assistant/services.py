import hashlib
import unicodedata

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from apps.assistant.models import AliasChange, ModelAlias, ModelVersion, RegisteredModel, TrainingExample


@transaction.atomic
def alias_set(
    *, model: RegisteredModel, alias: str, version: ModelVersion, actor: AbstractBaseUser | None, reason: str = ""
) -> ModelAlias:
    """Point ``alias`` of ``model`` at ``version`` and append the move to the alias history."""
    if version.model_id != model.pk:
        raise ValidationError(f"{version} does not belong to {model}")
    if version.status != ModelVersion.Status.READY:
        raise ValidationError(f"{version} is {version.status}; only a ready version can take an alias")
    current = ModelAlias.objects.select_for_update().filter(model=model, alias=alias).first()
    previous = current.version if current else None
    if previous == version:
        return current
    if current is None:
        current = ModelAlias(model=model, alias=alias)
    current.version = version
    current.save()
    AliasChange.objects.create(
        model=model, alias=alias, from_version=previous, to_version=version, actor=actor, reason=reason
    )
    return current


def example_text_sha256(text: str) -> str:
    normalised = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(normalised.encode()).hexdigest()


def training_example_add(
    *,
    kind: str,
    text: str,
    label: str,
    source: str,
    source_ref: str = "",
    status: str = TrainingExample.Status.ACCEPTED,
) -> tuple[TrainingExample, bool]:
    """Store one example unless the same text (case and spacing aside) already has this label."""
    return TrainingExample.objects.get_or_create(
        kind=kind,
        text_sha256=example_text_sha256(text),
        label=label,
        defaults={"text": text, "source": source, "source_ref": source_ref, "status": status},
    )


def training_example_set_status(*, examples: QuerySet[TrainingExample], status: str) -> int:
    """Review examples: accept, reject or send back to pending. Returns how many changed status."""
    if status not in TrainingExample.Status.values:
        raise ValueError(f"status must be one of {TrainingExample.Status.values}, got {status!r}")
    return examples.exclude(status=status).update(status=status)
