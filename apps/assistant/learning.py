"""The learning loop: feedback → accepted examples → a candidate version → compared with the champion on the
same held-out examples → the challenger, reading live messages in shadow → promoted by the gate, or left for
an ML admin. The beat job (tasks.learning_loop_tick, every 15 minutes on the training queue) runs
``learning_loop_run``; the admin runs it on demand. Torch side: imported by workers and the admin's actions
that run in a worker, never by the chat.

The intent and sentiment models run the loop. Only the intent model's challenger reads live traffic
(analysis._shadow_read), since agents correct intents and not sentiment: a sentiment candidate passes the gate
on the held-out split alone. The satisfaction model learns from rated dialogues and is retrained by hand."""

import logging
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.assistant.examples import data_fingerprint, examples_split, labelled_examples
from apps.assistant.feedback import feedback_ratings_collect, learning_loop_config
from apps.assistant.jobs import MODEL_NAMES, model_version_start
from apps.assistant.learning_selectors import ShadowSummary, accepted_since_champion, shadow_summary
from apps.assistant.ml.intent import IntentModel
from apps.assistant.models import (
    GateDecision,
    LearningLoopConfig,
    ModelAlias,
    ModelComparison,
    ModelKind,
    ModelVersion,
    RegisteredModel,
)
from apps.assistant.registry import challenger_set, model_version_load_checked, model_version_promote
from apps.assistant.selectors import model_alias_version
from apps.assistant.training import intent_predictions_report, model_version_run

logger = logging.getLogger(__name__)

# A training reports progress at least once an epoch. The broker redelivers an unacknowledged task after its
# visibility timeout (CELERY_VISIBILITY_TIMEOUT, one hour) even while the first worker still trains; the copy
# finding progress newer than this leaves it alone, and takes over only from a worker that died.
TRAINING_ALIVE = timedelta(minutes=30)

LOOP_KINDS = (ModelKind.INTENT, ModelKind.SENTIMENT)
SHADOW_KINDS = (ModelKind.INTENT,)
CHANGED_KEPT = 500  # held-out examples whose prediction changed, kept on a comparison for the admin's page


# --- New data and candidates ---------------------------------------------------------------------------------


def candidate_train(*, model: RegisteredModel, config: LearningLoopConfig, new_examples: int) -> ModelVersion:
    """Trains a version on all accepted data now (here, in the calling worker); when the model has a champion,
    compares the two on the held-out split and makes the new version challenger. ValidationError when the data
    cannot train a model; a failed training is marked on its version and raised."""
    champion = model_alias_version(model=model, alias=ModelAlias.Name.CHAMPION)
    version = model_version_start(kind=model.kind, fast=config.fast_training, actor=None)
    version = model_version_run(version=version)
    if champion is None or model_alias_version(model=model, alias=ModelAlias.Name.CHAMPION) == version:
        return version  # the model's first version: champion by training, nothing to compare with
    version_compare(candidate=version, champion=champion)
    challenger_set(version=version, actor=None, reason=f"Learning loop: trained with {new_examples} new examples")
    return version


# --- Comparison on the held-out split ------------------------------------------------------------------------


def version_compare(*, candidate: ModelVersion, champion: ModelVersion) -> ModelComparison:
    """Both versions evaluated on the held-out examples the champion was measured on: those accepted before it
    was trained (the split is fixed by each text's hash). Examples accepted since are left out on purpose: most
    are agents' corrections, texts the champion got wrong, which would favour any candidate. When there are
    none, today's held-out split is used and the comparison says so. Stores both reports and the examples
    whose prediction changed."""
    kind = candidate.model.kind
    scope = "held-out examples accepted before the champion was trained"
    _, held_out = examples_split(labelled_examples(kind=kind, accepted_before=champion.created_at))
    if not held_out:
        scope = "today's held-out examples (none was accepted before the champion was trained)"
        _, held_out = examples_split(labelled_examples(kind=kind))
    if not held_out:
        raise ValidationError(f"There are no held-out {kind} examples to compare on")
    texts, labels = [example.text for example in held_out], [example.label for example in held_out]
    champion_predictions = IntentModel.load(model_version_load_checked(champion)).predict(texts)
    candidate_predictions = IntentModel.load(model_version_load_checked(candidate)).predict(texts)
    changed = [
        {"text": text, "label": label, "champion": before.intent, "candidate": after.intent}
        for text, label, before, after in zip(texts, labels, champion_predictions, candidate_predictions, strict=True)
        if before.intent != after.intent
    ]
    return ModelComparison.objects.create(
        candidate=candidate,
        champion=champion,
        held_out_size=len(held_out),
        held_out_fingerprint=data_fingerprint(held_out),
        candidate_metrics={**_compact(intent_predictions_report(candidate_predictions, labels)), "scope": scope},
        champion_metrics={**_compact(intent_predictions_report(champion_predictions, labels)), "scope": scope},
        changed=changed[:CHANGED_KEPT],
        changed_count=len(changed),
    )


def _compact(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "confusion"}  # 77 by 77 counts, not needed here


def comparison_latest(*, candidate: ModelVersion, champion: ModelVersion) -> ModelComparison | None:
    return ModelComparison.objects.filter(candidate=candidate, champion=champion).first()


# --- The gate ------------------------------------------------------------------------------------------------


def gate_run(*, challenger: ModelVersion, config: LearningLoopConfig) -> GateDecision:
    """Promotes the challenger when it beats the champion by the margin on the held-out split and does no worse
    than it on the messages agents reviewed in shadow (once it has read enough of them); otherwise records
    why it waits (for traffic, or for an ML admin). One decision row per outcome, updated as figures move."""
    model = challenger.model
    champion = model_alias_version(model=model, alias=ModelAlias.Name.CHAMPION)
    if champion is None:
        raise ValidationError(f"{model} has no champion to compare its challenger with")
    comparison = comparison_latest(candidate=challenger, champion=champion) or version_compare(
        candidate=challenger, champion=champion
    )
    metric = config.gate_metric
    delta = comparison.candidate_metrics[metric] - comparison.champion_metrics[metric]
    shadow = shadow_summary(version=challenger)
    outcome, reasons = _gate_verdict(config, metric, delta, shadow, shadowed=model.kind in SHADOW_KINDS)
    if outcome == GateDecision.Outcome.PROMOTED:
        model_version_promote(version=challenger, actor=None, reason="Learning loop gate: " + "; ".join(reasons))
    return _decision_record(challenger, champion, outcome, reasons, delta, shadow)


def _gate_verdict(
    config: LearningLoopConfig, metric: str, delta: float, shadow: ShadowSummary, *, shadowed: bool
) -> tuple[str, list[str]]:
    held_out = f"{metric} {delta:+.4f} on the held-out split (margin {config.promotion_margin:.4f})"
    if not shadowed:
        return _held_out_verdict(config, held_out, beats=delta >= config.promotion_margin)
    if shadow.messages < config.shadow_min_messages:
        return GateDecision.Outcome.WAITING_SHADOW, [
            held_out,
            f"{shadow.messages} of {config.shadow_min_messages} messages read in shadow",
        ]
    in_shadow = (
        f"right on {shadow.challenger_right} of {shadow.reviewed} messages agents reviewed in shadow "
        f"({shadow.corrected} corrected; champion {shadow.champion_right}); agrees with the champion on "
        f"{shadow.agreed} of {shadow.messages}"
    )
    beats, no_worse = delta >= config.promotion_margin, shadow.challenger_right >= shadow.champion_right
    if beats and no_worse and config.auto_promote:
        return GateDecision.Outcome.PROMOTED, [held_out, in_shadow]
    why = []
    if not beats:
        why.append("does not beat the champion by the margin")
    if not no_worse:
        why.append("worse than the champion in shadow")
    if beats and no_worse:
        why.append("automatic promotion is off")
    return GateDecision.Outcome.NEEDS_ADMIN, [held_out, in_shadow, *why]


def _held_out_verdict(config: LearningLoopConfig, held_out: str, *, beats: bool) -> tuple[str, list[str]]:
    reasons = [held_out, "no shadow reading for this model: the held-out split decides"]
    if beats and config.auto_promote:
        return GateDecision.Outcome.PROMOTED, reasons
    why = "automatic promotion is off" if beats else "does not beat the champion by the margin"
    return GateDecision.Outcome.NEEDS_ADMIN, [*reasons, why]


@transaction.atomic
def _decision_record(
    version: ModelVersion, champion: ModelVersion, outcome: str, reasons: list[str], delta: float, shadow: ShadowSummary
) -> GateDecision:
    decision = GateDecision.objects.select_for_update().filter(version=version).first()
    if decision is None or decision.outcome != outcome or decision.champion_id != champion.pk:
        decision = GateDecision(version=version, champion=champion, outcome=outcome)
    decision.reasons, decision.held_out_delta, decision.shadow = reasons, delta, shadow.as_json()
    decision.save()
    return decision


# --- The beat job --------------------------------------------------------------------------------------------


def learning_loop_run() -> dict[str, Any]:
    """One turn of the loop for each model that runs it: ratings collected into review items, then either the
    gate on the challenger, or a candidate trained when enough new examples were accepted. Returns what it did
    per model, for the task's result and the admin's message."""
    config = learning_loop_config()
    report: dict[str, Any] = {"rating_items": feedback_ratings_collect()}
    if not config.enabled:
        return {**report, "enabled": False}
    for kind in LOOP_KINDS:
        model = RegisteredModel.objects.filter(name=MODEL_NAMES[kind]).first()
        report[kind] = "no model yet" if model is None else _model_turn(model, config)
    return report


def _training_alive(model: RegisteredModel) -> bool:
    # A version left in training by a worker that died (no progress for TRAINING_ALIVE) does not block the loop.
    cutoff = timezone.now() - TRAINING_ALIVE
    alive = Q(progress_at__gte=cutoff) | Q(progress_at__isnull=True, created_at__gte=cutoff)
    return model.versions.filter(alive, status=ModelVersion.Status.TRAINING).exists()


def _model_turn(model: RegisteredModel, config: LearningLoopConfig) -> str:
    challenger = model_alias_version(model=model, alias=ModelAlias.Name.CHALLENGER)
    if challenger is not None:
        decision = gate_run(challenger=challenger, config=config)
        return f"{challenger}: {decision.get_outcome_display().lower()} ({'; '.join(decision.reasons)})"
    if _training_alive(model):
        return "a version is in training"
    new_examples = accepted_since_champion(model=model)
    if new_examples < config.min_new_examples:
        return f"{new_examples} of {config.min_new_examples} new accepted examples"
    try:
        version = candidate_train(model=model, config=config, new_examples=new_examples)
    except ValidationError as error:
        logger.warning("learning loop: no candidate of %s: %s", model, error)
        return f"no candidate: {' '.join(error.messages)}"
    return f"{version} trained with {new_examples} new examples"
