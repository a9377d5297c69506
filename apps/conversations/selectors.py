from django.db.models import QuerySet

from apps.conversations.models import Conversation, Message


def conversation_list() -> QuerySet[Conversation]:
    return Conversation.objects.select_related("customer", "team", "assignee", "ticket")


def message_list(*, conversation: Conversation, after_seq: int = 0, include_notes: bool = True) -> QuerySet[Message]:
    """Messages after ``after_seq`` in seq order: the resume query of every client."""
    messages = Message.objects.filter(conversation=conversation, seq__gt=after_seq).order_by("seq")
    if not include_notes:
        messages = messages.exclude(role=Message.Role.NOTE)
    return messages
