"""Writes of the reports' rollup (ConversationFact): computed from a conversation's rows, upserted, idempotent."""

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Avg, Count, F, Q
from django.db.models.fields.json import KT
from django.utils import timezone

from apps.assistant.models import SuggestionUse
from apps.conversations.models import Conversation, Message, SatisfactionSurvey
from apps.oversight.models import ConversationReview
from apps.reports.models import ConversationFact
from apps.tickets.models import SLABreach

# Conversations refreshed per round of queries: a few queries per batch, whatever its size.
REFRESH_BATCH_SIZE = 2000

# Every column an upsert rewrites (all but the key).
_UPDATED_FIELDS = [column.name for column in ConversationFact._meta.concrete_fields if not column.primary_key]


def conversation_fact_refresh(*, conversation: Conversation) -> ConversationFact | None:
    """Write the facts of ``conversation`` from what is stored now, replacing any it had (idempotent). A
    conversation that is not closed has none: facts it had are deleted and None is returned."""
    facts = _refresh_batch([conversation.pk], now=timezone.now())
    return facts[0] if facts else None


def conversation_facts_refresh(*, conversation_ids: Iterable[int]) -> int:
    """``conversation_fact_refresh`` for many conversations, a batch of queries per REFRESH_BATCH_SIZE of them;
    returns how many facts were written."""
    written = 0
    now = timezone.now()
    for batch in _batches(conversation_ids, REFRESH_BATCH_SIZE):
        written += len(_refresh_batch(batch, now=now))
    return written


def conversation_facts_refresh_stale(*, everything: bool = False) -> int:
    """Refresh the facts of closed conversations that have none, or changed (closed again, rated, re-rated,
    reviewed, their ticket's SLA breached) after their facts were written; with ``everything``, of every closed
    conversation. Returns the count."""
    closed = Conversation.objects.filter(state=Conversation.State.CLOSED, closed_at__isnull=False)
    if not everything:
        closed = closed.filter(_stale_condition())
    ids = closed.order_by("pk").values_list("pk", flat=True)
    return conversation_facts_refresh(conversation_ids=ids.iterator(chunk_size=REFRESH_BATCH_SIZE))


def _stale_condition() -> Q:
    # A conversation's updated_at moves with every save (closing included); a survey's with every answer, a
    # review's with every submission; a breach is stamped when detected (its ticket may stay open after the
    # chat closed). Comparing with the fact's own refreshed_at needs no "last run" bookkeeping and heals a
    # missed run. Reviews and breaches since then are few: their conversations are read first, from those
    # tables (an EXISTS per closed conversation doubled the beat job's time at 100 k; bench-reports).
    refreshed = "report_fact__refreshed_at"
    reviewed = ConversationReview.objects.filter(updated_at__gt=F(f"conversation__{refreshed}"))
    breached = SLABreach.objects.filter(detected_at__gt=F(f"ticket__conversations__{refreshed}"))
    return (
        Q(report_fact__isnull=True)
        | Q(updated_at__gt=F(refreshed))
        | Q(survey__updated_at__gt=F(refreshed))
        | Q(pk__in=list(reviewed.values_list("conversation_id", flat=True)))
        | Q(pk__in=list(breached.values_list("ticket__conversations", flat=True)))
    )


def _review_means(conversation_ids: list[int]) -> dict[int, float]:
    """The mean of each conversation's reviews' scores, for those reviewed. One query."""
    rows = (
        ConversationReview.objects.filter(conversation_id__in=conversation_ids)
        .values("conversation_id")
        .annotate(mean=Avg("score"))
        .values_list("conversation_id", "mean")
    )
    return dict(rows)


def _breach_counts(ticket_ids: list[int]) -> dict[int, int]:
    """How many SLA targets each ticket missed, for those that missed any. One query, none without tickets."""
    if not ticket_ids:
        return {}
    rows = (
        SLABreach.objects.filter(ticket_id__in=ticket_ids)
        .values("ticket_id")
        .annotate(n=Count("pk"))
        .values_list("ticket_id", "n")
    )
    return dict(rows)


def _batches(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    batch: list[int] = []
    for conversation_id in ids:
        batch.append(conversation_id)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _refresh_batch(ids: list[int], *, now: datetime) -> list[ConversationFact]:
    conversations = list(Conversation.objects.filter(pk__in=ids).select_related("survey").order_by("pk"))
    closed = [c for c in conversations if c.state == Conversation.State.CLOSED and c.closed_at is not None]
    closed_ids = [c.pk for c in closed]
    messages = _messages_read([c.pk for c in closed])
    suggestions = _suggestion_counts(messages.customer_message_conversations)
    review_means = _review_means(closed_ids)
    breaches = _breach_counts(sorted({c.ticket_id for c in closed if c.ticket_id is not None}))
    facts = [
        _fact(
            c,
            counts=messages.counts[c.pk],
            intent=messages.intents.get(c.pk, ""),
            suggestions=suggestions[c.pk],
            review_score=review_means.get(c.pk),
            sla_breaches=breaches.get(c.ticket_id, 0),
            now=now,
        )
        for c in closed
    ]
    with transaction.atomic():
        # Ids whose conversation is gone or open again lose their facts (a deleted one's cascade already did).
        ConversationFact.objects.filter(pk__in=ids).exclude(pk__in=closed_ids).delete()
        ConversationFact.objects.bulk_create(
            facts,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["conversation"],
            update_fields=_UPDATED_FIELDS,
        )
    return facts


@dataclass
class _MessagesRead:
    counts: defaultdict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    # The intent of each conversation's first customer message that has one.
    intents: dict[int, str] = field(default_factory=dict)
    # {customer message id: its conversation id}: what suggestion outcomes are recorded against.
    customer_message_conversations: dict[int, int] = field(default_factory=dict)


def _messages_read(ids: list[int]) -> _MessagesRead:
    """One query over the conversations' messages, in the order of their (conversation, seq) index. Filtering
    by role or intent in SQL would lead the database to those columns' indexes and a scan of every message."""
    read = _MessagesRead()
    if not ids:
        return read
    rows = (
        Message.objects.filter(conversation_id__in=ids)
        .order_by("conversation_id", "seq")
        .values_list("pk", "conversation_id", "role", "intent", KT("annotations__corrected_intent__intent"))
    )
    for message_id, conversation_id, role, intent, corrected in rows:
        read.counts[conversation_id][role] += 1
        if role != Message.Role.CUSTOMER:
            continue
        read.customer_message_conversations[message_id] = conversation_id
        # An agent's correction of the intent wins over the model's.
        if conversation_id not in read.intents and (corrected or intent):
            read.intents[conversation_id] = (corrected or intent)[:100]
    return read


def _suggestion_counts(message_conversations: dict[int, int]) -> defaultdict[int, Counter]:
    counts: defaultdict[int, Counter] = defaultdict(Counter)
    if not message_conversations:
        return counts
    outcomes = SuggestionUse.objects.filter(message_id__in=list(message_conversations)).values_list(
        "message_id", "outcome"
    )
    for message_id, outcome in outcomes:
        counts[message_conversations[message_id]][outcome] += 1
    return counts


def _survey_of(conversation: Conversation) -> SatisfactionSurvey | None:
    try:
        return conversation.survey
    except SatisfactionSurvey.DoesNotExist:
        return None


def _seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds()


def _fact(
    conversation: Conversation,
    *,
    counts: dict[str, int],
    intent: str,
    suggestions: dict[str, int],
    review_score: float | None,
    sla_breaches: int,
    now: datetime,
) -> ConversationFact:
    started = timezone.localtime(conversation.created_at)
    day = started.date()
    survey = _survey_of(conversation)
    rating = survey.rating if survey is not None else None
    agent_messages = counts.get(Message.Role.AGENT, 0)
    # An agent who joins a conversation the bot still holds takes it over without a handoff request.
    handed_over = conversation.handoff_requested_at is not None or agent_messages > 0
    low = rating is not None and rating <= ConversationFact.LOW_RATING_UP_TO
    return ConversationFact(
        conversation=conversation,
        created_at=conversation.created_at,
        closed_at=conversation.closed_at,
        created_date=day,
        created_week=day - timedelta(days=day.weekday()),
        created_month=date(day.year, day.month, 1),
        created_hour=started.hour,
        created_weekday=started.weekday(),
        channel=conversation.channel,
        team_id=conversation.team_id,
        agent_id=conversation.assignee_id,
        intent=intent,
        handed_over=handed_over,
        contained_by_bot=not handed_over,
        # Measured from the (first) handoff; an agent who answered before any was requested waited for none.
        first_response_seconds=_seconds_between(
            conversation.handoff_requested_at, conversation.first_agent_response_at
        ),
        resolution_seconds=max(0.0, (conversation.closed_at - conversation.created_at).total_seconds()),
        customer_messages=counts.get(Message.Role.CUSTOMER, 0),
        agent_messages=agent_messages,
        rating=rating,
        # Read through getattr: the field arrived with the satisfaction model and older schemas lack it.
        predicted_satisfaction=getattr(conversation, "predicted_satisfaction", None),
        suggestions_used=suggestions.get(SuggestionUse.Outcome.USED, 0),
        suggestions_edited=suggestions.get(SuggestionUse.Outcome.EDITED, 0),
        suggestions_ignored=suggestions.get(SuggestionUse.Outcome.IGNORED, 0),
        comment=survey.comment if survey is not None and low else "",
        review_score=review_score,
        sla_breaches=sla_breaches,
        refreshed_at=now,
    )
