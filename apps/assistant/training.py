"""From TrainingExample rows to a trained, evaluated, registered version.

The held-out split is fixed by each text's hash: a text is held out or not forever, whatever else is added, so
the metrics of versions trained months apart are measured on the same ground (plus whatever new held-out
texts arrived), and no held-out text ever leaks into a later training set. Training's own validation split
(early stopping, calibration, the out-of-scope rule) is carved out of the training part by train_intent_model.
"""

import contextlib
import csv
import hashlib
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.assistant.ml.encoder import encoder_path
from apps.assistant.ml.intent import IntentModel, IntentTrainingConfig, train_intent_model
from apps.assistant.ml.metrics import classification_report
from apps.assistant.models import ModelAlias, ModelKind, ModelVersion, RegisteredModel, TrainingExample
from apps.assistant.registry import (
    artifact_staging_folder,
    champion_ensure,
    model_version_complete,
    model_version_create,
    model_version_fail,
    model_version_load_checked,
    model_version_progress,
    model_version_record_metrics,
    registered_model_ensure,
)
from apps.assistant.selectors import model_alias_version
from apps.assistant.services import LabelledText
from helpdesk.celery import task_enqueue_by_name

ProgressCallback = Callable[[float, str], None]

TRAIN_TASK = "apps.assistant.tasks.train_model_version"
# The registered model each trainable kind trains into.
MODEL_NAMES = {ModelKind.INTENT: "intent"}
HELD_OUT_PERCENT = 10
# Changing the salt would reshuffle every text between training and held out: don't.
_HELD_OUT_SALT = "held-out:v1:"

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


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    text_sha256: str


# --- Files -------------------------------------------------------------------------------------------------


class IntentFileError(ValueError):
    """A labelled-text file that cannot be read; the message names the line."""


_LABEL_COLUMNS = ("label", "category")  # category: BANKING77's header
_LABEL_MAX = TrainingExample._meta.get_field("label").max_length


def intent_csv_read(path: Path) -> list[LabelledText]:
    """The rows of a ``text,label`` CSV (or BANKING77's ``text,category``), with ``file:line`` as source_ref.

    Raises IntentFileError naming the first bad line; nothing is returned unless every row is good."""
    with path.open(newline="", encoding="utf-8-sig") as stream:
        return intent_csv_parse(stream, path.name)


def intent_csv_parse(lines: Iterable[str], file_name: str) -> list[LabelledText]:
    """intent_csv_read on an open text stream (e.g. an upload), ``file_name`` naming it in source_ref."""
    try:
        return _rows(csv.reader(lines), file_name)
    except UnicodeDecodeError as error:
        raise IntentFileError(f"{file_name} is not UTF-8 text ({error.reason} at byte {error.start})") from error
    except csv.Error as error:
        raise IntentFileError(f"{file_name}: {error}") from error


def _rows(reader, file_name: str) -> list[LabelledText]:
    header = [column.strip().casefold() for column in next(reader, [])]
    label_column = next((name for name in _LABEL_COLUMNS if name in header), None)
    if "text" not in header or label_column is None:
        raise IntentFileError(f"line 1: the header must be text,label (or text,category), got {','.join(header)}")
    text_at, label_at = header.index("text"), header.index(label_column)
    rows, line = [], reader.line_num + 1
    for record in reader:
        # A quoted text may span lines: the record starts where the previous one ended.
        if not any(cell.strip() for cell in record):
            line = reader.line_num + 1
            continue
        if len(record) != len(header):
            raise IntentFileError(f"line {line}: expected {len(header)} columns, got {len(record)}")
        text, label = record[text_at], record[label_at].strip()
        if not text.strip():
            raise IntentFileError(f"line {line}: empty text")
        if not label:
            raise IntentFileError(f"line {line}: empty label")
        if len(label) > _LABEL_MAX:
            raise IntentFileError(f"line {line}: label longer than {_LABEL_MAX} characters")
        rows.append(LabelledText(text=text, label=label, source_ref=f"{file_name}:{line}"))
        line = reader.line_num + 1
    if not rows:
        raise IntentFileError(f"{file_name} has no rows under its header")
    return rows


# --- Data --------------------------------------------------------------------------------------------------


def intent_examples(*, status: str = TrainingExample.Status.ACCEPTED) -> list[Example]:
    """The intent examples with ``status``, in a stable order (so a retrain on the same data is the same)."""
    rows = (
        TrainingExample.objects.filter(kind=ModelKind.INTENT, status=status)
        .order_by("text_sha256", "label")
        .values_list("text", "label", "text_sha256")
    )
    return [Example(text, label, text_sha256) for text, label, text_sha256 in rows]


def is_held_out(text_sha256: str) -> bool:
    bucket = int(hashlib.sha256((_HELD_OUT_SALT + text_sha256).encode()).hexdigest()[:8], 16) % 100
    return bucket < HELD_OUT_PERCENT


def examples_split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    """(training, held out), by each text's hash."""
    held_out = [example for example in examples if is_held_out(example.text_sha256)]
    training = [example for example in examples if not is_held_out(example.text_sha256)]
    return training, held_out


def data_fingerprint(examples: list[Example]) -> str:
    digest = hashlib.sha256()
    for text_sha256, label in sorted((example.text_sha256, example.label) for example in examples):
        digest.update(f"{text_sha256}\t{label}\n".encode())
    return digest.hexdigest()


# --- Evaluation --------------------------------------------------------------------------------------------


def intent_model_evaluate(model: IntentModel, texts: list[str], labels: list[str]) -> dict[str, Any]:
    """classification_report of what the model serves (``oos`` when its out-of-scope rule fires), plus the
    top-1 accuracy without that rule (what published closed-set figures measure) and the share answered."""
    predictions = model.predict(texts)
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
    _, held_out = examples_split(intent_examples())
    if not held_out:
        raise ValidationError("There are no held-out intent examples to evaluate on")
    model = IntentModel.load(model_version_load_checked(version))
    metrics = {**_training_figures(version.metrics), **_held_out_metrics(model, held_out)}
    return model_version_record_metrics(version=version, metrics=metrics)


def _training_figures(metrics: dict[str, Any]) -> dict[str, Any]:
    return {key: metrics[key] for key in ("training_seconds", "epochs", "validation_accuracy") if key in metrics}


# --- Training ----------------------------------------------------------------------------------------------


def model_champion_for_kind(*, kind: str) -> ModelVersion | None:
    """The champion version of the registered model of ``kind``, if it has one."""
    model = RegisteredModel.objects.filter(name=MODEL_NAMES[kind]).first()
    return None if model is None else model_alias_version(model=model, alias=ModelAlias.Name.CHAMPION)


def _model_for(kind: str) -> RegisteredModel:
    if kind not in MODEL_NAMES:
        raise ValidationError(f"Only {', '.join(MODEL_NAMES)} models are trained from examples, not {kind!r}")
    return registered_model_ensure(name=MODEL_NAMES[kind], kind=kind)


def _training_data() -> tuple[list[Example], list[Example], str]:
    examples = intent_examples()
    training, held_out = examples_split(examples)
    labels = sorted({example.label for example in training})
    if len(labels) < 2:
        raise ValidationError(
            "Intent training needs accepted examples of at least two labels outside the held-out split; "
            f"found {len(labels)} ({', '.join(labels) or 'none'})"
        )
    return training, held_out, data_fingerprint(examples)


def model_version_start(*, kind: str = ModelKind.INTENT, fast: bool, actor: AbstractBaseUser | None) -> ModelVersion:
    """Registers a new version in status training, with the data and configuration it will be trained on.
    Refuses (ValidationError) when the data cannot train a model, before any version exists."""
    model = _model_for(kind)
    training, held_out, fingerprint = _training_data()
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


def model_version_run(*, version: ModelVersion, progress: ProgressCallback | None = None) -> ModelVersion:
    """Trains a version created by model_version_start, on the data as it is now; evaluates it on the held-out
    split, stores it, and makes it champion when its model has none. A failure marks the version failed with
    the error and is raised again. Safe to run again on a version still in training (a redelivered task)."""
    staging = artifact_staging_folder(version)

    def report(fraction: float, note: str) -> None:
        model_version_progress(version=version, fraction=fraction, note=note)
        if progress is not None:
            progress(fraction, note)

    try:
        training, held_out, fingerprint = _training_data()
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
        shutil.rmtree(staging, ignore_errors=True)
        model.save(staging)
        version = model_version_complete(
            version=version,
            folder=staging,
            metrics=metrics,
            notes=f"Trained in {seconds:.0f} s ({metrics['epochs']} epochs, {config.mode}).",
            training_size=len(training),
            data_fingerprint=fingerprint,
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


def training_enqueue(*, model: RegisteredModel, fast: bool, actor: AbstractBaseUser | None) -> ModelVersion:
    """Starts a version of ``model`` and queues its training on the ``training`` queue once the version is
    committed. In the embedded default (eager Celery) the training runs inline, before this returns."""
    if MODEL_NAMES.get(model.kind) != model.name:
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
