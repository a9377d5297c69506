"""The model registry's write side: versions, their artifacts under MODEL_STORE, and alias moves.

A version's files live in ``MODEL_STORE/<model name>/<version>/``; ``artifact_sha256`` covers every file in
that folder (sorted relative paths, sizes and contents), so a missing, edited or truncated file is caught by
``model_version_load_checked`` before anything loads it. Every alias move goes through ``alias_set`` or
``alias_clear`` and so lands in the append-only AliasChange history.
"""

import hashlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.assistant.models import ModelAlias, ModelVersion, RegisteredModel
from apps.assistant.selectors import champion_previous, model_alias_version
from apps.assistant.services import alias_clear, alias_set

# A model's name is a folder name in the store.
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CHUNK = 1 << 20


class ArtifactError(Exception):
    """A version's files are missing or not the ones it was registered with."""


# --- Artifacts ---------------------------------------------------------------------------------------------


def artifact_folder(version: ModelVersion) -> Path:
    """Where the files of ``version`` live (or will live once it is complete)."""
    return Path(settings.MODEL_STORE) / (version.artifact_path or f"{version.model.name}/{version.version}")


def artifact_staging_folder(version: ModelVersion) -> Path:
    """Where training writes before ``model_version_complete`` moves the files into place; a dot folder, so a
    half-written model never sits at a version's path."""
    return Path(settings.MODEL_STORE) / version.model.name / f".{version.version}.partial"


def artifact_sha256(folder: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    for path in files:
        relative = path.relative_to(folder).as_posix()
        digest.update(f"{relative}\0{path.stat().st_size}\0".encode())
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def model_version_load_checked(version: ModelVersion) -> Path:
    """The folder of a ready version, after checking its files against the recorded sha256.

    Raises ArtifactError naming the version and the folder when the files are missing or changed."""
    if version.status != ModelVersion.Status.READY or not version.artifact_sha256:
        raise ArtifactError(f"{version}: no artifact to load (status {version.status})")
    folder = artifact_folder(version)
    if not folder.is_dir():
        raise ArtifactError(f"{version}: artifact missing at {folder}")
    found = artifact_sha256(folder)
    if found != version.artifact_sha256:
        raise ArtifactError(
            f"{version}: checksum mismatch at {folder} "
            f"(registered {version.artifact_sha256[:12]}…, found {found[:12]}…); the files were changed or damaged"
        )
    return folder


def model_version_artifact_problem(version: ModelVersion) -> str | None:
    """What is wrong with a ready version's files, or None when they check out (for pages: never raises)."""
    try:
        model_version_load_checked(version)
    except ArtifactError as error:
        return str(error)
    except OSError as error:
        return f"{version}: artifact unreadable at {artifact_folder(version)}: {error}"
    return None


def code_version_current() -> str:
    """The git commit the code runs from, or "unknown" outside a checkout."""
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 (git from PATH: this only labels the version)
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return completed.stdout.strip() or "unknown"


# --- Models and versions -----------------------------------------------------------------------------------


def registered_model_ensure(*, name: str, kind: str) -> RegisteredModel:
    if not _MODEL_NAME.match(name):
        raise ValidationError(f"{name!r} cannot name a model: letters, digits, '_', '.', '-' only")
    model, _ = RegisteredModel.objects.get_or_create(name=name, defaults={"kind": kind})
    if model.kind != kind:
        raise ValidationError(f"The model {name!r} is a {model.kind} model, not {kind}")
    return model


@transaction.atomic
def model_version_create(
    *,
    model: RegisteredModel,
    parameters: dict[str, Any],
    created_by: AbstractBaseUser | None,
    training_size: int,
    data_fingerprint: str,
    code_version: str | None = None,
) -> ModelVersion:
    """A new version in status training, numbered one above the highest so far (the model row is locked, so
    two trainings started together get different numbers)."""
    RegisteredModel.objects.select_for_update().get(pk=model.pk)
    latest = model.versions.order_by("-version").values_list("version", flat=True).first() or 0
    return ModelVersion.objects.create(
        model=model,
        version=latest + 1,
        status=ModelVersion.Status.TRAINING,
        parameters=parameters,
        created_by=created_by,
        training_size=training_size,
        data_fingerprint=data_fingerprint,
        code_version=code_version if code_version is not None else code_version_current(),
    )


def model_version_progress(*, version: ModelVersion, fraction: float, note: str) -> None:
    """Shows how far training is, in the version's notes, while it trains (the admin lists them)."""
    version.notes, version.progress_at = f"Training {fraction:.0%}: {note}", timezone.now()
    ModelVersion.objects.filter(pk=version.pk, status=ModelVersion.Status.TRAINING).update(
        notes=version.notes, progress_at=version.progress_at
    )


def _training_version_locked(version: ModelVersion) -> ModelVersion:
    locked = ModelVersion.objects.select_for_update().select_related("model").get(pk=version.pk)
    if locked.status != ModelVersion.Status.TRAINING:
        raise ValidationError(f"{locked} is {locked.status}, not training")
    return locked


def model_version_complete(
    *,
    version: ModelVersion,
    folder: Path,
    metrics: dict[str, Any],
    notes: str = "",
    training_size: int | None = None,
    data_fingerprint: str | None = None,
) -> ModelVersion:
    """Moves the trained files from ``folder`` to the version's place in the store, records their sha256 and
    metrics, and marks the version ready. ``training_size``/``data_fingerprint`` correct what was recorded at
    creation when the data changed before training started. Refuses a version no longer in training before
    touching any file, so a late duplicate task cannot overwrite a registered artifact."""
    store = Path(settings.MODEL_STORE)
    with transaction.atomic():
        locked = _training_version_locked(version)
        target = store / locked.model.name / str(locked.version)
        if folder.resolve() != target.resolve():
            if target.exists():
                # Left by an earlier database: this version was never completed, so nothing refers to it.
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(folder, target)
        locked.artifact_path = target.relative_to(store).as_posix()
        locked.artifact_sha256 = artifact_sha256(target)
        locked.metrics = metrics
        locked.status = ModelVersion.Status.READY
        locked.notes = notes
        if training_size is not None:
            locked.training_size = training_size
        if data_fingerprint is not None:
            locked.data_fingerprint = data_fingerprint
        locked.save()
    return locked


@transaction.atomic
def model_version_fail(*, version: ModelVersion, error: str) -> ModelVersion:
    locked = _training_version_locked(version)
    locked.status = ModelVersion.Status.FAILED
    locked.notes = f"Training failed: {error}"
    locked.save(update_fields=["status", "notes"])
    return locked


def model_version_record_metrics(*, version: ModelVersion, metrics: dict[str, Any]) -> ModelVersion:
    """Replaces a ready version's metrics, e.g. after evaluating it on today's held-out split."""
    if version.status != ModelVersion.Status.READY:
        raise ValidationError(f"{version} is {version.status}; only a ready version is evaluated")
    version.metrics = metrics
    version.save(update_fields=["metrics"])
    return version


# --- Aliases -----------------------------------------------------------------------------------------------


@transaction.atomic
def model_version_promote(*, version: ModelVersion, actor: AbstractBaseUser | None, reason: str) -> ModelAlias:
    """Makes ``version`` the champion; a challenger pointing at it is cleared (it now serves, not shadows)."""
    champion = alias_set(
        model=version.model, alias=ModelAlias.Name.CHAMPION, version=version, actor=actor, reason=reason
    )
    if model_alias_version(model=version.model, alias=ModelAlias.Name.CHALLENGER) == version:
        alias_clear(model=version.model, alias=ModelAlias.Name.CHALLENGER, actor=actor, reason=f"promoted: {reason}")
    return champion


@transaction.atomic
def champion_ensure(*, version: ModelVersion, actor: AbstractBaseUser | None) -> bool:
    """Promotes ``version`` when its model has no champion yet (its first ready version). Returns whether it
    did; an existing champion is never replaced here, only by an explicit promotion."""
    RegisteredModel.objects.select_for_update().get(pk=version.model_id)
    if model_alias_version(model=version.model, alias=ModelAlias.Name.CHAMPION) is not None:
        return False
    model_version_promote(version=version, actor=actor, reason=f"first ready version of {version.model}")
    return True


@transaction.atomic
def model_version_rollback(*, model: RegisteredModel, actor: AbstractBaseUser | None, reason: str) -> ModelAlias:
    """Moves the champion back to the version it pointed at before its latest move. Rolling back twice
    returns to where it started, like undoing the undo; to go further back, promote that version."""
    RegisteredModel.objects.select_for_update().get(pk=model.pk)
    current = model_alias_version(model=model, alias=ModelAlias.Name.CHAMPION)
    if current is None:
        raise ValidationError(f"{model} has no champion to roll back")
    previous = champion_previous(model=model)
    if previous is None:
        raise ValidationError(f"{model} has no previous champion to roll back to ({current} was the first)")
    if previous.status != ModelVersion.Status.READY:
        raise ValidationError(f"{model}'s previous champion {previous} is {previous.status}; promote another version")
    return alias_set(
        model=model,
        alias=ModelAlias.Name.CHAMPION,
        version=previous,
        actor=actor,
        reason=f"rollback from v{current.version}: {reason}" if reason else f"rollback from v{current.version}",
    )


@transaction.atomic
def challenger_set(*, version: ModelVersion, actor: AbstractBaseUser | None, reason: str) -> ModelAlias:
    """Points the challenger (run in shadow beside the champion) at ``version``."""
    if model_alias_version(model=version.model, alias=ModelAlias.Name.CHAMPION) == version:
        raise ValidationError(f"{version} is the champion; a challenger is another version run beside it")
    return alias_set(model=version.model, alias=ModelAlias.Name.CHALLENGER, version=version, actor=actor, reason=reason)
