"""What a team lead does to many conversations at once from the admin: reassign them (an agent went home ill,
a queue needs draining). Each goes through conversation_assign (the customer and the inboxes hear of it) and
gets an AuditEvent naming the lead."""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from apps.accounts.audit import Action, audit_record
from apps.conversations.models import Conversation
from apps.conversations.services import ConversationClosed, conversation_assign


@transaction.atomic
def conversations_reassign(
    *, conversations: Iterable[Conversation], agent: AbstractBaseUser, actor: AbstractBaseUser
) -> list[Conversation]:
    """Give the waiting and live ones among ``conversations`` to ``agent`` (a closed one stays with whoever
    closed it, one with the bot is no agent's yet); returns those that changed hands."""
    ids = sorted({conversation.pk for conversation in conversations})
    handed_over = Conversation.objects.filter(pk__in=ids, state__in=Conversation.WITH_AGENT_STATES)
    candidates = handed_over.exclude(assignee=agent)
    moved = []
    for conversation in candidates.order_by("pk"):
        previous = conversation.assignee_id
        try:
            moved.append(conversation_assign(conversation=conversation, agent=agent))
        except ConversationClosed:  # closed since it was read; conversation_assign's savepoint undid nothing
            continue
        audit_record(
            action=Action.CONVERSATION_REASSIGN,
            actor=actor,
            target=conversation,
            detail={"assignee": [previous, agent.pk]},
        )
    return moved
