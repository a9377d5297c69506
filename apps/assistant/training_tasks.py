"""Celery tasks of the registry. Their names start with ``apps.assistant.tasks.train_``, which routes them to the
``training`` queue (CELERY_TASK_ROUTES); apps/assistant/tasks.py imports this module so workers register them."""

from datetime import timedelta
from typing import Any

from celery import shared_task
from django.utils import timezone

from apps.assistant.jobs import EVALUATE_TASK, TRAIN_TASK
from apps.assistant.models import ModelEvaluation, ModelVersion
from apps.assistant.training import evaluation_run, model_version_run

# A training reports progress at least once an epoch. The broker redelivers an unacknowledged task after its
# visibility timeout (CELERY_VISIBILITY_TIMEOUT, one hour) even while the first worker still trains; the copy
# finding progress newer than this leaves it alone, and takes over only from a worker that died.
TRAINING_ALIVE = timedelta(minutes=30)


@shared_task(name=TRAIN_TASK, bind=True, acks_late=True)
def train_model_version(self, version_id: int) -> dict[str, Any]:
    """Trains the version that training_enqueue registered. Progress goes to the task's state (PROGRESS with
    ``fraction`` and ``note``) and to the version's notes, which the admin shows. A redelivered task whose
    version already finished, or is still being trained elsewhere, does nothing."""
    version = ModelVersion.objects.select_related("model", "created_by").get(pk=version_id)
    if version.status != ModelVersion.Status.TRAINING:
        return {"version_id": version_id, "status": version.status, "skipped": True}
    if version.progress_at is not None and timezone.now() - version.progress_at < TRAINING_ALIVE:
        return {"version_id": version_id, "status": version.status, "skipped": True, "reason": "training elsewhere"}

    def progress(fraction: float, note: str) -> None:
        self.update_state(state="PROGRESS", meta={"fraction": round(fraction, 3), "note": note})

    version = model_version_run(version=version, progress=progress)
    headline = {key: version.metrics.get(key) for key in ("accuracy", "macro_f1", "n")}
    return {"version_id": version_id, "status": version.status, "metrics": headline}


@shared_task(name=EVALUATE_TASK, acks_late=True)
def train_evaluate_version(evaluation_id: int) -> dict[str, Any]:
    """Runs the evaluation that evaluation_enqueue recorded; a finished one (a redelivery) is left alone."""
    evaluation = ModelEvaluation.objects.select_related("version__model").get(pk=evaluation_id)
    if evaluation.status != ModelEvaluation.Status.RUNNING:
        return {"evaluation_id": evaluation_id, "status": evaluation.status, "skipped": True}
    evaluation = evaluation_run(evaluation=evaluation)
    return {"evaluation_id": evaluation_id, "status": evaluation.status, "accuracy": evaluation.metrics.get("accuracy")}
