"""What a team lead does to many tickets at once: reassign, merge duplicates, close stale pending ones, export.

Each ticket touched gets its TicketChange rows (through tickets.services) and an AuditEvent naming the lead,
in the same transaction as the change.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.audit import Action, audit_record
from apps.accounts.models import Team
from apps.tickets.models import Ticket, TicketChange
from apps.tickets.services import ticket_update


def _locked(tickets: Iterable[Ticket]) -> list[Ticket]:
    """The tickets' rows, locked in primary-key order so two leads acting on overlapping selections cannot
    deadlock."""
    ids = sorted({ticket.pk for ticket in tickets})
    return list(Ticket.objects.select_for_update().filter(pk__in=ids).order_by("pk"))


@transaction.atomic
def tickets_reassign(
    *, tickets: Iterable[Ticket], agent: AbstractBaseUser | None, team: Team | None, actor: AbstractBaseUser
) -> list[Ticket]:
    """Give every ticket to ``agent`` (None: unassign) and, when ``team`` is given, move it to that team.
    Returns the tickets that changed."""
    changes: dict = {"assignee": agent}
    if team is not None:
        changes["team"] = team
    changed = []
    for ticket in _locked(tickets):
        audit = ticket_update(ticket=ticket, actor=actor, comment="bulk reassign", **changes)
        if audit:
            changed.append(ticket)
            detail = {change.field: [change.old_value, change.new_value] for change in audit}
            audit_record(action=Action.TICKET_REASSIGN, actor=actor, target=ticket, detail=detail)
    return changed


@dataclass(frozen=True)
class MergeResult:
    survivor: Ticket
    merged: list[Ticket]
    conversations_moved: int


@transaction.atomic
def ticket_merge(*, survivor: Ticket, duplicates: Iterable[Ticket], actor: AbstractBaseUser) -> MergeResult:
    """Merge ``duplicates`` into ``survivor``: their conversations (and so every message) move to the survivor,
    each duplicate is closed with ``merged_into`` pointing at it and keeps its own history, and both sides get a
    TicketChange saying so. All must be of the same customer and none already merged."""
    rows = {ticket.pk: ticket for ticket in _locked([survivor, *duplicates])}
    target = rows.pop(survivor.pk)
    if not rows:
        raise ValidationError("Choose at least one other ticket to merge into the survivor.")
    _check_mergeable(target, list(rows.values()))
    moved, now = 0, timezone.now()
    for duplicate in rows.values():
        # updated_at too: the reports' beat job then refreshes their facts (the survivor's SLA breaches).
        moved += duplicate.conversations.update(ticket=target, updated_at=now)
        if duplicate.is_open:
            ticket_update(ticket=duplicate, actor=actor, comment=f"merged into #{target.pk}", status="closed")
        Ticket.objects.filter(pk=duplicate.pk).update(merged_into=target, updated_at=now)
        duplicate.refresh_from_db()
        TicketChange.objects.bulk_create(
            [
                TicketChange(ticket=duplicate, field="merged_into", new_value=f"#{target.pk}", actor=actor),
                TicketChange(ticket=target, field="merged", new_value=f"#{duplicate.pk}", actor=actor),
            ]
        )
        audit_record(action=Action.TICKET_MERGE, actor=actor, target=duplicate, detail={"into": target.pk})
    audit_record(
        action=Action.TICKET_MERGE,
        actor=actor,
        target=target,
        detail={"merged": sorted(rows), "conversations_moved": moved},
    )
    return MergeResult(survivor=target, merged=list(rows.values()), conversations_moved=moved)


def _check_mergeable(survivor: Ticket, duplicates: list[Ticket]) -> None:
    problems = []
    for ticket in [survivor, *duplicates]:
        if ticket.merged_into_id is not None:
            problems.append(f"#{ticket.pk} is already merged into #{ticket.merged_into_id}.")
    others = sorted(ticket.pk for ticket in duplicates if ticket.customer_id != survivor.customer_id)
    if others:
        listed = ", ".join(f"#{pk}" for pk in others)
        problems.append(f"{listed} belong(s) to another customer than #{survivor.pk}; only duplicates merge.")
    if problems:
        raise ValidationError(problems)


def tickets_stale_pending(*, tickets: Iterable[Ticket], days: int, now: datetime | None = None) -> list[Ticket]:
    """Those of ``tickets`` waiting on the customer (pending) with no change for ``days`` days or more."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return [t for t in tickets if t.status == Ticket.Status.PENDING and t.updated_at <= cutoff]


@transaction.atomic
def tickets_close_stale_pending(
    *, tickets: Iterable[Ticket], days: int, actor: AbstractBaseUser, now: datetime | None = None
) -> list[Ticket]:
    """Close the pending tickets among ``tickets`` untouched for ``days`` days; returns those closed."""
    stale = tickets_stale_pending(tickets=_locked(tickets), days=days, now=now)
    for ticket in stale:
        ticket_update(
            ticket=ticket, actor=actor, comment=f"closed: pending with no reply for {days} days", status="closed"
        )
        audit_record(action=Action.TICKET_STALE_CLOSE, actor=actor, target=ticket, detail={"days": days})
    return stale
