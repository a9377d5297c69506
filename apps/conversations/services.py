"""Writes of the chat: one transaction per message, seq assigned under the conversation's row lock."""

import uuid
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Team
from apps.conversations.models import Conversation, Message, SatisfactionSurvey
from apps.customers.models import Customer


@dataclass(frozen=True)
class PostedMessage:
    message: Message
    created: bool  # False when client_id had already been stored: the resend is acknowledged, not stored twice


def conversation_start(
    *, customer: Customer, channel: str = Conversation.Channel.WIDGET, team: Team | None = None
) -> Conversation:
    return Conversation.objects.create(customer=customer, channel=channel, team=team)


@transaction.atomic
def message_post(
    *,
    conversation: Conversation,
    role: str,
    text: str,
    client_id: uuid.UUID | None = None,
    author: AbstractBaseUser | None = None,
) -> PostedMessage:
    """Store one message with the conversation's next seq; idempotent on ``client_id``.

    Locks the conversation row, so concurrent posts get distinct, gap-free seqs. Callers broadcast and
    enqueue work in ``transaction.on_commit`` so nothing is announced before it is stored.
    """
    if role not in Message.Role.values:
        raise ValidationError(f"role must be one of {Message.Role.values}, got {role!r}")
    text = text.strip()
    if not text:
        raise ValidationError("A message needs some text.")
    if len(text) > Message.MAX_TEXT_LENGTH:
        raise ValidationError(f"A message may hold at most {Message.MAX_TEXT_LENGTH} characters; got {len(text)}.")
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if client_id is not None:
        existing = Message.objects.filter(conversation=locked, client_id=client_id).first()
        if existing is not None:
            return PostedMessage(message=existing, created=False)
    now = timezone.now()
    locked.last_seq += 1
    message = Message.objects.create(
        conversation=locked,
        seq=locked.last_seq,
        role=role,
        text=text,
        client_id=client_id,
        author=author,
        created_at=now,
    )
    locked.last_message_at = now
    update_fields = ["last_seq", "last_message_at", "updated_at"]
    if role == Message.Role.AGENT and locked.first_agent_response_at is None:
        locked.first_agent_response_at = now
        update_fields.append("first_agent_response_at")
    locked.save(update_fields=update_fields)
    conversation.last_seq = locked.last_seq
    return PostedMessage(message=message, created=True)


def conversation_close(*, conversation: Conversation) -> Conversation:
    if conversation.state != Conversation.State.CLOSED:
        conversation.state = Conversation.State.CLOSED
        conversation.closed_at = timezone.now()
        conversation.save(update_fields=["state", "closed_at", "updated_at"])
    return conversation


def survey_submit(*, conversation: Conversation, rating: int, comment: str = "") -> SatisfactionSurvey:
    """Record the customer's rating; a second submission updates the first."""
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ValidationError(f"rating must be a whole number from 1 to 5, got {rating!r}")
    survey, _ = SatisfactionSurvey.objects.update_or_create(
        conversation=conversation, defaults={"rating": rating, "comment": comment.strip()}
    )
    return survey
