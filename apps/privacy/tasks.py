"""The retention policy's beat job (daily, a PeriodicTask made by a data migration; default queue)."""

from celery import shared_task

from apps.privacy.services import retention_apply


@shared_task(name="apps.privacy.tasks.apply_retention", acks_late=True)
def apply_retention() -> dict[str, int]:
    """Anonymises closed conversations past HELPDESK_RETENTION_DAYS (nothing when 0); idempotent, so a
    redelivery finds nothing left to do."""
    summary = retention_apply()
    return {
        "conversations": summary.conversations,
        "messages_redacted": summary.messages_redacted,
        "customers_anonymised": summary.customers_anonymised,
    }
