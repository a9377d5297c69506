"""The SLA breach job: a ticket past a target is recorded once per kind of target and escalated once; the
inbox and the people concerned are told after the commit."""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from apps.accounts.audit import Action, audit_record
from apps.accounts.permissions import user_list_with_role
from apps.accounts.roles import MANAGERS
from apps.conversations.events import INBOX_GROUP, send_on_commit
from apps.tickets.models import Priority, SLABreach, Ticket
from apps.tickets.services import ticket_update
from apps.tickets.sla import CalendarWithoutWorkingTime
from apps.tickets.sla_selectors import (
    BREACH_CLOCKS,
    agent_least_loaded_for_ticket,
    ticket_latest_conversation_id,
    ticket_list_overdue,
)

# One step up per breach; urgent stays urgent.
PRIORITY_LADDER = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)
# Per kind and run: a backlog (a first deployment over old tickets) drains over a few minutes of beat runs
# instead of one run that outlasts the next.
BATCH_SIZE = 200

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Escalation:
    priority: tuple[str, str] | None
    assignee: tuple[int | None, int] | None
    recipients: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "priority": list(self.priority) if self.priority else None,
            "assignee": list(self.assignee) if self.assignee else None,
            "notified": len(self.recipients),
        }


def sla_breaches_escalate(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Record and escalate the breaches due by ``now``; returns how many were escalated. Safe to run twice
    and side by side: each ticket is handled under its row lock (one another run holds is skipped, for that
    run to finish) and a breach is inserted at most once per ticket and kind."""
    now = now or timezone.now()
    escalated = 0
    for kind in SLABreach.Kind.values:
        ticket_ids = list(ticket_list_overdue(kind=kind, now=now).values_list("pk", flat=True)[:batch_size])
        for ticket_id in ticket_ids:
            try:
                escalated += sla_breach_escalate(ticket_id=ticket_id, kind=kind, now=now)
            except (ValidationError, CalendarWithoutWorkingTime):
                # One ticket the services refuse to change (or whose new policy's calendar has no hours) must
                # not hold up every breach due after it; it is tried again next run.
                logger.exception("SLA breach of ticket %s (%s) not escalated", ticket_id, kind)
    return escalated


@transaction.atomic
def sla_breach_escalate(*, ticket_id: int, kind: str, now: datetime) -> bool:
    """Record the ``kind`` breach of one ticket and escalate it, all in one transaction; False when the ticket
    is no longer overdue, is locked by another run, or has that breach already."""
    ticket = (
        ticket_list_overdue(kind=kind, now=now)
        .select_related("sla_policy", "sla_policy__escalation_team", "team")
        .select_for_update(skip_locked=True, of=("self",))
        .filter(pk=ticket_id)
        .first()
    )
    # Checked again under the lock, in a statement of its own: a run that committed the breach after this
    # one's query began is visible now. The unique constraint stays the last word.
    if ticket is None or SLABreach.objects.filter(ticket=ticket, kind=kind).exists():
        return False
    try:
        with transaction.atomic():
            breach = SLABreach.objects.create(ticket=ticket, kind=kind, due_at=getattr(ticket, BREACH_CLOCKS[kind][0]))
    except IntegrityError:
        return False
    escalation = _escalate(ticket, breach=breach)
    breach.escalation = escalation.as_json()
    breach.escalated_at = timezone.now()
    breach.save(update_fields=["escalation", "escalated_at"])
    audit_record(
        action=Action.SLA_ESCALATION,
        actor=None,
        target=ticket,
        detail={"breach": breach.pk, "kind": kind, "due_at": breach.due_at.isoformat(), **breach.escalation},
    )
    _notify_on_commit(ticket, breach=breach, recipients=escalation.recipients)
    return True


def _escalate(ticket: Ticket, *, breach: SLABreach) -> Escalation:
    """Priority one step up and, when someone else of the escalation team is online, a new assignee."""
    policy = ticket.sla_policy
    team = policy.escalation_team if policy is not None and policy.escalation_team_id else ticket.team
    agent = agent_least_loaded_for_ticket(team=team, exclude_user_id=ticket.assignee_id)
    old_priority, old_assignee_id = ticket.priority, ticket.assignee_id
    new_priority = PRIORITY_LADDER[min(PRIORITY_LADDER.index(old_priority) + 1, len(PRIORITY_LADDER) - 1)]
    changes: dict[str, Any] = {"priority": new_priority}
    if agent is not None:
        changes["assignee"] = agent
    ticket_update(ticket=ticket, actor=None, comment=f"SLA breach: {_overdue(breach)}", **changes)
    return Escalation(
        priority=(old_priority, new_priority) if new_priority != old_priority else None,
        assignee=(old_assignee_id, agent.pk) if agent is not None else None,
        recipients=_recipients(assignee=ticket.assignee),
    )


def _overdue(breach: SLABreach) -> str:
    return f"{breach.get_kind_display().lower()} overdue"


def _recipients(*, assignee: AbstractBaseUser | None) -> tuple[str, ...]:
    """The assignee and the active managers, those with an address, each once."""
    emails = [assignee.email] if assignee is not None and assignee.is_active else []
    emails += user_list_with_role(MANAGERS).exclude(email="").values_list("email", flat=True)
    return tuple(dict.fromkeys(email for email in emails if email))


def _notify_on_commit(ticket: Ticket, *, breach: SLABreach, recipients: tuple[str, ...]) -> None:
    payload = {
        "id": breach.pk,
        "ticket": ticket.pk,
        "kind": breach.kind,
        "due_at": breach.due_at.isoformat(),
        "conversation": ticket_latest_conversation_id(ticket=ticket),
        "team": ticket.team_id,
        "assignee": ticket.assignee_id,
        "subject": ticket.subject,
    }
    send_on_commit(INBOX_GROUP, {"type": "chat.sla_breach", "breach": payload})
    if not recipients:
        return
    subject = f"SLA breach on ticket #{ticket.pk}: {_overdue(breach)}"
    message = _mail_text(ticket, breach=breach)
    # robust: a mail server that refuses must not fail the job after the breach has committed.
    transaction.on_commit(
        lambda: send_mail(
            subject=subject,
            message=message,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=list(recipients),
        ),
        robust=True,
    )


def _mail_text(ticket: Ticket, *, breach: SLABreach) -> str:
    done = breach.escalation
    lines = [
        f"Ticket #{ticket.pk} “{ticket.subject}” missed its {breach.get_kind_display().lower()} target,",
        f"due at {timezone.localtime(breach.due_at):%Y-%m-%d %H:%M %Z}.",
        "",
        f"Priority: {ticket.get_priority_display()}"
        + (" (raised)" if done.get("priority") else " (already the highest)"),
        f"Assignee: {ticket.assignee.get_username() if ticket.assignee else 'nobody'}"
        + (" (reassigned)" if done.get("assignee") else ""),
        f"Team: {ticket.team or 'none'}",
        "",
        settings.HELPDESK_PUBLIC_URL.rstrip("/") + reverse("admin:tickets_ticket_change", args=[ticket.pk]),
    ]
    return "\n".join(lines) + "\n"
