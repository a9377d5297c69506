"""Reads of the learning loop, free of torch (the admin's pages use them): new data since the champion, how a
challenger does in shadow, what a comparison says per intent, and which texts carry conflicting labels."""

from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.fields.json import KT

from apps.assistant.models import ModelAlias, ModelComparison, ModelVersion, RegisteredModel, TrainingExample
from apps.assistant.selectors import model_alias_version
from apps.conversations.models import Message


def accepted_since_champion(*, model: RegisteredModel) -> int:
    """Accepted positive examples of the model's kind reviewed (or accepted on arrival) after its champion was
    trained: what a candidate would learn that the champion did not."""
    accepted = TrainingExample.objects.filter(
        kind=model.kind, status=TrainingExample.Status.ACCEPTED, signal=TrainingExample.Signal.POSITIVE
    )
    champion = model_alias_version(model=model, alias=ModelAlias.Name.CHAMPION)
    if champion is not None:
        accepted = accepted.filter(status_changed_at__gt=champion.created_at)
    return accepted.count()


# --- Shadow --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShadowSummary:
    """How a challenger did in shadow. Agents correct only the readings they find wrong, so the champion is wrong
    on every corrected message by construction: the comparison is over the messages agents *reviewed*, those
    they corrected and those of conversations they handled without correcting (the champion's reading
    presumed right there)."""

    messages: int  # live messages the version read in shadow
    agreed: int  # ... where it predicted what the champion predicted
    reviewed: int  # ... that an agent corrected, or saw in a conversation they handled
    corrected: int  # ... of those, corrected
    challenger_right: int  # reviewed messages where the shadow reading was the agent's intent
    champion_right: int  # ... and where the champion's was

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.messages if self.messages else None

    @property
    def challenger_accuracy(self) -> float | None:
        return self.challenger_right / self.reviewed if self.reviewed else None

    @property
    def champion_accuracy(self) -> float | None:
        return self.champion_right / self.reviewed if self.reviewed else None

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "agreement": self.agreement,
            "challenger_accuracy": self.challenger_accuracy,
            "champion_accuracy": self.champion_accuracy,
        }


def shadow_summary(*, version: ModelVersion) -> ShadowSummary:
    """How ``version`` did in shadow: agreement with the champion's readings of the same messages, and accuracy
    beside the champion's on the messages agents reviewed (ShadowSummary)."""
    rows = (
        Message.objects.filter(role=Message.Role.CUSTOMER, annotations__models__shadow__version_id=version.pk)
        .annotate(shadow_intent=KT("annotations__models__shadow__intent"))
        .annotate(corrected=KT("annotations__corrected_intent__intent"))
        .values_list("intent", "shadow_intent", "corrected", "conversation__assignee_id")
    )
    messages = agreed = reviewed = corrected = challenger_right = champion_right = 0
    for champion_intent, shadow_intent, corrected_intent, assignee in rows.iterator(chunk_size=2000):
        messages += 1
        agreed += shadow_intent == champion_intent
        if not corrected_intent and assignee is None:
            continue  # nobody at the desk looked at this reading
        truth = corrected_intent or champion_intent
        reviewed += 1
        corrected += bool(corrected_intent)
        challenger_right += shadow_intent == truth
        champion_right += champion_intent == truth
    return ShadowSummary(messages, agreed, reviewed, corrected, challenger_right, champion_right)


def conflicting(examples: QuerySet[TrainingExample]) -> QuerySet[TrainingExample]:
    """The examples whose text has another live (not rejected) label or signal of the same kind: two labels for
    one text, or a label both confirmed and denied."""
    others = TrainingExample.objects.filter(kind=OuterRef("kind"), text_sha256=OuterRef("text_sha256")).exclude(
        status=TrainingExample.Status.REJECTED
    )
    different = others.filter(~Q(label=OuterRef("label")) | ~Q(signal=OuterRef("signal")))
    return examples.filter(Exists(different))


@dataclass(frozen=True)
class LabelDelta:
    label: str
    champion_f1: float | None
    candidate_f1: float | None
    support: int

    @property
    def delta(self) -> float | None:
        if self.champion_f1 is None or self.candidate_f1 is None:
            return None
        return self.candidate_f1 - self.champion_f1


def comparison_label_deltas(comparison: ModelComparison) -> list[LabelDelta]:
    """Per intent: F1 of the champion and of the candidate on the same held-out examples, biggest change first."""
    before = comparison.champion_metrics.get("per_label", {})
    after = comparison.candidate_metrics.get("per_label", {})
    rows = [
        LabelDelta(
            label=label,
            champion_f1=before.get(label, {}).get("f1"),
            candidate_f1=after.get(label, {}).get("f1"),
            support=int((after.get(label) or before.get(label) or {}).get("support", 0)),
        )
        for label in sorted(set(before) | set(after))
    ]
    return sorted(rows, key=lambda row: (-abs(row.delta or 0.0), row.label))


def comparison_scalar_rows(comparison: ModelComparison) -> list[tuple[str, Any, Any, float | None]]:
    """(figure, champion, candidate, candidate - champion) for the comparison's headline figures."""
    rows = []
    for key in ("accuracy", "macro_f1", "top1_accuracy", "answered_share", "n"):
        before, after = comparison.champion_metrics.get(key), comparison.candidate_metrics.get(key)
        numeric = isinstance(before, int | float) and isinstance(after, int | float)
        rows.append((key, before, after, after - before if numeric else None))
    return rows
