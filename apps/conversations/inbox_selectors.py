"""Reads for the agents' inbox pages: the conversation list, one transcript and the customer beside it.

Every function here costs a fixed number of queries whatever the number of rows (the inbox page test pins
it), so related rows come through ``select_related`` and annotations, never through attribute access in a
loop.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

from apps.accounts.models import Team
from apps.accounts.permissions import user_has_role
from apps.accounts.roles import AGENTS
from apps.accounts.selectors import agent_profile_list, work_scope
from apps.conversations.events import conversation_summary, user_display_name
from apps.conversations.models import CannedReply, Conversation, Message
from apps.conversations.selectors import conversation_list, conversation_list_with_preview, message_list
from apps.customers.models import Customer
from apps.tickets.models import Ticket
from apps.tickets.selectors import ticket_list

# The list is a working queue, not an archive: older open conversations are one search away in the admin.
INBOX_LIST_LIMIT = 200
PANEL_HISTORY_LIMIT = 20


# Sections of the list, in the order they are shown.
BUCKET_WAITING, BUCKET_MINE, BUCKET_OTHER = 0, 1, 2


@dataclass(frozen=True)
class InboxSections:
    """The open conversations split the way the page shows them; each conversation is in exactly one."""

    waiting: list[Conversation]  # oldest wait first
    mine: list[Conversation]  # assigned to the viewer, most recent activity first
    others: list[Conversation]  # every other open one, most recent activity first

    @property
    def all(self) -> list[Conversation]:
        return [*self.waiting, *self.mine, *self.others]


@dataclass(frozen=True)
class AgentPresence:
    id: int
    name: str
    presence: str


@dataclass(frozen=True)
class CustomerPanel:
    customer: Customer
    attributes: list[tuple[str, str]]
    past_conversations: list[Conversation]
    tickets: list[Ticket]


def inbox_conversation_list(*, user: AbstractBaseUser, limit: int = INBOX_LIST_LIMIT) -> QuerySet[Conversation]:
    """Open conversations: waiting ones first (longest wait first), then the viewer's, then the rest.

    Annotates ``inbox_bucket`` (one of the BUCKET_* numbers), ``waiting_started_at`` (when a waiting one
    started waiting; null for the others) and ``preview_text`` (its latest customer-visible message).
    """
    waiting = Q(state=Conversation.State.WAITING)
    return (
        conversation_list_with_preview()
        .select_related("assignee__agent_profile")
        .filter(work_scope(user=user).q(), state__in=Conversation.OPEN_STATES)
        .annotate(
            inbox_bucket=Case(
                When(waiting, then=Value(BUCKET_WAITING)),
                When(assignee=user, then=Value(BUCKET_MINE)),
                default=Value(BUCKET_OTHER),
                output_field=IntegerField(),
            ),
            # A conversation put in the queue without a handoff request has waited since it began.
            waiting_started_at=Case(When(waiting, then=Coalesce("handoff_requested_at", "created_at"))),
            last_activity_at=Coalesce("last_message_at", "created_at"),
        )
        .order_by(
            "inbox_bucket",
            F("waiting_started_at").asc(nulls_last=True),
            F("last_activity_at").desc(),
            "-pk",
        )[:limit]
    )


def inbox_sections(*, user: AbstractBaseUser, limit: int = INBOX_LIST_LIMIT) -> InboxSections:
    """inbox_conversation_list() split by section; each conversation also gets ``assignee_name``."""
    conversations = list(inbox_conversation_list(user=user, limit=limit))
    for conversation in conversations:
        conversation.assignee_name = user_display_name(conversation.assignee)
    return InboxSections(
        waiting=[c for c in conversations if c.inbox_bucket == BUCKET_WAITING],
        mine=[c for c in conversations if c.inbox_bucket == BUCKET_MINE],
        others=[c for c in conversations if c.inbox_bucket == BUCKET_OTHER],
    )


def inbox_summaries(*, sections: InboxSections) -> list[dict[str, Any]]:
    """The list as the socket's ``inbox.snapshot`` sends it, so the page script starts from the same rows."""
    summaries = []
    for conversation in sections.all:
        summary = conversation_summary(conversation, preview=conversation.preview_text or "")
        if conversation.waiting_started_at and not summary["waiting_since"]:
            summary["waiting_since"] = conversation.waiting_started_at.isoformat()
        summaries.append(summary)
    return summaries


def inbox_conversation_get(*, user: AbstractBaseUser, conversation_id: int) -> Conversation:
    """One conversation ``user`` may see, open or closed, with what its header needs (and ``assignee_name``);
    raises Conversation.DoesNotExist, also for another team's conversation (an agent is not told it exists)."""
    conversation = (
        conversation_list()
        .select_related("assignee__agent_profile")
        .filter(work_scope(user=user).q())
        .get(pk=conversation_id)
    )
    conversation.assignee_name = user_display_name(conversation.assignee)
    return conversation


@dataclass(frozen=True)
class TranscriptEntry:
    message: Message
    author_name: str


def inbox_transcript(*, conversation: Conversation) -> list[TranscriptEntry]:
    """Every message of the conversation in seq order, private notes included (agents and managers see them)."""
    messages = message_list(conversation=conversation).select_related("author__agent_profile")
    return [TranscriptEntry(message=m, author_name=_author_name(m, conversation)) for m in messages]


def _author_name(message: Message, conversation: Conversation) -> str:
    if message.author_id:
        return user_display_name(message.author)
    if message.role == Message.Role.CUSTOMER:
        return str(conversation.customer)
    return Message.Role(message.role).label


def inbox_customer_panel(*, conversation: Conversation) -> CustomerPanel:
    """The customer of ``conversation`` with their other conversations and their tickets, newest first."""
    customer = conversation.customer
    past = (
        Conversation.objects.filter(customer=customer)
        .exclude(pk=conversation.pk)
        .order_by("-created_at", "-pk")[:PANEL_HISTORY_LIMIT]
    )
    tickets = ticket_list().filter(customer=customer).order_by("-created_at", "-pk")[:PANEL_HISTORY_LIMIT]
    attributes = sorted((str(key), _attribute_text(value)) for key, value in (customer.attributes or {}).items())
    return CustomerPanel(customer=customer, attributes=attributes, past_conversations=list(past), tickets=list(tickets))


def _attribute_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def inbox_agent_list() -> list[AgentPresence]:
    """Everyone a conversation can be assigned to (active users with an agent profile), with their presence.

    The same people as the socket's ``inbox.snapshot`` and the ``conversation.assign`` frame accept.
    """
    profiles = agent_profile_list().filter(user__is_active=True)
    return [
        AgentPresence(id=profile.user_id, name=user_display_name(profile.user), presence=profile.presence)
        for profile in profiles
    ]


def inbox_team_list() -> QuerySet[Team]:
    return Team.objects.order_by("name")


def inbox_canned_replies(*, user: AbstractBaseUser) -> list[CannedReply]:
    """Replies for everyone plus those of the user's teams; the Admin role sees all of them."""
    replies = CannedReply.objects.order_by("title", "pk")
    if not user.is_superuser:
        replies = replies.filter(Q(team__isnull=True) | Q(team__agents__user=user)).distinct()
    return list(replies)


def inbox_can_write(user: AbstractBaseUser) -> bool:
    """Agents (and the Admin role) reply and act; a manager who is not also an agent only watches."""
    return user_has_role(user, AGENTS)
