from celery import shared_task

from apps.conversations.services import message_email_send as _message_email_send
from apps.conversations.surveys import survey_email_send as _survey_email_send


@shared_task(
    name="apps.conversations.tasks.message_email_send", autoretry_for=(OSError,), retry_backoff=True, max_retries=5
)
def message_email_send(message_id: int) -> None:
    """Email an agent's reply; SMTP failures are retried with backoff."""
    _message_email_send(message_id=message_id)


@shared_task(
    name="apps.conversations.tasks.survey_email_send", autoretry_for=(OSError,), retry_backoff=True, max_retries=5
)
def survey_email_send(conversation_id: int) -> bool:
    """Mail the satisfaction survey of a resolved ticket conversation; SMTP failures are retried."""
    return _survey_email_send(conversation_id=conversation_id)
