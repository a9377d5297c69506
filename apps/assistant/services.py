import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.audit import Action, audit_record
from apps.assistant.ml.preprocess import redact
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
    _alias_move_audit(model=model, alias=alias, previous=previous, version=version, actor=actor, reason=reason)
    return current


def _alias_move_audit(
    *,
    model: RegisteredModel,
    alias: str,
    previous: ModelVersion | None,
    version: ModelVersion | None,
    actor: AbstractBaseUser | None,
    reason: str,
) -> None:
    detail = {
        "alias": alias,
        "from_version": previous.version if previous else None,
        "to_version": version.version if version else None,
        "reason": reason,
    }
    audit_record(action=Action.ALIAS_MOVE, actor=actor, target=model, detail=detail)


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
    names: Sequence[str] = (),
    signal: str = TrainingExample.Signal.POSITIVE,
) -> tuple[TrainingExample, bool]:
    """Store one example, redacted (``names``: the customer's own, when the text is a customer's), unless the
    same text (case and spacing aside) already has this label and signal."""
    text = redact(text, names=names)
    return TrainingExample.objects.get_or_create(
        kind=kind,
        text_sha256=example_text_sha256(text),
        label=label,
        signal=signal,
        defaults={"text": text, "source": source, "source_ref": source_ref, "status": status},
    )


def training_example_set_status(
    *, examples: QuerySet[TrainingExample], status: str, actor: AbstractBaseUser | None = None
) -> int:
    """Review examples: accept, reject or send back to pending. Returns how many changed status."""
    if status not in TrainingExample.Status.values:
        raise ValueError(f"status must be one of {TrainingExample.Status.values}, got {status!r}")
    reviewer = actor if actor is not None and actor.pk else None
    return examples.exclude(status=status).update(status=status, status_changed_at=timezone.now(), reviewed_by=reviewer)


@transaction.atomic
def training_examples_relabel(
    *, examples: QuerySet[TrainingExample], label: str, actor: AbstractBaseUser | None
) -> int:
    """Give each selected text ``label``: its accepted positive example with that label is made (or accepted
    where it exists) and every other selected row of it is rejected, negatives included. Returns how many texts
    were relabelled. ValidationError for an empty or over-long label, nothing changed."""
    label = " ".join(label.split())
    if not label or len(label) > TrainingExample._meta.get_field("label").max_length:
        raise ValidationError("A label is 1 to 100 characters.")
    now, reviewer = timezone.now(), actor if actor is not None and actor.pk else None
    reviewed = {"status": TrainingExample.Status.ACCEPTED, "status_changed_at": now, "reviewed_by": reviewer}
    texts = set()
    # Locked by primary key: the admin's queryset joins the (nullable) reviewer, which FOR UPDATE refuses.
    chosen = list(examples.values_list("pk", flat=True))
    for example in TrainingExample.objects.select_for_update().filter(pk__in=chosen).order_by("pk"):
        kept, _ = TrainingExample.objects.update_or_create(
            kind=example.kind,
            text_sha256=example.text_sha256,
            label=label,
            signal=TrainingExample.Signal.POSITIVE,
            defaults=reviewed,
            create_defaults={
                **reviewed,
                "text": example.text,
                "source": example.source,
                "source_ref": example.source_ref,
            },
        )
        if kept.pk != example.pk:
            TrainingExample.objects.filter(pk=example.pk).update(
                status=TrainingExample.Status.REJECTED, status_changed_at=now, reviewed_by=reviewer
            )
        texts.add((example.kind, example.text_sha256))
    return len(texts)


@transaction.atomic
def alias_clear(*, model: RegisteredModel, alias: str, actor: AbstractBaseUser | None, reason: str = "") -> None:
    """Remove ``alias`` of ``model`` (e.g. the challenger once promoted) and append the move to the history."""
    current = ModelAlias.objects.select_for_update().filter(model=model, alias=alias).first()
    if current is None:
        return
    AliasChange.objects.create(
        model=model, alias=alias, from_version=current.version, to_version=None, actor=actor, reason=reason
    )
    _alias_move_audit(model=model, alias=alias, previous=current.version, version=None, actor=actor, reason=reason)
    current.delete()


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: str
    source_ref: str = ""


@transaction.atomic
def training_examples_import(*, kind: str, examples: list[LabelledText], source: str) -> tuple[int, int]:
    """Store ``examples`` (all or none), skipping those already stored or repeated in the list with the same
    label. Texts are stored redacted. Returns (new, duplicate)."""
    keyed: dict[tuple[str, str], LabelledText] = {}
    examples = [LabelledText(redact(e.text), e.label, e.source_ref) for e in examples]
    for example in examples:
        keyed.setdefault((example_text_sha256(example.text), example.label), example)
    stored = set()
    hashes = sorted({text_sha256 for text_sha256, _ in keyed})
    for start in range(0, len(hashes), 500):
        stored |= set(
            TrainingExample.objects.filter(kind=kind, text_sha256__in=hashes[start : start + 500]).values_list(
                "text_sha256", "label"
            )
        )
    fresh = [
        TrainingExample(
            kind=kind,
            text=example.text,
            label=example.label,
            text_sha256=text_sha256,
            source=source,
            source_ref=example.source_ref,
            status=TrainingExample.Status.ACCEPTED,
        )
        for (text_sha256, label), example in keyed.items()
        if (text_sha256, label) not in stored
    ]
    # ignore_conflicts: a row stored by a concurrent import since the read above is a duplicate too.
    TrainingExample.objects.bulk_create(fresh, batch_size=500, ignore_conflicts=True)
    return len(fresh), len(examples) - len(fresh)
