"""Every write to a ticket goes through here and leaves one TicketChange row per changed field."""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Team
from apps.customers.models import Customer
from apps.tickets.models import Priority, Ticket, TicketChange
from apps.tickets.selectors import sla_policy_for
from apps.tickets.sla import CalendarWithoutWorkingTime, sla_due_times, sla_paused_minutes

logger = logging.getLogger(__name__)

# Fields a caller may change with ticket_update; timestamps and SLA follow from them.
EDITABLE_FIELDS = ("subject", "description", "status", "priority", "team", "assignee", "intent")


def _audit_value(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "pk"):
        return f"{value} (#{value.pk})"
    return str(value)


def _moment(value: datetime | None) -> str:
    """A moment as audit text, in UTC like every stored one (a calendar's deadline comes in its own zone)."""
    return value.astimezone(UTC).isoformat() if value else ""


def _apply_sla(ticket: Ticket, *, start: datetime) -> None:
    policy = sla_policy_for(priority=ticket.priority, team=ticket.team)
    ticket.sla_policy = policy
    if policy is None:
        ticket.first_response_due_at = None
        ticket.resolution_due_at = None
        return
    paused = ticket.sla_paused_minutes
    try:
        ticket.first_response_due_at, ticket.resolution_due_at = sla_due_times(
            policy=policy, start=start, paused_minutes=paused
        )
    except CalendarWithoutWorkingTime as exc:
        # Someone emptied the policy's calendar: the customer's ticket is still created (a handoff must not
        # fail on back-office settings), with targets on the wall clock until the calendar is mended.
        logger.error("SLA policy %r: %s Counting ticket #%s's targets around the clock.", policy.name, exc, ticket.pk)
        ticket.first_response_due_at = start + timedelta(minutes=policy.first_response_minutes)
        ticket.resolution_due_at = start + timedelta(minutes=policy.resolution_minutes + paused)


@transaction.atomic
def ticket_create(
    *,
    customer: Customer,
    subject: str,
    description: str = "",
    priority: str = Priority.NORMAL,
    team: Team | None = None,
    assignee: AbstractBaseUser | None = None,
    intent: str = "",
    actor: AbstractBaseUser | None = None,
) -> Ticket:
    now = timezone.now()
    ticket = Ticket(
        customer=customer,
        subject=subject,
        description=description,
        priority=priority,
        team=team,
        assignee=assignee,
        intent=intent,
        status=Ticket.Status.OPEN if assignee else Ticket.Status.NEW,
    )
    _apply_sla(ticket, start=now)
    ticket.full_clean()
    ticket.save()
    TicketChange.objects.create(ticket=ticket, field="created", new_value=ticket.status, actor=actor)
    return ticket


def _status_timestamps(ticket: Ticket, *, old_status: str, now: datetime) -> None:
    done = (Ticket.Status.RESOLVED, Ticket.Status.CLOSED)
    if ticket.status in done and old_status not in done:
        ticket.resolved_at = now
    if ticket.status == Ticket.Status.CLOSED:
        ticket.closed_at = ticket.closed_at or now
    if ticket.status not in done:
        # Reopened: the resolution clock starts again from here.
        ticket.resolved_at = None
        ticket.closed_at = None


def _sla_clock(ticket: Ticket, *, old_status: str, now: datetime) -> int | None:
    """Stop the resolution clock when the ticket starts waiting on the customer (pending) and start it again
    when it stops; returns the minutes it stood still when it restarts, else None."""
    pending = Ticket.Status.PENDING
    if ticket.status == pending and old_status != pending:
        ticket.sla_paused_at = now
        return None
    if old_status != pending or ticket.status == pending or ticket.sla_paused_at is None:
        return None
    stood = sla_paused_minutes(policy=ticket.sla_policy, start=ticket.sla_paused_at, end=now)
    ticket.sla_paused_minutes += stood
    ticket.sla_paused_at = None
    return stood


@transaction.atomic
def ticket_update(
    *, ticket: Ticket, actor: AbstractBaseUser | None, comment: str = "", **changes: Any
) -> list[TicketChange]:
    """Apply ``changes`` (fields of EDITABLE_FIELDS) and audit each one that really changed.

    Locks the ticket row so two agents editing at once each see the other's change in the audit.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable through ticket_update: {sorted(unknown)}")
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    now = timezone.now()
    old_status = locked.status
    audit = []
    for field, new in changes.items():
        old = getattr(locked, field)
        if old == new:
            continue
        setattr(locked, field, new)
        audit.append(
            TicketChange(
                ticket=locked,
                field=field,
                old_value=_audit_value(old),
                new_value=_audit_value(new),
                actor=actor,
                comment=comment,
            )
        )
    if not audit:
        return []
    resumed_after = None
    if "status" in changes:
        _status_timestamps(locked, old_status=old_status, now=now)
        resumed_after = _sla_clock(locked, old_status=old_status, now=now)
    old_due = locked.resolution_due_at
    if resumed_after is not None or {"priority", "team"} & {change.field for change in audit}:
        _apply_sla(locked, start=locked.created_at)
    if resumed_after and locked.resolution_due_at != old_due:
        audit.append(
            TicketChange(
                ticket=locked,
                field="resolution_due_at",
                old_value=_moment(old_due),
                new_value=_moment(locked.resolution_due_at),
                actor=actor,
                comment=f"SLA clock resumed after {resumed_after} min waiting on the customer",
            )
        )
    if locked.status == Ticket.Status.NEW and locked.assignee_id is not None:
        locked.status = Ticket.Status.OPEN
        audit.append(
            TicketChange(
                ticket=locked,
                field="status",
                old_value=Ticket.Status.NEW,
                new_value=Ticket.Status.OPEN,
                actor=actor,
                comment="assigned",
            )
        )
    locked.full_clean()
    locked.save()
    TicketChange.objects.bulk_create(audit)
    ticket.refresh_from_db()
    return audit


def ticket_assign(*, ticket: Ticket, agent: AbstractBaseUser | None, actor: AbstractBaseUser | None) -> Ticket:
    ticket_update(ticket=ticket, actor=actor, assignee=agent)
    return ticket


def ticket_set_status(*, ticket: Ticket, status: str, actor: AbstractBaseUser | None, comment: str = "") -> Ticket:
    ticket_update(ticket=ticket, actor=actor, comment=comment, status=status)
    return ticket


@transaction.atomic
def ticket_record_first_response(*, ticket: Ticket, at: datetime, actor: AbstractBaseUser | None) -> None:
    """Stamp the first agent response once; later responses leave it alone."""
    updated = Ticket.objects.filter(pk=ticket.pk, first_response_at__isnull=True).update(first_response_at=at)
    if updated:
        TicketChange.objects.create(ticket=ticket, field="first_response_at", new_value=at.isoformat(), actor=actor)
        ticket.first_response_at = at
