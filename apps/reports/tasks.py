"""Celery tasks that keep the reports' rollup current (the default queue)."""

from celery import shared_task

from apps.reports.services import conversation_facts_refresh, conversation_facts_refresh_stale


@shared_task(name="apps.reports.tasks.refresh_conversation_fact", acks_late=True)
def refresh_conversation_fact(conversation_id: int) -> int:
    """Sent on commit when a conversation closes and when its survey is answered; idempotent, so a redelivery
    rewrites the same row. Returns how many facts were written (0 for a conversation that is not closed)."""
    return conversation_facts_refresh(conversation_ids=[conversation_id])


@shared_task(name="apps.reports.tasks.refresh_stale_facts", acks_late=True)
def refresh_stale_facts() -> int:
    """The beat job (every 10 minutes, a PeriodicTask made by a data migration): facts of conversations closed
    or rated since their facts were written, and of closed conversations that have none."""
    return conversation_facts_refresh_stale()
