"""Stores planned conversations with bulk inserts: thousands of messages and a few hundred tickets in seconds.

Tickets are not created through tickets.services: its row locks and full_clean cost about 35 queries per
ticket, 15-30 s for the default seed. ``ticket_audit_rows`` writes the same TicketChange rows those services
would (a test walks a ticket through the services and compares), so the audit trail reads the same.

``created_at`` fields are ``auto_now_add``, so the insert stamps the current time; ``fields_write`` puts
the planned moments back afterwards.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractUser

from apps.conversations.models import Conversation, Message, SatisfactionSurvey
from apps.customers.models import Customer
from apps.tickets.models import SLAPolicy, Ticket, TicketChange
from apps.tickets.selectors import sla_policy_for
from apps.tickets.sla import WorkingWeek, sla_due_times, working_week
from apps.web.demo.backdate import fields_write
from apps.web.demo.dialogues import AUTO_CLOSE_AFTER
from apps.web.demo.plans import PlannedConversation, PlannedTicket

BATCH_SIZE = 500


@dataclass(frozen=True)
class StoredHistory:
    conversations: int
    messages: int
    tickets: int
    surveys: int


def history_store(*, plans: list[PlannedConversation]) -> StoredHistory:
    """Call inside transaction.atomic: a failure half-way must leave no half-seeded conversations."""
    conversations = Conversation.objects.bulk_create([_conversation(plan) for plan in plans], batch_size=BATCH_SIZE)
    tickets = _tickets_insert(plans)
    for conversation, plan in zip(conversations, plans, strict=True):
        conversation.created_at, conversation.updated_at = plan.started_at, plan.last_activity_at
        conversation.ticket = tickets.get(id(plan))
    fields_write(conversations, ["created_at", "updated_at", "ticket"])
    return StoredHistory(
        conversations=len(conversations),
        messages=_messages_insert(plans, conversations),
        tickets=len(tickets),
        surveys=_surveys_insert(plans, conversations),
    )


def _conversation(plan: PlannedConversation) -> Conversation:
    return Conversation(
        customer=plan.customer,
        channel=plan.channel,
        state=plan.state,
        team=plan.team,
        assignee=plan.assignee,
        last_seq=len(plan.messages),
        last_message_at=plan.messages[-1].at,
        handoff_requested_at=plan.handoff_requested_at,
        first_agent_response_at=plan.first_agent_response_at,
        closed_at=plan.closed_at,
    )


def _messages_insert(plans: list[PlannedConversation], conversations: list[Conversation]) -> int:
    messages = []
    for conversation, plan in zip(conversations, plans, strict=True):
        # seq runs 1..n in plan order, and n is the conversation's last_seq.
        for seq, planned in enumerate(plan.messages, start=1):
            message = Message(
                conversation=conversation,
                seq=seq,
                role=planned.role,
                text=planned.text,
                author=planned.author,
                intent=planned.intent,
                intent_confidence=planned.intent_confidence,
                escalate=planned.escalate,
                decision=planned.decision,
                decision_reason=planned.decision_reason,
                annotations={"source": "seed_demo"} if planned.intent else {},
            )
            messages.append((message, planned.at))
    Message.objects.bulk_create([message for message, _ in messages], batch_size=BATCH_SIZE)
    for message, at in messages:
        message.created_at = at
    fields_write([message for message, _ in messages], ["created_at"])
    return len(messages)


def _surveys_insert(plans: list[PlannedConversation], conversations: list[Conversation]) -> int:
    surveys = [
        (SatisfactionSurvey(conversation=conversation, rating=plan.survey.rating, comment=plan.survey.comment), plan)
        for conversation, plan in zip(conversations, plans, strict=True)
        if plan.survey is not None
    ]
    SatisfactionSurvey.objects.bulk_create([survey for survey, _ in surveys], batch_size=BATCH_SIZE)
    for survey, plan in surveys:
        survey.created_at = survey.updated_at = plan.survey.at
    fields_write([survey for survey, _ in surveys], ["created_at", "updated_at"])
    return len(surveys)


def _ticket(
    planned: PlannedTicket, *, customer: Customer, policy: SLAPolicy | None, weeks: dict[int, WorkingWeek]
) -> Ticket:
    """The ticket as it stands at the end of its plan, with the SLA ticket_create would have applied."""
    ticket = Ticket(
        customer=customer,
        subject=planned.subject,
        description=planned.description,
        status=planned.status,
        priority=planned.priority,
        team=planned.team,
        assignee=planned.assignee,
        intent=planned.intent,
        sla_policy=policy,
        first_response_at=planned.first_response_at,
        resolved_at=planned.resolved_at,
        closed_at=planned.closed_at,
        # Still waiting on the customer: its resolution clock stopped when it went pending.
        sla_paused_at=planned.pending_at if planned.status == Ticket.Status.PENDING else None,
    )
    if policy is not None:
        ticket.first_response_due_at, ticket.resolution_due_at = sla_due_times(
            policy=policy, start=planned.created_at, week=weeks.get(policy.calendar_id)
        )
    return ticket


def _tickets_insert(plans: list[PlannedConversation]) -> dict[int, Ticket]:
    """Tickets and their audit rows; the tickets keyed by ``id()`` of their conversation's plan."""
    planned = [(plan, plan.ticket) for plan in plans if plan.ticket is not None]
    policies: dict[tuple[str, int], SLAPolicy | None] = {}
    for _, ticket in planned:
        key = (ticket.priority, ticket.team.pk)
        if key not in policies:
            policies[key] = sla_policy_for(priority=ticket.priority, team=ticket.team)
    # Each calendar read once, not twice per ticket.
    weeks = {
        policy.calendar_id: working_week(policy.calendar)
        for policy in policies.values()
        if policy is not None and policy.calendar_id is not None
    }
    tickets = Ticket.objects.bulk_create(
        [
            _ticket(ticket, customer=plan.customer, policy=policies[ticket.priority, ticket.team.pk], weeks=weeks)
            for plan, ticket in planned
        ],
        batch_size=BATCH_SIZE,
    )
    audit = []
    for ticket, (_, planned_ticket) in zip(tickets, planned, strict=True):
        rows = ticket_audit_rows(ticket, planned_ticket)
        ticket.created_at, ticket.updated_at = planned_ticket.created_at, max(at for _, at in rows)
        audit.extend(rows)
    fields_write(tickets, ["created_at", "updated_at"])
    TicketChange.objects.bulk_create([change for change, _ in audit], batch_size=BATCH_SIZE)
    for change, at in audit:
        change.created_at = at
    fields_write([change for change, _ in audit], ["created_at"])
    return {id(plan): ticket for ticket, (plan, _) in zip(tickets, planned, strict=True)}


def _status_steps(planned: PlannedTicket) -> list[tuple[str, datetime, AbstractUser | None, str]]:
    """The status changes after assignment: (status, when, actor, comment)."""
    steps = []
    if planned.pending_at:
        steps.append((Ticket.Status.PENDING, planned.pending_at, planned.assignee, "Waiting for the customer"))
    if planned.resolved_at:
        steps.append((Ticket.Status.RESOLVED, planned.resolved_at, planned.assignee, "Answered in the conversation"))
    if planned.closed_at:
        if planned.closed_at - planned.resolved_at >= AUTO_CLOSE_AFTER:
            steps.append((Ticket.Status.CLOSED, planned.closed_at, None, "Closed 3 days after it was resolved"))
        else:
            steps.append((Ticket.Status.CLOSED, planned.closed_at, planned.assignee, "Closed by the agent"))
    return steps


def ticket_audit_rows(ticket: Ticket, planned: PlannedTicket) -> list[tuple[TicketChange, datetime]]:
    """The TicketChange rows, with their moments, that these service calls write: ticket_create (no assignee),
    ticket_assign (which also opens a new ticket), ticket_record_first_response, then ticket_set_status for
    each later status."""
    rows = [(TicketChange(ticket=ticket, field="created", new_value=Ticket.Status.NEW), planned.created_at)]
    status = Ticket.Status.NEW
    agent = planned.assignee
    if agent is not None:
        assigned = TicketChange(ticket=ticket, field="assignee", new_value=f"{agent} (#{agent.pk})", actor=agent)
        opened = TicketChange(
            ticket=ticket, field="status", old_value=status, new_value=Ticket.Status.OPEN, comment="assigned"
        )
        opened.actor = agent
        rows += [(assigned, planned.assigned_at), (opened, planned.assigned_at)]
        status = Ticket.Status.OPEN
    if planned.first_response_at is not None:
        at = planned.first_response_at
        rows.append((TicketChange(ticket=ticket, field="first_response_at", new_value=at.isoformat(), actor=agent), at))
    for new_status, at, actor, comment in _status_steps(planned):
        change = TicketChange(
            ticket=ticket, field="status", old_value=status, new_value=new_status, actor=actor, comment=comment
        )
        rows.append((change, at))
        status = new_status
    return rows
