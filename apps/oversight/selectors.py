"""Reads of conversation reviews: who sees which, whom a review is about, and a conversation's timeline."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Min, QuerySet
from django.utils import timezone

from apps.accounts.permissions import user_has_role
from apps.accounts.roles import AGENTS, MANAGERS
from apps.assistant.models import SuggestionUse
from apps.conversations.events import user_display_name
from apps.conversations.models import Conversation, Message, SatisfactionSurvey
from apps.oversight.models import ConversationReview, ReviewCriterion
from apps.tickets.models import TicketChange
from apps.tickets.sla_selectors import ticket_breach_list


def reviewer_allowed(*, user: AbstractBaseUser) -> bool:
    """Team leads (Managers) and the Admin review conversations; agents and ML admins do not."""
    return user_has_role(user, MANAGERS)


def review_list_visible_to(*, user: AbstractBaseUser) -> QuerySet[ConversationReview]:
    """Managers and the Admin see every review; an agent only the reviews of themselves; anyone else none."""
    reviews = ConversationReview.objects.select_related(
        "conversation", "agent__agent_profile", "team", "reviewer__agent_profile"
    )
    if user_has_role(user, MANAGERS):
        return reviews
    if user_has_role(user, AGENTS):
        return reviews.filter(agent_id=user.pk)
    return reviews.none()


@dataclass(frozen=True)
class ReviewPanel:
    """What a conversation's admin page shows of its reviews to one user."""

    reviews: list[ConversationReview]
    may_review: bool


def conversation_review_panel(*, conversation: Conversation, user: AbstractBaseUser) -> ReviewPanel:
    """The conversation's reviews ``user`` may see (the latest first) and whether they may review it. One query."""
    reviews = list(review_list_visible_to(user=user).filter(conversation=conversation))
    return ReviewPanel(reviews=reviews, may_review=reviewer_allowed(user=user))


def review_of(*, conversation: Conversation, reviewer: AbstractBaseUser) -> ConversationReview | None:
    """The reviewer's review of the conversation, with its scores, if they wrote one. Two queries."""
    return (
        ConversationReview.objects.filter(conversation=conversation, reviewer=reviewer)
        .prefetch_related("scores")
        .first()
    )


def criteria_active() -> list[ReviewCriterion]:
    return list(ReviewCriterion.objects.filter(is_active=True).order_by("position", "name"))


def conversation_reviewed_agent_id(*, conversation: Conversation) -> int | None:
    """Whom a review of the conversation is about: its assignee, or, unassigned, the agent who wrote the most
    of its agent messages (the first of them to write, on a tie); None for a conversation no agent touched."""
    if conversation.assignee_id is not None:
        return conversation.assignee_id
    authors = (
        Message.objects.filter(conversation=conversation, role=Message.Role.AGENT, author__isnull=False)
        .order_by()
        .values("author_id")
        .annotate(written=Count("pk"), first_seq=Min("seq"))
        .order_by("-written", "first_seq")
    )
    top = authors.first()
    return top["author_id"] if top else None


def conversation_handled_by(*, conversation: Conversation, user: AbstractBaseUser) -> bool:
    """Whether ``user`` is the conversation's assignee or wrote any of its agent messages."""
    if conversation.assignee_id == user.pk:
        return True
    return Message.objects.filter(conversation=conversation, role=Message.Role.AGENT, author_id=user.pk).exists()


# --- The timeline a reviewer reads ------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened in a conversation, for a read-only transcript. ``facts`` are (label, value) pairs
    shown beside it: a customer message's model annotations, a bot reply's policy decision, a change's values."""

    at: datetime
    kind: str  # "message", "intent_correction", "suggestion", "ticket_change", "sla_breach", "survey"
    label: str
    actor: str = ""
    text: str = ""
    facts: tuple[tuple[str, str], ...] = ()
    seq: int | None = None
    is_note: bool = False


# Entries at the same instant read in this order: what was said, then what was done about it.
_KIND_ORDER = {"message": 0, "intent_correction": 1, "suggestion": 2, "ticket_change": 3, "sla_breach": 4, "survey": 5}


def conversation_timeline(*, conversation: Conversation) -> list[TimelineEntry]:
    """The conversation's messages, the agents' actions on it and its ticket, its ticket's SLA breaches and its
    survey, oldest first. Five queries with a ticket (messages, suggestion outcomes, ticket changes, breaches,
    survey), three without, whatever the length of the conversation."""
    messages = list(
        Message.objects.filter(conversation=conversation).select_related("author__agent_profile").order_by("seq")
    )
    entries = [*_message_entries(messages), *_correction_entries(messages), *_suggestion_entries(messages)]
    if conversation.ticket_id is not None:
        entries += _ticket_entries(conversation.ticket_id)
    entries += _survey_entries(conversation)
    entries.sort(key=lambda entry: (entry.at, _KIND_ORDER[entry.kind], entry.seq or 0))
    return entries


def _message_entries(messages: list[Message]) -> Iterable[TimelineEntry]:
    by_seq = {message.seq: message for message in messages}
    # The policy's decision is stored on the customer message it was about; a bot reply names that message.
    answered = {(m.annotations or {}).get("in_reply_to") for m in messages if m.role == Message.Role.BOT}
    for message in messages:
        if message.role == Message.Role.CUSTOMER:
            facts = _customer_facts(message, decided_elsewhere=message.seq in answered)
        elif message.role == Message.Role.BOT:
            facts = _bot_facts(message, by_seq.get((message.annotations or {}).get("in_reply_to")))
        else:
            facts = ()
        yield TimelineEntry(
            at=message.created_at,
            kind="message",
            label=str(message.get_role_display()),
            actor=user_display_name(message.author) if message.author_id else "",
            text=message.text,
            facts=facts,
            seq=message.seq,
            is_note=message.role == Message.Role.NOTE,
        )


def _customer_facts(message: Message, *, decided_elsewhere: bool) -> tuple[tuple[str, str], ...]:
    facts: list[tuple[str, str]] = []
    if message.intent:
        confidence = f" ({message.intent_confidence:.2f})" if message.intent_confidence is not None else ""
        facts.append(("Intent", f"{message.intent}{confidence}"))
    if message.sentiment is not None:
        facts.append(("Sentiment", f"{message.sentiment:+.2f}"))
    if message.escalate:
        facts.append(("Escalate", "yes"))
    if message.predicted_satisfaction is not None:
        facts.append(("Predicted satisfaction", f"{message.predicted_satisfaction:.2f}"))
    models = (message.annotations or {}).get("models")
    if isinstance(models, dict) and models:
        facts.append(("Models", ", ".join(f"{name} {version}" for name, version in sorted(models.items()))))
    if message.decision and not decided_elsewhere:
        facts += _decision_facts(message.get_decision_display(), message.decision_reason)
    return tuple(facts)


def _bot_facts(message: Message, asked: Message | None) -> tuple[tuple[str, str], ...]:
    decision = message.decision or (message.annotations or {}).get("decision") or (asked.decision if asked else "")
    reason = message.decision_reason or (asked.decision_reason if asked else "")
    label = Message.Decision(decision).label if decision in Message.Decision.values else str(decision or "")
    return tuple(_decision_facts(label, reason)) if label else ()


def _decision_facts(label: str, reason: str) -> list[tuple[str, str]]:
    return [("Policy decision", str(label)), *([("Reason", reason)] if reason else [])]


def _correction_entries(messages: list[Message]) -> Iterable[TimelineEntry]:
    for message in messages:
        correction = (message.annotations or {}).get("corrected_intent")
        if not isinstance(correction, dict) or not correction.get("intent"):
            continue
        yield TimelineEntry(
            at=_parsed_time(correction.get("at")) or message.created_at,
            kind="intent_correction",
            label="Intent corrected",
            actor=str(correction.get("by_name") or ""),
            facts=(
                ("Message", f"#{message.seq}"),
                ("Model said", message.intent or "—"),
                ("Agent said", str(correction["intent"])),
            ),
            seq=message.seq,
        )


def _parsed_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _suggestion_entries(messages: list[Message]) -> Iterable[TimelineEntry]:
    seqs = {message.pk: message.seq for message in messages if message.role == Message.Role.CUSTOMER}
    if not seqs:
        return
    uses = SuggestionUse.objects.filter(message_id__in=list(seqs)).select_related("agent__agent_profile")
    for use in uses.order_by("created_at", "pk"):
        yield TimelineEntry(
            at=use.created_at,
            kind="suggestion",
            label="Suggested reply",
            actor=user_display_name(use.agent),
            facts=(("For message", f"#{seqs[use.message_id]}"), ("Outcome", str(use.get_outcome_display()))),
            seq=seqs[use.message_id],
        )


def _ticket_entries(ticket_id: int) -> list[TimelineEntry]:
    changes = TicketChange.objects.filter(ticket_id=ticket_id).select_related("actor__agent_profile")
    entries = [
        TimelineEntry(
            at=change.created_at,
            kind="ticket_change",
            label=f"Ticket {change.field.replace('_', ' ')}",
            actor=user_display_name(change.actor),
            facts=(
                ("From", change.old_value or "—"),
                ("To", change.new_value or "—"),
                *([("Comment", change.comment)] if change.comment else []),
            ),
        )
        for change in changes.order_by("created_at", "pk")
    ]
    for breach in ticket_breach_list(ticket_id=ticket_id):
        escalated = _local(breach.escalated_at) if breach.escalated_at else "no"
        entries.append(
            TimelineEntry(
                at=breach.detected_at,
                kind="sla_breach",
                label=f"SLA breach: {breach.get_kind_display()}",
                facts=(("Due", _local(breach.due_at)), ("Escalated", escalated)),
            )
        )
    return entries


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _survey_entries(conversation: Conversation) -> list[TimelineEntry]:
    survey = SatisfactionSurvey.objects.filter(conversation=conversation).first()
    if survey is None:
        return []
    return [
        TimelineEntry(
            at=survey.updated_at,
            kind="survey",
            label="Survey",
            text=survey.comment,
            facts=(("Rating", f"{survey.rating}/5"),),
        )
    ]
