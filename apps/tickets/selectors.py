from django.db.models import Prefetch, QuerySet

from apps.accounts.models import Team
from apps.tickets.models import SLAPolicy, Ticket, TicketChange


def sla_policy_for(*, priority: str, team: Team | None) -> SLAPolicy | None:
    """The active policy for this priority: the team's own if it has one, else the default for all teams."""
    candidates = SLAPolicy.objects.filter(priority=priority, is_active=True)
    if team is not None:
        own = candidates.filter(team=team).first()
        if own is not None:
            return own
    return candidates.filter(team__isnull=True).first()


def ticket_list() -> QuerySet[Ticket]:
    return Ticket.objects.select_related("customer", "team", "assignee")


def ticket_history(*, ticket: Ticket) -> QuerySet[TicketChange]:
    return ticket.changes.select_related("actor")


def ticket_list_with_history() -> QuerySet[Ticket]:
    """ticket_list() with each ticket's changes and their actors prefetched, oldest change first."""
    return ticket_list().prefetch_related(Prefetch("changes", queryset=TicketChange.objects.select_related("actor")))
