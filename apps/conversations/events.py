"""What the chat announces on the channel layer, and to whom.

Groups: ``conversation.<id>`` holds the widget sockets of one conversation; ``inbox`` holds every agent's
inbox socket. Events are JSON-safe dicts; the database stays the truth and clients resume by seq, so a
dropped event costs a resume, never a message. Every ``*_on_commit`` helper sends only once the current
transaction commits; ``*_rollback_unsafe`` ones send at once.
"""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.urls import reverse
from redis.exceptions import RedisError

from apps.accounts.models import AgentProfile
from apps.conversations.models import Conversation, Message

INBOX_GROUP = "inbox"
# What the channel layer raises when it cannot reach Redis (restarting, unreachable).
CHANNEL_LAYER_ERRORS = (RedisError, OSError)

logger = logging.getLogger(__name__)


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def user_display_name(user: Any) -> str:
    if user is None:
        return ""
    try:
        display_name = user.agent_profile.display_name
    except AgentProfile.DoesNotExist:
        display_name = ""
    return display_name or user.get_full_name() or user.get_username()


def _correction(value: Any) -> dict[str, Any] | None:
    """An agent's intent correction as agents see it: {"intent", "by" (their name), "at"}, or None."""
    if not isinstance(value, dict):
        return None
    return {"intent": str(value.get("intent", "")), "by": str(value.get("by_name", "")), "at": value.get("at")}


def message_payload(message: Message, *, for_agent: bool) -> dict[str, Any]:
    """A message as clients see it; agents also get the model annotations, the bot's decision, the replies
    suggested for it (assistant.suggestions) and an agent's correction of its intent."""
    annotations = message.annotations or {}
    article = annotations.get("article")
    payload: dict[str, Any] = {
        "seq": message.seq,
        "role": message.role,
        "text": message.text,
        "created_at": message.created_at.isoformat(),
        "author_name": user_display_name(message.author) if message.author_id else "",
        "quick_replies": [str(reply) for reply in annotations.get("quick_replies", [])],
        "article": {"title": str(article["title"]), "url": str(article["url"])} if article else None,
    }
    if for_agent:
        payload.update(
            id=message.pk,
            intent=message.intent,
            intent_confidence=message.intent_confidence,
            sentiment=message.sentiment,
            escalate=message.escalate,
            decision=message.decision,
            decision_reason=message.decision_reason,
            intent_top3=list(message.intent_top3 or []),
            suggestions=list(annotations.get("suggestions") or []),
            corrected_intent=_correction(annotations.get("corrected_intent")),
        )
    return payload


def _person(user: Any) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": user_display_name(user)}


def conversation_summary(conversation: Conversation, *, preview: str = "") -> dict[str, Any]:
    """The inbox's row for a conversation. Expects customer, team and assignee to be loaded."""
    customer = conversation.customer
    return {
        "id": conversation.pk,
        "url": reverse("inbox:conversation", args=[conversation.pk]),
        "customer": {"id": customer.pk, "name": customer.name, "email": customer.email},
        "state": conversation.state,
        "team": None if conversation.team is None else {"id": conversation.team.pk, "name": conversation.team.name},
        "assignee": _person(conversation.assignee),
        "last_seq": conversation.last_seq,
        "last_message_at": conversation.last_message_at.isoformat() if conversation.last_message_at else None,
        "waiting_since": (conversation.handoff_requested_at or conversation.created_at).isoformat()
        if conversation.state == Conversation.State.WAITING
        else None,
        "preview": preview[:140],
        "predicted_satisfaction": conversation.predicted_satisfaction,
        "satisfaction_trend": satisfaction_trend(conversation.satisfaction_history),
        "at_risk": conversation.at_risk,
    }


def satisfaction_trend(history: list[float]) -> float | None:
    """The change of the prediction over the recent messages (latest minus the one three before), or None."""
    if len(history) < 2:
        return None
    return round(history[-1] - history[max(0, len(history) - 4)], 2)


def conversation_state_payload(conversation: Conversation, *, agents_online: bool, rating: int | None) -> dict:
    """The widget's view of the conversation's state."""
    return {
        "type": "conversation.state",
        "state": conversation.state,
        "agents_online": agents_online,
        "assignee_name": user_display_name(conversation.assignee) if conversation.assignee_id else None,
        "rating": rating,
        "email_requested": conversation.state == Conversation.State.WAITING
        and not agents_online
        and not conversation.reply_by_email,
        "reply_by_email": conversation.reply_by_email,
    }


def send_rollback_unsafe(group: str, event: dict[str, Any]) -> None:
    """Ring the group's doorbell. A layer that cannot be reached costs the doorbell, not the message: it is
    logged, and the sender's ack, the on-commit work after this and the caller go on; the layer's clients are
    closed meanwhile and resume by seq from the database."""
    try:
        async_to_sync(get_channel_layer().group_send)(group, event)
    except CHANNEL_LAYER_ERRORS as exc:
        logger.warning("channel layer unreachable, %s not told of %s: %r", group, event.get("type"), exc)


def send_on_commit(group: str, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: send_rollback_unsafe(group, event))


def message_annotated_broadcast_on_commit(message: Message) -> None:
    """Tell every inbox what the models and the policy made of a stored message (agents only)."""
    send_on_commit(
        INBOX_GROUP,
        {
            "type": "chat.annotated",
            "conversation": message.conversation_id,
            "message": message_payload(message, for_agent=True),
        },
    )


def message_broadcast_on_commit(message: Message) -> None:
    """Announce a stored message: to its widget sockets unless it is a note, and to every inbox."""
    conversation_id = message.conversation_id
    if message.is_visible_to_customer:
        send_on_commit(
            conversation_group(conversation_id),
            {"type": "chat.message", "message": message_payload(message, for_agent=False)},
        )
    send_on_commit(
        INBOX_GROUP,
        {"type": "chat.message", "conversation": conversation_id, "message": message_payload(message, for_agent=True)},
    )
