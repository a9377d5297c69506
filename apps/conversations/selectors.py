import statistics
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from apps.accounts.models import AgentProfile, Team
from apps.accounts.selectors import agent_profile_list, agent_profiles_online, work_scope
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
        conversation_list_with_preview()
        .filter(work_scope(user=user).q())
        .exclude(state=Conversation.State.CLOSED)
        .order_by("-at_risk", "-last_message_at")[:limit]
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


def agent_least_loaded(*, team: Team | None) -> AbstractBaseUser | None:
    """The online agent of ``team`` with the fewest open conversations and room under their capacity (the
    longest online first among equals), or None."""
    profiles = (
        agent_profiles_online(team=team)
        .select_related("user")
        .annotate(
            load=Count(
                "user__assigned_conversations",
                filter=Q(user__assigned_conversations__state__in=Conversation.WITH_AGENT_STATES),
            )
        )
        .filter(load__lt=F("capacity"))
        .order_by("load", "presence_changed_at", "pk")
    )
    profile = profiles.first()
    return profile.user if profile else None


def expected_wait_seconds(*, team: Team | None, sample: int = 50) -> float | None:
    """The median time from handoff to an agent's first reply over the team's latest ``sample`` handed-over
    conversations of the last 30 days, or None without history."""
    since = timezone.now() - timedelta(days=30)
    rows = (
        Conversation.objects.filter(team=team, handoff_requested_at__gte=since, first_agent_response_at__isnull=False)
        .order_by("-handoff_requested_at")
        .values_list("handoff_requested_at", "first_agent_response_at")[:sample]
    )
    waits = sorted(max(0.0, (answered - asked).total_seconds()) for asked, answered in rows)
    return statistics.median(waits) if waits else None
