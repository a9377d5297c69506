"""Training and evaluating versions: the torch side, run by Celery workers on the training queue (and by the
``train`` and ``evaluate`` commands). apps/assistant/jobs.py starts the jobs without importing this module.
"""

import contextlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.assistant.dialogues import (
    ParsedDialogue,
    SatisfactionSample,
    TrainingDialogue,
    dialogues_fingerprint,
    dialogues_samples,
    dialogues_split,
    rated_dialogues,
)
from apps.assistant.examples import Example, data_fingerprint, examples_split, labelled_examples
from apps.assistant.jobs import model_version_start, satisfaction_training_data, training_data
from apps.assistant.ml.config import IntentTrainingConfig, RecommenderTrainingConfig, SatisfactionTrainingConfig
from apps.assistant.ml.encoder import encoder_load
from apps.assistant.ml.intent import IntentModel, IntentPrediction, train_intent_model
from apps.assistant.ml.metrics import classification_report, satisfaction_report
from apps.assistant.ml.recommender import train_recommender
from apps.assistant.ml.satisfaction import (
    CrossValidation,
    SatisfactionModel,
    cross_validate,
    train_satisfaction_model,
)
from apps.assistant.ml.satisfaction_features import ConversationFeatures, TextEmbeddings
from apps.assistant.models import ModelEvaluation, ModelKind, ModelVersion
from apps.assistant.recommender_data import recommender_data_fingerprint, recommender_training_data
from apps.assistant.registry import (
    ArtifactError,
    artifact_staging_folder,
    champion_ensure,
    model_version_complete,
    model_version_fail,
    model_version_load_checked,
    model_version_progress,
    model_version_record_metrics,
)

ProgressCallback = Callable[[float, str], None]


# --- Evaluation --------------------------------------------------------------------------------------------


def intent_model_evaluate(model: IntentModel, texts: list[str], labels: list[str]) -> dict[str, Any]:
    """classification_report of what the model serves (``oos`` when its out-of-scope rule fires), plus the
    top-1 accuracy without that rule (what published closed-set figures measure) and the share answered."""
    return intent_predictions_report(model.predict(texts), labels)


def intent_predictions_report(predictions: list[IntentPrediction], labels: list[str]) -> dict[str, Any]:
    """intent_model_evaluate's report of predictions already made."""
    report = classification_report(labels, [prediction.intent for prediction in predictions])
    pairs = list(zip(predictions, labels, strict=True))
    report["top1_accuracy"] = sum(prediction.best_guess == label for prediction, label in pairs) / len(labels)
    report["answered_share"] = sum(not prediction.out_of_scope for prediction in predictions) / len(labels)
    return report


def _held_out_metrics(model: IntentModel, held_out: list[Example]) -> dict[str, Any]:
    if not held_out:
        return {"n": 0}
    metrics = intent_model_evaluate(model, [e.text for e in held_out], [e.label for e in held_out])
    metrics["held_out_fingerprint"] = data_fingerprint(held_out)
    return metrics


def model_version_evaluate(*, version: ModelVersion, texts: list[str], labels: list[str]) -> dict[str, Any]:
    """Evaluates a ready version on the given data (nothing stored). Raises ArtifactError on bad files."""
    model = IntentModel.load(model_version_load_checked(version))
    return intent_model_evaluate(model, texts, labels)


def model_version_evaluate_held_out(*, version: ModelVersion) -> ModelVersion:
    """Re-measures ``version`` on today's held-out split and stores the result as its metrics, so versions
    trained on different days compare on the same examples."""
    if version.model.kind == ModelKind.SATISFACTION:
        return _satisfaction_evaluate_held_out(version)
    _, held_out = examples_split(labelled_examples(kind=version.model.kind))
    if not held_out:
        raise ValidationError(f"There are no held-out {version.model.kind} examples to evaluate on")
    model = IntentModel.load(model_version_load_checked(version))
    metrics = {**_training_figures(version.metrics), **_held_out_metrics(model, held_out)}
    return model_version_record_metrics(version=version, metrics=metrics)


def _training_figures(metrics: dict[str, Any]) -> dict[str, Any]:
    return {key: metrics[key] for key in ("training_seconds", "epochs", "validation_accuracy") if key in metrics}


def evaluation_run(*, evaluation: ModelEvaluation) -> ModelEvaluation:
    """Runs an evaluation recorded by jobs.evaluation_enqueue and stores its report, or its error when the
    version cannot be loaded or there is nothing to evaluate on (a retry would not help: nothing is raised)."""
    version = evaluation.version
    try:
        if evaluation.held_out:
            metrics = model_version_evaluate_held_out(version=version).metrics
        elif version.model.kind == ModelKind.SATISFACTION:
            raise ValidationError(f"{version} reads conversations: evaluate it on a dialogue file (manage.py evaluate)")
        else:
            texts, labels = [row[0] for row in evaluation.rows], [row[1] for row in evaluation.rows]
            metrics = model_version_evaluate(version=version, texts=texts, labels=labels)
    except (ArtifactError, ValidationError) as error:
        text = "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        evaluation.status, evaluation.error = ModelEvaluation.Status.FAILED, text
    else:
        evaluation.status, evaluation.metrics = ModelEvaluation.Status.DONE, metrics
        evaluation.size = metrics.get("n", evaluation.size)
    evaluation.finished_at = timezone.now()
    evaluation.save(update_fields=["status", "metrics", "error", "size", "finished_at"])
    return evaluation


# --- Training ----------------------------------------------------------------------------------------------


class SavableModel(Protocol):
    def save(self, folder: Path) -> None: ...


@dataclass
class TrainedVersion:
    """What a kind's trainer hands back for the registry to store."""

    model: SavableModel
    metrics: dict[str, Any]
    notes: str
    training_size: int
    data_fingerprint: str


def _text_classifier_train(version: ModelVersion, report: ProgressCallback) -> TrainedVersion:
    """Intent and sentiment: a classifier of accepted labelled texts."""
    training, held_out, fingerprint = training_data(version.model.kind)
    config = IntentTrainingConfig(**version.parameters["config"])
    report(0.0, f"preparing {len(training)} examples")
    started = time.monotonic()
    model = train_intent_model(
        [e.text for e in training],
        [e.label for e in training],
        config=config,
        progress=lambda fraction, note: report(0.9 * fraction, note),
    )
    seconds = time.monotonic() - started
    report(0.9, f"evaluating on {len(held_out)} held-out examples")
    metrics = {
        "training_seconds": round(seconds, 1),
        "epochs": model.calibration.validation.get("epochs"),
        "validation_accuracy": model.calibration.validation.get("accuracy"),
        **_held_out_metrics(model, held_out),
    }
    notes = f"Trained in {seconds:.0f} s ({metrics['epochs']} epochs, {config.mode})."
    return TrainedVersion(model, metrics, notes, len(training), fingerprint)


def _satisfaction_train(version: ModelVersion, report: ProgressCallback) -> TrainedVersion:
    """The satisfaction model: rated dialogues and surveyed conversations, measured on held-out dialogues."""
    training, held_out, fingerprint = satisfaction_training_data()
    config = SatisfactionTrainingConfig(**version.parameters["config"])
    samples = dialogues_samples(training)
    report(0.0, f"preparing {len(samples)} rated turns of {len(training)} dialogues")
    started = time.monotonic()
    model = train_satisfaction_model(
        samples, config=config, progress=lambda fraction, note: report(0.9 * fraction, note)
    )
    seconds = time.monotonic() - started
    report(0.9, f"evaluating on {len(held_out)} held-out dialogues")
    metrics = {
        "training_seconds": round(seconds, 1),
        "epochs": model.validation.get("epochs"),
        "temperature": model.validation.get("temperature"),
        **_satisfaction_held_out_metrics(model, held_out),
    }
    notes = f"Trained in {seconds:.0f} s ({metrics['epochs']} epochs) on {len(training)} dialogues."
    return TrainedVersion(model, metrics, notes, len(samples), fingerprint)


def _recommender_train(version: ModelVersion, report: ProgressCallback) -> TrainedVersion:
    """The recommender: every interaction, the catalogue and the intents; offline figures of a time split."""
    data = recommender_training_data()
    config = RecommenderTrainingConfig(**version.parameters["config"])
    model, metrics = train_recommender(data, encoder_load(), config, progress=report)
    notes = (
        f"Trained in {metrics['training_seconds']:.0f} s on {metrics['interactions']} interactions of "
        f"{metrics['customers']} customers with {metrics['items']} items; NDCG@10 "
        f"{metrics.get('ndcg_at_10', 0):.3f} (popularity {metrics.get('popularity_ndcg_at_10', 0):.3f})."
    )
    return TrainedVersion(model, metrics, notes, metrics["interactions"], recommender_data_fingerprint(data))


# Each kind's trainer; every other kind trainable here is a text classifier.
TRAINERS: dict[str, Callable[[ModelVersion, ProgressCallback], TrainedVersion]] = {
    ModelKind.SATISFACTION: _satisfaction_train,
    ModelKind.RECOMMENDER: _recommender_train,
}


def model_version_run(*, version: ModelVersion, progress: ProgressCallback | None = None) -> ModelVersion:
    """Trains a version created by model_version_start, on the data as it is now; evaluates it on the held-out
    split, stores it, and makes it champion when its model has none. A failure marks the version failed with
    the error and is raised again. Safe to run again on a version still in training (a redelivered task)."""
    staging = artifact_staging_folder(version)
    trainer = TRAINERS.get(version.model.kind, _text_classifier_train)

    def report(fraction: float, note: str) -> None:
        model_version_progress(version=version, fraction=fraction, note=note)
        if progress is not None:
            progress(fraction, note)

    try:
        trained = trainer(version, report)
        shutil.rmtree(staging, ignore_errors=True)
        trained.model.save(staging)
        version = model_version_complete(
            version=version,
            folder=staging,
            metrics=trained.metrics,
            notes=trained.notes,
            training_size=trained.training_size,
            data_fingerprint=trained.data_fingerprint,
        )
    except Exception as error:
        shutil.rmtree(staging, ignore_errors=True)
        # Already out of training (e.g. marked failed in the admin meanwhile): keep that, raise the cause.
        with contextlib.suppress(ValidationError):
            model_version_fail(version=version, error=f"{type(error).__name__}: {error}")
        raise
    champion_ensure(version=version, actor=version.created_by)
    return version


def model_version_train(
    *,
    kind: str = ModelKind.INTENT,
    fast: bool,
    actor: AbstractBaseUser | None,
    progress: ProgressCallback | None = None,
) -> ModelVersion:
    """Starts and trains a version in this process (the ``train`` command)."""
    return model_version_run(version=model_version_start(kind=kind, fast=fast, actor=actor), progress=progress)


# --- Satisfaction ------------------------------------------------------------------------------------------

# The satisfaction figures stored beside the classification report of the ratings (which the admin draws).
SATISFACTION_FIGURES = ("uar", "kappa", "rho", "rho_label", "f1_dissatisfied", "mae", "support", "predicted")


def satisfaction_model_evaluate(model: SatisfactionModel, samples: list[SatisfactionSample]) -> dict[str, Any]:
    """The classification report of the predicted ratings (as labels "1".."5") with the USS paper's figures."""
    predictions = model.predict([sample.context for sample in samples])
    truth = [sample.label for sample in samples]
    labels = [prediction.label for prediction in predictions]
    figures = satisfaction_report(truth, labels, [prediction.score for prediction in predictions])
    report = classification_report([str(rating) for rating in truth], [str(rating) for rating in labels])
    return {**report, **{name: figures[name] for name in SATISFACTION_FIGURES}}


def _satisfaction_held_out_metrics(model: SatisfactionModel, held_out: list[TrainingDialogue]) -> dict[str, Any]:
    samples = dialogues_samples(held_out)
    if not samples:
        return {"n": 0}
    return {
        **satisfaction_model_evaluate(model, samples),
        "held_out_dialogues": len(held_out),
        "held_out_fingerprint": dialogues_fingerprint(held_out),
    }


def _satisfaction_evaluate_held_out(version: ModelVersion) -> ModelVersion:
    _, held_out = dialogues_split(rated_dialogues())
    if not dialogues_samples(held_out):
        raise ValidationError("There are no held-out rated dialogues to evaluate on")
    model = SatisfactionModel.load(model_version_load_checked(version))
    kept = {
        key: version.metrics[key] for key in ("training_seconds", "epochs", "temperature") if key in version.metrics
    }
    return model_version_record_metrics(
        version=version, metrics={**kept, **_satisfaction_held_out_metrics(model, held_out)}
    )


def satisfaction_version_evaluate(*, version: ModelVersion, dialogues: list[ParsedDialogue]) -> dict[str, Any]:
    """Evaluates a ready satisfaction version on ``dialogues`` (nothing stored). Raises ArtifactError."""
    model = SatisfactionModel.load(model_version_load_checked(version))
    return satisfaction_model_evaluate(model, dialogues_samples(dialogues))


def satisfaction_cross_validate(
    *,
    dialogues: list[ParsedDialogue],
    folds: int,
    config: SatisfactionTrainingConfig,
    progress: ProgressCallback | None = None,
) -> CrossValidation:
    """The USS protocol on ``dialogues`` in their order (ml/satisfaction.py: cross_validate); nothing stored."""
    samples = dialogues_samples(dialogues)
    features = ConversationFeatures(TextEmbeddings(encoder_load()), config)
    x = features.matrix([sample.context for sample in samples], progress)
    return cross_validate(samples, x, len(dialogues), folds=folds, config=config, progress=progress)
