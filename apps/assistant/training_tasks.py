"""Celery tasks of the registry. Their names start with ``apps.assistant.tasks.train_``, which routes them to the
``training`` queue (CELERY_TASK_ROUTES); apps/assistant/tasks.py imports this module so workers register them."""

from typing import Any

from celery import shared_task

from apps.assistant.models import ModelVersion
from apps.assistant.training import TRAIN_TASK, model_version_run


@shared_task(name=TRAIN_TASK, bind=True, acks_late=True)
def train_model_version(self, version_id: int) -> dict[str, Any]:
    """Trains the version that training_enqueue registered. Progress goes to the task's state (PROGRESS with
    ``fraction`` and ``note``) and to the version's notes, which the admin shows. A redelivered task whose
    version already finished does nothing."""
    version = ModelVersion.objects.select_related("model", "created_by").get(pk=version_id)
    if version.status != ModelVersion.Status.TRAINING:
        return {"version_id": version_id, "status": version.status, "skipped": True}

    def progress(fraction: float, note: str) -> None:
        self.update_state(state="PROGRESS", meta={"fraction": round(fraction, 3), "note": note})

    version = model_version_run(version=version, progress=progress)
    headline = {key: version.metrics.get(key) for key in ("accuracy", "macro_f1", "n")}
    return {"version_id": version_id, "status": version.status, "metrics": headline}
