"""Celery tasks of the assistant. analyse_* run on the "inference" queue (a GPU worker can take it alone),
train_* on "training" (settings.CELERY_TASK_ROUTES)."""

import logging

from celery import shared_task

from apps.assistant.analysis import message_analyse, message_analysis_failed

logger = logging.getLogger(__name__)

ANALYSE_RETRIES = 3


@shared_task(name="apps.assistant.tasks.analyse_message", bind=True, acks_late=True, max_retries=ANALYSE_RETRIES)
def analyse_message(self, message_id: int) -> None:
    """The customer-message hook (HELPDESK_MESSAGE_HOOK_TASK). Retried with backoff; after the last try the
    conversation goes to a person with the failure recorded. Safe to run twice (acks late)."""
    # A worker retries through the broker (with backoff); run in-process (the embedded default) it retries
    # in place, since Celery's eager retries surface as exceptions in the caller.
    attempts = ANALYSE_RETRIES + 1 if self.request.is_eager else 1
    for _ in range(attempts):
        try:
            message_analyse(message_id=message_id)
            return
        except Exception as exc:
            error = exc
    if not self.request.is_eager and self.request.retries < ANALYSE_RETRIES:
        raise self.retry(exc=error, countdown=2**self.request.retries) from error
    logger.error("analysis of message %s failed for good: %r", message_id, error)
    message_analysis_failed(message_id=message_id, error=f"{type(error).__name__}: {error}")


# Training tasks live beside the registry code; importing them here registers them with the workers that
# autodiscover this module.
from apps.assistant.knowledge_tasks import analyse_search  # noqa: E402
from apps.assistant.training_tasks import train_evaluate_version, train_model_version  # noqa: E402

__all__ = ["analyse_message", "analyse_search", "train_evaluate_version", "train_model_version"]
