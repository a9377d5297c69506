"""Reads of the SLA breach job and of the screens that show breaches."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from apps.accounts.models import AgentProfile, Team
from apps.accounts.selectors import agent_profiles_online
from apps.conversations.models import Conversation
from apps.tickets.models import SLABreach, Ticket

# Which missed target each kind of breach is about: (due field, the stamp that meets it).
BREACH_CLOCKS = {
    SLABreach.Kind.FIRST_RESPONSE: ("first_response_due_at", "first_response_at"),
    SLABreach.Kind.RESOLUTION: ("resolution_due_at", "resolved_at"),
}


def ticket_list_overdue(*, kind: str, now: datetime) -> QuerySet[Ticket]:
    """Open, unmerged tickets past the ``kind`` target without meeting it and without a breach of that kind
    yet, the longest overdue first; a pending ticket is never past its resolution target."""
    due_field, met_field = BREACH_CLOCKS[kind]
    recorded = SLABreach.objects.filter(ticket=OuterRef("pk"), kind=kind)
    overdue = Ticket.objects.filter(
        status__in=Ticket.OPEN_STATUSES,
        merged_into__isnull=True,
        **{f"{due_field}__lte": now, f"{met_field}__isnull": True},
    )
    if kind == SLABreach.Kind.RESOLUTION:
        # Its clock stands still while the ticket waits on the customer (tickets.services._sla_clock).
        overdue = overdue.exclude(status=Ticket.Status.PENDING)
    return overdue.filter(~Exists(recorded)).order_by(due_field, "pk")


def _assigned_count(queryset: QuerySet) -> Coalesce:
    # A correlated count per agent: two Count() joins on tickets and conversations would multiply each other.
    counted = (
        queryset.filter(assignee=OuterRef("user_id")).order_by().values("assignee").annotate(n=Count("pk")).values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def agent_least_loaded_for_ticket(*, team: Team | None, exclude_user_id: int | None) -> AbstractBaseUser | None:
    """The online agent of ``team`` (any team's when None) with the fewest open tickets plus live conversations,
    other than ``exclude_user_id``, who still has room under their live-conversation capacity; the longest
    online first among equals. None when nobody qualifies."""
    profiles = (
        agent_profiles_online(team=team)
        .exclude(user_id=exclude_user_id)
        .select_related("user")
        .annotate(
            live=_assigned_count(Conversation.objects.filter(state__in=Conversation.WITH_AGENT_STATES)),
            open_tickets=_assigned_count(
                Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES, merged_into__isnull=True)
            ),
        )
        .filter(live__lt=F("capacity"))
        .annotate(load=F("live") + F("open_tickets"))
        .order_by("load", "presence_changed_at", "pk")
    )
    profile: AgentProfile | None = profiles.first()
    return profile.user if profile else None


def ticket_latest_conversation_id(*, ticket: Ticket) -> int | None:
    return (
        Conversation.objects.filter(ticket=ticket).order_by("-created_at", "-pk").values_list("pk", flat=True).first()
    )


def ticket_breach_list(*, ticket_id: int) -> QuerySet[SLABreach]:
    return SLABreach.objects.filter(ticket_id=ticket_id).order_by("due_at", "pk")
