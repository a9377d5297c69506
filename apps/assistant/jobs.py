"""Starting training and evaluation: the version or evaluation row is written here, in the caller's process,
and the work is queued for a Celery worker (the ``training`` queue). No torch here, so the admin and the API
start jobs without loading a model; apps/assistant/training.py, on the worker, does the work.

In the embedded default (eager Celery) the job runs inline, before the enqueueing function returns."""

import contextlib
from dataclasses import asdict

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.assistant.dialogues import (
    TrainingDialogue,
    dialogues_fingerprint,
    dialogues_samples,
    dialogues_split,
    rated_dialogues,
)
from apps.assistant.examples import (
    HELD_OUT_PERCENT,
    Example,
    data_fingerprint,
    examples_split,
    labelled_examples,
)
from apps.assistant.ml.config import (
    IntentTrainingConfig,
    RecommenderTrainingConfig,
    SatisfactionTrainingConfig,
    encoder_path,
)
from apps.assistant.models import ModelAlias, ModelEvaluation, ModelKind, ModelVersion, RegisteredModel
from apps.assistant.recommender_data import recommender_data_fingerprint, recommender_training_data
from apps.assistant.recommending import ACTION_WEIGHTS
from apps.assistant.registry import model_version_create, model_version_fail, registered_model_ensure
from apps.assistant.selectors import model_alias_version
from apps.assistant.services import LabelledText
from helpdesk.celery import BrokerUnavailable, task_enqueue_by_name

TRAIN_TASK = "apps.assistant.tasks.train_model_version"
EVALUATE_TASK = "apps.assistant.tasks.train_evaluate_version"  # train_*: the training queue, beside training
COMPARE_TASK = "apps.assistant.tasks.train_compare_with_champion"

# The registered model each kind trained from labelled examples trains into. Sentiment learns the labels
# negative / neutral / positive; its head is blended with the lexicon score (ml/sentiment.py).
MODEL_NAMES = {ModelKind.INTENT: "intent", ModelKind.SENTIMENT: "sentiment"}
SENTIMENT_LABELS = ("negative", "neutral", "positive")
# Every model trained here: those above, and the satisfaction model, which learns from rated dialogues
# (apps/assistant/dialogues.py), not from labelled texts.
TRAINED_MODEL_NAMES = {**MODEL_NAMES, ModelKind.SATISFACTION: "satisfaction", ModelKind.RECOMMENDER: "recommender"}
# The recommender: BPR factors on implicit feedback; fast trains fewer, smaller factors for make demo.
RECOMMENDER_CONFIGS = {
    "fast": RecommenderTrainingConfig(factors=16, epochs=15),
    "full": RecommenderTrainingConfig(),
}
RECOMMENDER_MIN_INTERACTIONS = 20


# fast: a linear head on frozen MiniLM embeddings; full: the encoder fine-tuned with the head. On BANKING77
# (bench/intent.py, 2 idle CPU cores) fast trains in about 1.5 minutes to 92.9 % test accuracy, full takes
# about 6 minutes an epoch and reached 92.4 % (best epoch 2 of 3). The head's learning rate is high in both
# because it reads unit-length embeddings: fine-tuned with 1e-3 the model had 72 % validation accuracy after
# an epoch, with 2e-2 it had 92 %.
TRAINING_CONFIGS = {
    "fast": IntentTrainingConfig(mode="head", epochs=60, patience=5),
    "full": IntentTrainingConfig(
        mode="finetune", epochs=3, patience=1, batch_size=32, learning_rate=2e-2, encoder_learning_rate=5e-5
    ),
}


# The satisfaction model: one layer of sigmoid units on frozen embeddings, so both train in minutes (SGD's 1,000
# dialogues: about a minute to embed, seconds to fit); fast leaves out the embedding of the last two turns together
# (half the encoder's work) and stops sooner.
SATISFACTION_CONFIGS = {
    "fast": SatisfactionTrainingConfig(pair_text=False, epochs=30, patience=4),
    "full": SatisfactionTrainingConfig(),
}


def model_champion_for_kind(*, kind: str) -> ModelVersion | None:
    """The champion version of the registered model of ``kind``, if it has one."""
    model = RegisteredModel.objects.filter(name=TRAINED_MODEL_NAMES.get(kind, "")).first()
    return None if model is None else model_alias_version(model=model, alias=ModelAlias.Name.CHAMPION)


def _model_for(kind: str) -> RegisteredModel:
    if kind not in TRAINED_MODEL_NAMES:
        raise ValidationError(f"Only {', '.join(TRAINED_MODEL_NAMES)} models are trained here, not {kind!r}")
    return registered_model_ensure(name=TRAINED_MODEL_NAMES[kind], kind=kind)


def labels_check(*, kind: str, examples: list[LabelledText]) -> None:
    """Refuses (ValidationError naming the line) labels a kind cannot learn, e.g. "angry" for sentiment."""
    if kind != ModelKind.SENTIMENT:
        return
    for example in examples:
        if example.label not in SENTIMENT_LABELS:
            raise ValidationError(
                f"{example.source_ref}: sentiment labels are {', '.join(SENTIMENT_LABELS)}, not {example.label!r}"
            )


def training_data(kind: str) -> tuple[list[Example], list[Example], str]:
    """(training, held out, fingerprint of both) of the accepted examples of ``kind``; refuses data that
    cannot train a classifier."""
    examples = labelled_examples(kind=kind)
    training, held_out = examples_split(examples)
    labels = sorted({example.label for example in training})
    if len(labels) < 2:
        raise ValidationError(
            f"{kind.capitalize()} training needs accepted examples of at least two labels outside the held-out "
            f"split; found {len(labels)} ({', '.join(labels) or 'none'})"
        )
    return training, held_out, data_fingerprint(examples)


def satisfaction_training_data() -> tuple[list[TrainingDialogue], list[TrainingDialogue], str]:
    """(training, held out, fingerprint of both) of the rated dialogues and surveyed conversations; refuses data
    that cannot train the satisfaction model."""
    dialogues = rated_dialogues()
    training, held_out = dialogues_split(dialogues)
    ratings = sorted({sample.label for sample in dialogues_samples(training)})
    if len(ratings) < 2:
        raise ValidationError(
            "Satisfaction training needs rated turns of at least two ratings outside the held-out split; found "
            f"{len(ratings)} ({', '.join(map(str, ratings)) or 'none'}): import rated dialogues with "
            "manage.py import_conversations"
        )
    return training, held_out, dialogues_fingerprint(dialogues)


def model_version_start(*, kind: str = ModelKind.INTENT, fast: bool, actor: AbstractBaseUser | None) -> ModelVersion:
    """Registers a new version in status training, with the data and configuration it will be trained on.
    Refuses (ValidationError) when the data cannot train a model, before any version exists."""
    model = _model_for(kind)
    return VERSION_STARTS[kind](model=model, fast=fast, actor=actor)


def _labelled_version_start(*, model: RegisteredModel, fast: bool, actor: AbstractBaseUser | None) -> ModelVersion:
    training, held_out, fingerprint = training_data(model.kind)
    config = TRAINING_CONFIGS["fast" if fast else "full"]
    return model_version_create(
        model=model,
        parameters={
            "fast": fast,
            "config": asdict(config),
            "encoder": str(encoder_path()),
            "held_out_percent": HELD_OUT_PERCENT,
            "held_out_size": len(held_out),
        },
        created_by=actor,
        training_size=len(training),
        data_fingerprint=fingerprint,
    )


def _satisfaction_version_start(*, model: RegisteredModel, fast: bool, actor: AbstractBaseUser | None) -> ModelVersion:
    training, held_out, fingerprint = satisfaction_training_data()
    config = SATISFACTION_CONFIGS["fast" if fast else "full"]
    return model_version_create(
        model=model,
        parameters={
            "fast": fast,
            "config": asdict(config),
            "encoder": str(encoder_path()),
            "held_out_percent": HELD_OUT_PERCENT,
            "held_out_dialogues": len(held_out),
            "held_out_size": len(dialogues_samples(held_out)),
            "training_dialogues": len(training),
        },
        created_by=actor,
        training_size=len(dialogues_samples(training)),
        data_fingerprint=fingerprint,
    )


def _recommender_version_start(*, model: RegisteredModel, fast: bool, actor: AbstractBaseUser | None) -> ModelVersion:
    data = recommender_training_data()
    positives = [event for event in data.events if event.action in ACTION_WEIGHTS and event.item in data.items]
    if len(positives) < RECOMMENDER_MIN_INTERACTIONS:
        raise ValidationError(
            f"Recommender training needs at least {RECOMMENDER_MIN_INTERACTIONS} views, helpful answers, clicks or "
            f"purchases of catalogue items; found {len(positives)}: import them with manage.py import_interactions"
        )
    config = RECOMMENDER_CONFIGS["fast" if fast else "full"]
    return model_version_create(
        model=model,
        parameters={"fast": fast, "config": asdict(config), "encoder": str(encoder_path())},
        created_by=actor,
        training_size=len(positives),
        data_fingerprint=recommender_data_fingerprint(data),
    )


# How a version of each kind is started: from labelled texts, or from rated dialogues (training.TRAINERS is the
# worker-side twin).
VERSION_STARTS = {
    ModelKind.INTENT: _labelled_version_start,
    ModelKind.SENTIMENT: _labelled_version_start,
    ModelKind.SATISFACTION: _satisfaction_version_start,
    ModelKind.RECOMMENDER: _recommender_version_start,
}


def training_enqueue(*, model: RegisteredModel, fast: bool, actor: AbstractBaseUser | None) -> ModelVersion:
    """Starts a version of ``model`` and queues its training on the ``training`` queue once the version is
    committed."""
    if TRAINED_MODEL_NAMES.get(model.kind) != model.name:
        raise ValidationError(f"{model} is not trained from examples here")
    with transaction.atomic():
        version = model_version_start(kind=model.kind, fast=fast, actor=actor)
        transaction.on_commit(lambda: _training_task_send(version))
    version.refresh_from_db()
    return version


def _training_task_send(version: ModelVersion) -> None:
    try:
        task_enqueue_by_name(TRAIN_TASK, version.pk)
    except Exception as error:
        # The broker could not be reached (or, with eager Celery, the training itself failed and is already
        # recorded): a version left in training would wait for a task that never comes.
        with contextlib.suppress(ValidationError):
            model_version_fail(version=version, error=f"{type(error).__name__}: {error}")
        raise


def evaluation_enqueue(
    *,
    version: ModelVersion,
    actor: AbstractBaseUser | None,
    rows: list[LabelledText] | None = None,
    data_name: str = "",
) -> ModelEvaluation:
    """Records an evaluation of a ready ``version`` (on ``rows`` of a file, or on its model's held-out split
    when ``rows`` is None) and queues it on the training queue once committed."""
    if version.status != ModelVersion.Status.READY:
        raise ValidationError(f"{version} is {version.status}; only a ready version is evaluated")
    if version.model.kind == ModelKind.RECOMMENDER:
        raise ValidationError(
            f"{version} is measured when it is trained, on the latest interactions held out by time (its metrics)"
        )
    if rows is not None and version.model.kind == ModelKind.SATISFACTION:
        raise ValidationError(
            f"{version} reads conversations, not labelled texts: evaluate it on its held-out split here, or on a "
            "dialogue file with manage.py evaluate satisfaction --data FILE"
        )
    if rows is not None:
        labels_check(kind=version.model.kind, examples=rows)
    with transaction.atomic():
        evaluation = ModelEvaluation.objects.create(
            version=version,
            held_out=rows is None,
            data_name="held-out split" if rows is None else data_name,
            rows=[[row.text, row.label] for row in rows or []],
            size=len(rows or []),
            created_by=actor,
        )
        transaction.on_commit(lambda: _evaluation_task_send(evaluation))
    evaluation.refresh_from_db()
    return evaluation


def _evaluation_task_send(evaluation: ModelEvaluation) -> None:
    try:
        task_enqueue_by_name(EVALUATE_TASK, evaluation.pk)
    except Exception as error:
        ModelEvaluation.objects.filter(pk=evaluation.pk, status=ModelEvaluation.Status.RUNNING).update(
            status=ModelEvaluation.Status.FAILED, error=f"{type(error).__name__}: {error}", finished_at=timezone.now()
        )
        raise


def comparison_enqueue(*, version: ModelVersion) -> None:
    """Queues the comparison of ``version`` with its model's champion on the held-out split (learning.version_compare
    in a worker; inline in the embedded default). ValidationError when there is nothing to compare with."""
    if version.model.kind not in MODEL_NAMES:
        raise ValidationError(f"{version}: only {', '.join(MODEL_NAMES)} versions are compared on held-out examples")
    champion = model_alias_version(model=version.model, alias=ModelAlias.Name.CHAMPION)
    if version.status != ModelVersion.Status.READY or champion is None or champion == version:
        raise ValidationError(f"{version}: compare a ready version that is not the champion with a model that has one")
    try:
        task_enqueue_by_name(COMPARE_TASK, version.pk)
    except BrokerUnavailable as error:
        raise ValidationError("The task queue is unreachable; try again shortly.") from error
