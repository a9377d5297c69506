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
    """ticket_list() with each ticket's changes and their actors prefetched, oldest change first, and its SLA
    breaches."""
    changes = Prefetch("changes", queryset=TicketChange.objects.select_related("actor"))
    return ticket_list().prefetch_related(changes, "sla_breaches")


TICKET_EXPORT_HEADERS = (
    "id",
    "subject",
    "customer",
    "customer_email",
    "status",
    "priority",
    "team",
    "assignee",
    "intent",
    "created_at",
    "first_response_due_at",
    "first_response_at",
    "resolution_due_at",
    "resolved_at",
    "closed_at",
    "merged_into",
)


def ticket_export_rows(tickets: list[Ticket]) -> list[list[str]]:
    """One row of text per ticket, in TICKET_EXPORT_HEADERS' order; expects customer, team and assignee loaded."""

    def moment(value) -> str:
        return value.isoformat() if value else ""

    return [
        [
            str(t.pk),
            t.subject,
            t.customer.name,
            t.customer.email,
            t.status,
            t.priority,
            t.team.name if t.team else "",
            t.assignee.get_username() if t.assignee else "",
            t.intent,
            moment(t.created_at),
            moment(t.first_response_due_at),
            moment(t.first_response_at),
            moment(t.resolution_due_at),
            moment(t.resolved_at),
            moment(t.closed_at),
            str(t.merged_into_id or ""),
        ]
        for t in tickets
    ]
