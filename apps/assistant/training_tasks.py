"""Celery tasks of the registry. Their names start with ``apps.assistant.tasks.train_``, which routes them to the
``training`` queue (CELERY_TASK_ROUTES); apps/assistant/tasks.py imports this module so workers register them."""

from typing import Any

from celery import shared_task
from django.utils import timezone

from apps.assistant.jobs import COMPARE_TASK, EVALUATE_TASK, TRAIN_TASK
from apps.assistant.learning import TRAINING_ALIVE, learning_loop_run, version_compare
from apps.assistant.models import ModelAlias, ModelEvaluation, ModelVersion
from apps.assistant.selectors import model_alias_version
from apps.assistant.training import evaluation_run, model_version_run


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


# learning_* routes to the training queue: a turn may train a candidate for minutes. Acks late: a copy redelivered
# while that training still reports progress finds it and does nothing (learning._training_alive).
@shared_task(name="apps.assistant.tasks.learning_loop_tick", acks_late=True)
def learning_loop_tick() -> dict[str, Any]:
    """The learning loop's beat job (Periodic tasks in the admin, every 15 minutes): learning.learning_loop_run."""
    return learning_loop_run()


@shared_task(name=COMPARE_TASK, acks_late=True)
def train_compare_with_champion(version_id: int) -> dict[str, Any]:
    """A version against its model's champion on the held-out split (the admin's "Compare with the champion")."""
    version = ModelVersion.objects.select_related("model").get(pk=version_id)
    champion = model_alias_version(model=version.model, alias=ModelAlias.Name.CHAMPION)
    if champion is None or champion == version:
        return {"version_id": version_id, "skipped": True}
    return {"version_id": version_id, "comparison_id": version_compare(candidate=version, champion=champion).pk}
