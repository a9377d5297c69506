from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, QuerySet, Subquery

from apps.accounts.models import AgentProfile
from apps.accounts.selectors import agent_profile_list
from apps.conversations.events import conversation_summary, user_display_name
from apps.conversations.models import Conversation, Message


def conversation_list() -> QuerySet[Conversation]:
    return Conversation.objects.select_related("customer", "team", "assignee", "ticket")


def message_list(*, conversation: Conversation, after_seq: int = 0, include_notes: bool = True) -> QuerySet[Message]:
    """Messages after ``after_seq`` in seq order: the resume query of every client."""
    messages = Message.objects.filter(conversation=conversation, seq__gt=after_seq).order_by("seq")
    if not include_notes:
        messages = messages.exclude(role=Message.Role.NOTE)
    return messages


def conversation_preview(*, conversation: Conversation) -> str:
    """The text of the last message the customer can see, for the inbox list."""
    last = (
        Message.objects.filter(conversation=conversation)
        .exclude(role=Message.Role.NOTE)
        .order_by("-seq")
        .values_list("text", flat=True)
        .first()
    )
    return last or ""


def conversation_transcript_text(*, conversation: Conversation) -> str:
    """The customer-visible transcript as plain text, e.g. for a ticket's description."""
    lines = [
        f"[{message.created_at:%Y-%m-%d %H:%M}] {message.role}: {message.text}"
        for message in message_list(conversation=conversation, include_notes=False)
    ]
    return "\n".join(lines)


def conversation_list_with_preview() -> QuerySet[Conversation]:
    """Conversations with ``preview_text``: the last customer-visible message, in the same query."""
    last_visible = Message.objects.filter(conversation=OuterRef("pk")).exclude(role=Message.Role.NOTE).order_by("-seq")
    return conversation_list().annotate(preview_text=Subquery(last_visible.values("text")[:1]))


def inbox_snapshot(*, user: AbstractBaseUser, can_write: bool, limit: int = 500) -> dict[str, Any]:
    """The inbox's first frame: me, the agents and their presence, and every open conversation."""
    open_conversations = (
        conversation_list_with_preview().exclude(state=Conversation.State.CLOSED).order_by("-last_message_at")[:limit]
    )
    profiles = agent_profile_list()
    me = next((profile for profile in profiles if profile.user_id == user.pk), None)
    return {
        "type": "inbox.snapshot",
        "me": {
            "id": user.pk,
            "name": user_display_name(user),
            "presence": me.presence if me else AgentProfile.Presence.OFFLINE,
            "can_write": can_write,
        },
        "agents": [
            {
                "id": profile.user_id,
                "name": user_display_name(profile.user),
                "presence": profile.presence,
            }
            for profile in profiles
        ],
        "conversations": [
            conversation_summary(conversation, preview=conversation.preview_text or "")
            for conversation in open_conversations
        ],
    }
