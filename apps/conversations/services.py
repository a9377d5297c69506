"""Writes of the chat: one transaction per message, seq assigned under the conversation's row lock."""

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Team
from apps.accounts.selectors import agents_are_online, team_default
from apps.assistant.suggestion_services import suggestion_use_record
from apps.conversations.events import (
    INBOX_GROUP,
    conversation_group,
    conversation_state_payload,
    conversation_summary,
    message_annotated_broadcast_on_commit,
    message_broadcast_on_commit,
    send_rollback_unsafe,
    user_display_name,
)
from apps.conversations.models import Conversation, Message, SatisfactionSurvey
from apps.conversations.selectors import (
    agent_least_loaded,
    conversation_list,
    conversation_preview,
    conversation_transcript_text,
    expected_wait_seconds,
)
from apps.customers.models import Customer
from apps.privacy.names import customer_names
from apps.privacy.redaction import pii_redact
from apps.tickets.models import Ticket
from apps.tickets.services import ticket_create, ticket_record_first_response, ticket_set_status
from helpdesk.celery import BrokerUnavailable, task_enqueue_by_name

logger = logging.getLogger(__name__)


class ConversationClosed(ValidationError):
    """The conversation is closed: nothing more can be posted to it or changed in it."""


@dataclass(frozen=True)
class PostedMessage:
    message: Message
    created: bool  # False when client_id had already been stored: the resend is acknowledged, not stored twice


def conversation_start(
    *, customer: Customer, channel: str = Conversation.Channel.WIDGET, team: Team | None = None
) -> Conversation:
    return Conversation.objects.create(customer=customer, channel=channel, team=team)


def _check_text(text: str) -> str:
    """The message text as stored (stripped); refuses empty and oversize text with the limit."""
    text = text.strip()
    if not text:
        raise ValidationError("A message needs some text.")
    if len(text) > Message.MAX_TEXT_LENGTH:
        raise ValidationError(f"A message may hold at most {Message.MAX_TEXT_LENGTH} characters; got {len(text)}.")
    return text


@transaction.atomic
def message_post(
    *,
    conversation: Conversation,
    role: str,
    text: str,
    client_id: uuid.UUID | None = None,
    author: AbstractBaseUser | None = None,
    already_locked: bool = False,
) -> PostedMessage:
    """Store one message with the conversation's next seq; idempotent on ``client_id``.

    Locks the conversation row, so concurrent posts get distinct, gap-free seqs; ``already_locked`` says the
    caller selected ``conversation`` for update in this transaction (saves a second round trip per message).
    Callers broadcast and enqueue work in ``transaction.on_commit`` so nothing is announced before it is stored.
    """
    if role not in Message.Role.values:
        raise ValidationError(f"role must be one of {Message.Role.values}, got {role!r}")
    text = _check_text(text)
    locked = conversation if already_locked else Conversation.objects.select_for_update().get(pk=conversation.pk)
    if client_id is not None:
        existing = Message.objects.filter(conversation=locked, client_id=client_id).first()
        if existing is not None:
            return PostedMessage(message=existing, created=False)
    if role == Message.Role.CUSTOMER and settings.HELPDESK_REDACT_AT_REST:
        text = _redacted_at_rest(text, locked)
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


def _redacted_at_rest(text: str, conversation: Conversation) -> str:
    customer = Customer.objects.only("name", "email").get(pk=conversation.customer_id)
    return pii_redact(text, names=customer_names(name=customer.name, email=customer.email))


def conversation_close(*, conversation: Conversation) -> Conversation:
    if conversation.state != Conversation.State.CLOSED:
        conversation.state = Conversation.State.CLOSED
        conversation.closed_at = timezone.now()
        conversation.save(update_fields=["state", "closed_at", "updated_at"])
        # The reports' facts; robust: a failed refresh must not fail the close (the reports' beat job catches up).
        conversation_id = conversation.pk
        transaction.on_commit(
            lambda: task_enqueue_by_name("apps.reports.tasks.refresh_conversation_fact", conversation_id), robust=True
        )
    return conversation


def survey_submit(*, conversation: Conversation, rating: int, comment: str = "") -> SatisfactionSurvey:
    """Record the customer's rating; a second submission updates the first."""
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ValidationError(f"rating must be a whole number from 1 to 5, got {rating!r}")
    survey, _ = SatisfactionSurvey.objects.update_or_create(
        conversation=conversation, defaults={"rating": rating, "comment": comment.strip()}
    )
    conversation_id = conversation.pk  # the reports' facts carry the rating and a low rating's comment
    transaction.on_commit(
        lambda: task_enqueue_by_name("apps.reports.tasks.refresh_conversation_fact", conversation_id), robust=True
    )
    return survey


# --- The live chat: each function is one transaction; broadcasts and tasks go out when it commits. ---------


def _system_message(conversation: Conversation, text: str) -> Message:
    """A system line in a conversation whose row the caller has locked in the current transaction."""
    posted = message_post(conversation=conversation, role=Message.Role.SYSTEM, text=text, already_locked=True)
    message_broadcast_on_commit(posted.message)
    return posted.message


def _announce_state_on_commit(conversation: Conversation) -> None:
    """Tell the widget its new state and every inbox the new summary, once committed."""
    conversation_id = conversation.pk
    transaction.on_commit(lambda: conversation_announce_rollback_unsafe(conversation_id=conversation_id))


def conversation_announce_rollback_unsafe(*, conversation_id: int) -> None:
    conversation = conversation_list().get(pk=conversation_id)
    rating = SatisfactionSurvey.objects.filter(conversation=conversation).values_list("rating", flat=True).first()
    state = conversation_state_payload(conversation, agents_online=agents_are_online(), rating=rating)
    send_rollback_unsafe(conversation_group(conversation_id), {"type": "chat.state", "state": state})
    _summary_send_rollback_unsafe(conversation)


def _summary_send_rollback_unsafe(conversation: Conversation) -> None:
    preview = conversation_preview(conversation=conversation)
    send_rollback_unsafe(
        INBOX_GROUP,
        {"type": "chat.conversation", "conversation": conversation_summary(conversation, preview=preview)},
    )


def _summary_on_commit(conversation: Conversation) -> None:
    """Every inbox gets the conversation's new row once committed; the widget's state has not changed."""
    conversation_id = conversation.pk
    transaction.on_commit(lambda: _summary_send_rollback_unsafe(conversation_list().get(pk=conversation_id)))


@transaction.atomic
def customer_message_post(*, conversation: Conversation, text: str, client_id: uuid.UUID) -> PostedMessage:
    """The customer's message: stored, broadcast, and handed to the bot's task (which also annotates messages
    of conversations with the agents), or to the agents' queue when no bot task is configured. A resend (same
    client_id) is acknowledged again and changes nothing."""
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if locked.state == Conversation.State.CLOSED:
        raise ConversationClosed("This conversation is closed.")
    posted = message_post(
        conversation=locked, role=Message.Role.CUSTOMER, text=text, client_id=client_id, already_locked=True
    )
    if not posted.created:
        return posted
    message_broadcast_on_commit(posted.message)
    if settings.HELPDESK_MESSAGE_HOOK_TASK:
        # With the bot, the hook answers; with the agents, it annotates for them (intent, sentiment, suggestions).
        message_id, hook = posted.message.pk, settings.HELPDESK_MESSAGE_HOOK_TASK
        transaction.on_commit(lambda: _hook_enqueue(hook, message_id))
    elif locked.state == Conversation.State.BOT:
        _route_to_agents(locked, reason="")
    return posted


def _hook_enqueue(hook: str, message_id: int) -> None:
    """The hook's task for a committed message. With the broker unreachable (Redis restarting) the message
    stays stored and acknowledged: the hook's owner sweeps up what was never queued (the assistant's beat job
    apps.assistant.tasks.requeue_unanalysed), so the sender gets the ack rather than a dead socket."""
    try:
        task_enqueue_by_name(hook, message_id)
    except BrokerUnavailable as exc:
        logger.warning("broker unreachable, %s of message %s left to the sweep: %r", hook, message_id, exc)


def _route_to_agents(conversation: Conversation, *, reason: str, team: Team | None = None) -> None:
    """Move a conversation into a team's waiting queue, and to its least loaded online agent when one has room
    (caller holds the row lock). The team: ``team`` (the intent's), else the one it has, else the default; a
    team with nobody online gives way to the default team when someone is online there."""
    now = timezone.now()
    conversation.state = Conversation.State.WAITING
    conversation.handoff_requested_at = conversation.handoff_requested_at or now
    chosen = team or conversation.team or team_default()
    fallback = team_default()
    if fallback is not None and not agents_are_online(team=chosen) and agents_are_online(team=fallback):
        chosen = fallback
    conversation.team = chosen
    update_fields = ["state", "handoff_requested_at", "team", "updated_at"]
    if conversation.assignee_id is None and (agent := agent_least_loaded(team=chosen)) is not None:
        conversation.assignee = agent
        update_fields.append("assignee")
    conversation.save(update_fields=update_fields)
    if agents_are_online():
        text = f"Thanks, an agent will be with you shortly.{_wait_text(expected_wait_seconds(team=chosen))}"
    else:
        text = "No agent is online right now. Leave your email and we will answer you by email."
    _system_message(conversation, f"{reason} {text}".strip())
    _announce_state_on_commit(conversation)


def _wait_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return " Expected wait: under a minute."
    minutes = round(seconds / 60)
    return f" Expected wait: about {minutes} minute{'s' if minutes != 1 else ''}."


@transaction.atomic
def conversation_request_handoff(
    *, conversation: Conversation, reason: str = "", team: Team | None = None
) -> Conversation:
    """The customer (or the bot's policy) asks for a person. Idempotent while waiting or with an agent."""
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if locked.state == Conversation.State.CLOSED:
        raise ConversationClosed("This conversation is closed.")
    if locked.state == Conversation.State.BOT:
        _route_to_agents(locked, reason=reason, team=team)
    return locked


def bot_message_post(
    *,
    conversation: Conversation,
    text: str,
    quick_replies: tuple[str, ...] | list[str] = (),
    article: dict[str, str] | None = None,
    annotations: dict | None = None,
) -> Message:
    """The bot's reply, with its quick replies and the article it links to; call inside a transaction holding
    the conversation's row lock. Broadcast once committed."""
    message = message_post(conversation=conversation, role=Message.Role.BOT, text=text, already_locked=True).message
    message.annotations = {"quick_replies": list(quick_replies), "article": article, **(annotations or {})}
    message.save(update_fields=["annotations"])
    message_broadcast_on_commit(message)
    return message


def conversation_bot_state_save(*, conversation: Conversation, bot_state: dict) -> None:
    conversation.bot_state = bot_state
    conversation.save(update_fields=["bot_state", "updated_at"])


SATISFACTION_HISTORY = 10


@transaction.atomic
def conversation_satisfaction_record(*, conversation: Conversation, score: float, at_risk_below: float) -> Conversation:
    """The satisfaction model's prediction after a customer message: kept with the recent ones (the trend),
    ``at_risk`` when it is at or below ``at_risk_below``; every inbox (not the widget) gets the new row."""
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    locked.predicted_satisfaction = round(score, 2)
    locked.satisfaction_history = [*(locked.satisfaction_history or []), locked.predicted_satisfaction][
        -SATISFACTION_HISTORY:
    ]
    locked.at_risk = score <= at_risk_below
    locked.save(update_fields=["predicted_satisfaction", "satisfaction_history", "at_risk", "updated_at"])
    _summary_on_commit(locked)
    return locked


@transaction.atomic
def message_annotations_merge(*, message: Message, annotations: dict) -> Message:
    """Add ``annotations`` to a stored message's JSON (re-read under a row lock, so a concurrent write such
    as an agent's intent correction is kept) and show the message again in every inbox."""
    locked = Message.objects.select_for_update().get(pk=message.pk)
    locked.annotations = {**(locked.annotations or {}), **annotations}
    locked.save(update_fields=["annotations"])
    message_annotated_broadcast_on_commit(locked)
    return locked


def message_annotate(
    *,
    message: Message,
    intent: str = "",
    intent_confidence: float | None = None,
    intent_top3: list | None = None,
    sentiment: float | None = None,
    escalate: bool = False,
    decision: str = "",
    decision_reason: str = "",
    annotations: dict | None = None,
) -> Message:
    """Store what the models and the policy made of a message (merging ``annotations`` into its JSON), and
    show it in every inbox once committed."""
    message.intent = intent
    message.intent_confidence = intent_confidence
    message.intent_top3 = intent_top3 or []
    message.sentiment = sentiment
    message.escalate = escalate
    message.decision = decision
    message.decision_reason = decision_reason[:500]
    message.annotations = {**(message.annotations or {}), **(annotations or {})}
    message.save(
        update_fields=[
            "intent",
            "intent_confidence",
            "intent_top3",
            "sentiment",
            "escalate",
            "decision",
            "decision_reason",
            "annotations",
        ]
    )
    message_annotated_broadcast_on_commit(message)
    return message


@transaction.atomic
def agent_message_post(
    *,
    conversation: Conversation,
    agent: AbstractBaseUser,
    text: str,
    client_id: uuid.UUID | None,
    note: bool,
    suggestion: str | None = None,
) -> PostedMessage:
    """An agent's reply or private note. A reply to a conversation nobody has taken assigns it to the agent
    (the "joined" line comes first, then the reply); a reply to a customer who left an email also goes out by
    email. ``suggestion`` is the id of the suggested reply the agent inserted, if any: whether it was sent as
    is, edited or none was used is recorded for the suggestions' acceptance rate."""
    locked = Conversation.objects.select_for_update().select_related("customer").get(pk=conversation.pk)
    role = Message.Role.NOTE if note else Message.Role.AGENT
    if client_id is not None:
        existing = Message.objects.filter(conversation=locked, client_id=client_id).first()
        if existing is not None:
            return PostedMessage(message=existing, created=False)
    # Validate before the "joined" line so a refused reply changes nothing.
    _check_text(text)
    if not note and locked.state in (Conversation.State.BOT, Conversation.State.WAITING):
        _take(locked, agent=agent)
    posted = message_post(
        conversation=locked, role=role, text=text, client_id=client_id, author=agent, already_locked=True
    )
    message_broadcast_on_commit(posted.message)
    if note:
        return posted
    suggestion_use_record(reply=posted.message, agent=agent, suggestion=suggestion)
    if locked.ticket_id is not None:
        ticket_record_first_response(ticket=locked.ticket, at=posted.message.created_at, actor=agent)
    if locked.reply_by_email and locked.customer.email:
        message_id = posted.message.pk
        transaction.on_commit(lambda: task_enqueue_by_name("apps.conversations.tasks.message_email_send", message_id))
    return posted


def _take(conversation: Conversation, *, agent: AbstractBaseUser) -> None:
    conversation.assignee = agent
    conversation.state = Conversation.State.AGENT
    conversation.save(update_fields=["assignee", "state", "updated_at"])
    _system_message(conversation, f"{user_display_name(agent)} joined the conversation.")
    _announce_state_on_commit(conversation)


@transaction.atomic
def conversation_assign(*, conversation: Conversation, agent: AbstractBaseUser) -> Conversation:
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if locked.state == Conversation.State.CLOSED:
        raise ConversationClosed("This conversation is closed.")
    if locked.assignee_id != agent.pk:
        _take(locked, agent=agent)
    return locked


@transaction.atomic
def conversation_transfer(*, conversation: Conversation, team: Team, actor: AbstractBaseUser) -> Conversation:
    """Send a conversation back to the waiting queue of ``team``, unassigned."""
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if locked.state == Conversation.State.CLOSED:
        raise ConversationClosed("This conversation is closed.")
    locked.team, locked.assignee = team, None
    locked.state = Conversation.State.WAITING
    locked.handoff_requested_at = locked.handoff_requested_at or timezone.now()
    locked.save(update_fields=["team", "assignee", "state", "handoff_requested_at", "updated_at"])
    _system_message(locked, f"{user_display_name(actor)} transferred the conversation to {team.name}.")
    _announce_state_on_commit(locked)
    return locked


@transaction.atomic
def conversation_resolve(*, conversation: Conversation, actor: AbstractBaseUser | None) -> Conversation:
    """Close the conversation (the widget then asks for a rating) and resolve its ticket if it has one."""
    locked = Conversation.objects.select_for_update(of=("self",)).select_related("ticket").get(pk=conversation.pk)
    if locked.state == Conversation.State.CLOSED:
        return locked
    conversation_close(conversation=locked)
    _system_message(locked, "This conversation was resolved. How did we do?")
    if locked.ticket is not None and locked.ticket.is_open:
        ticket_set_status(ticket=locked.ticket, status=Ticket.Status.RESOLVED, actor=actor, comment="chat resolved")
    if locked.ticket_id is not None or locked.reply_by_email:
        # The customer may be gone from the widget: the survey goes by e-mail too (one answer either way).
        conversation_id = locked.pk
        transaction.on_commit(
            lambda: task_enqueue_by_name("apps.conversations.tasks.survey_email_send", conversation_id)
        )
    _announce_state_on_commit(locked)
    return locked


@transaction.atomic
def conversation_leave_email(*, conversation: Conversation, email: str) -> Conversation:
    """No agent was online: keep the customer's email, open a ticket, and answer by email from now on."""
    validate_email(email)
    locked = Conversation.objects.select_for_update().select_related("customer").get(pk=conversation.pk)
    if locked.state == Conversation.State.CLOSED:
        raise ConversationClosed("This conversation is closed.")
    customer = locked.customer
    if customer.email != email:
        customer.email = email
        customer.save(update_fields=["email", "updated_at"])
    if locked.ticket_id is None:
        first = locked.messages.filter(role=Message.Role.CUSTOMER).order_by("seq").first()
        subject = (first.text if first else "Chat from the website")[:120]
        locked.ticket = ticket_create(
            customer=customer,
            subject=subject,
            team=locked.team,
            description=conversation_transcript_text(conversation=locked),
        )
    locked.reply_by_email = True
    if locked.state == Conversation.State.BOT:
        locked.state = Conversation.State.WAITING
        locked.handoff_requested_at = timezone.now()
    locked.save(update_fields=["ticket", "reply_by_email", "state", "handoff_requested_at", "updated_at"])
    _system_message(locked, f"Thanks! We will answer you at {email}.")
    _announce_state_on_commit(locked)
    return locked


def message_email_send(*, message_id: int) -> None:
    """Email an agent's reply to a customer who left their address (run by a Celery task)."""
    message = Message.objects.select_related("conversation__customer", "author").get(pk=message_id)
    conversation = message.conversation
    send_mail(
        subject=f"Re: your conversation #{conversation.pk}",
        message=f"{user_display_name(message.author)} replied:\n\n{message.text}\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[conversation.customer.email],
    )


def conversation_rate(*, conversation: Conversation, rating: int, comment: str = "") -> SatisfactionSurvey:
    """The customer's rating, accepted once the conversation is resolved; a second one updates the first."""
    if conversation.state != Conversation.State.CLOSED:
        raise ValidationError("A conversation can be rated once it is resolved.")
    survey = survey_submit(conversation=conversation, rating=rating, comment=comment)
    _announce_state_on_commit(conversation)
    return survey


@transaction.atomic
def widget_session_start(*, name: str, email: str = "") -> Conversation:
    """A visitor opened the widget: a customer and an empty conversation with the bot."""
    customer = Customer.objects.create(name=name.strip(), email=email.strip(), attributes={"source": "widget"})
    return conversation_start(customer=customer, channel=Conversation.Channel.WIDGET)
