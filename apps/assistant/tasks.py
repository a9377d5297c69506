"""Celery tasks of the assistant. analyse_* run on the "inference" queue (a GPU worker can take it alone),
train_* on "training" (settings.CELERY_TASK_ROUTES)."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from apps.assistant.analysis import message_analyse, message_analysis_failed, message_ids_unanalysed

logger = logging.getLogger(__name__)

ANALYSE_RETRIES = 3
# The sweep looks this far back: a customer still waiting for an answer an hour on is better served by an agent.
REQUEUE_WITHIN = timedelta(hours=1)
REQUEUE_LIMIT = 1000  # per sweep, so a long broker outage is worked off in bounded bursts


# No result is kept: nothing reads one, and a worker finishing while Redis restarts then has nothing to store.
@shared_task(
    name="apps.assistant.tasks.analyse_message",
    bind=True,
    acks_late=True,
    max_retries=ANALYSE_RETRIES,
    ignore_result=True,
)
def analyse_message(self, message_id: int) -> None:
    """The customer-message hook (HELPDESK_MESSAGE_HOOK_TASK). Retried with backoff; after the last try the
    conversation goes to a person with the failure recorded. Safe to run twice, even at once (acks late, the
    sweep below): the decision and the bot's reply are stored once per message (analysis._carry_out)."""
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


@shared_task(name="apps.assistant.tasks.requeue_unanalysed", acks_late=True, ignore_result=True)
def requeue_unanalysed() -> int:
    """The beat job (every 30 s, a PeriodicTask made by a migration): customer messages stored more than
    HELPDESK_ANALYSIS_REQUEUE_AFTER seconds ago that no run has analysed are queued again. Their task was lost:
    Redis restarted without persistence (queued and unacknowledged tasks go with it), a publish failed while it
    was down, or a worker died holding the task until the visibility timeout (an hour). The database is the
    truth; a copy of a task still queued costs one query (analyse_message acts once per message).
    Returns how many were queued."""
    if analyse_message.name != settings.HELPDESK_MESSAGE_HOOK_TASK:
        return 0  # another hook (or none) answers the customers' messages: nothing here owes them a reading
    after = timedelta(seconds=settings.HELPDESK_ANALYSIS_REQUEUE_AFTER)
    message_ids = message_ids_unanalysed(older_than=after, within=REQUEUE_WITHIN, limit=REQUEUE_LIMIT)
    for message_id in message_ids:
        analyse_message.delay(message_id)
    if message_ids:
        logger.warning("queued %d customer messages again whose analysis task was lost", len(message_ids))
    return len(message_ids)


# Training tasks live beside the registry code; importing them here registers them with the workers that
# autodiscover this module.
from apps.assistant.knowledge_tasks import analyse_search  # noqa: E402
from apps.assistant.training_tasks import (  # noqa: E402
    learning_loop_tick,
    train_compare_with_champion,
    train_evaluate_version,
    train_model_version,
)

__all__ = [
    "analyse_message",
    "analyse_search",
    "learning_loop_tick",
    "requeue_unanalysed",
    "train_compare_with_champion",
    "train_evaluate_version",
    "train_model_version",
]
