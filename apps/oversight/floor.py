"""The floor: what a team lead watches live. Agents and their load, the queue of each team and its longest
wait, and the open conversations at risk (an SLA target about to be missed or missed, predicted satisfaction
low or falling, a negative customer). Read in a fixed handful of queries, whatever the size of the desk, and
returned JSON-safe: the admin page embeds it and the floor socket sends it again after each event.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import AgentProfile, Team
from apps.conversations.events import satisfaction_trend, user_display_name
from apps.conversations.models import Conversation, Message
from apps.tickets.models import Ticket

# A customer message the sentiment model scores at or below this reads as angry or upset (-1 … 1).
NEGATIVE_SENTIMENT = -0.5
# Predicted satisfaction that dropped by a point or more over the last few messages is falling.
FALLING_TREND = -1.0
LIVE_STATES = (Conversation.State.BOT, Conversation.State.WAITING, Conversation.State.AGENT)
WITH_AGENT_STATES = (Conversation.State.WAITING, Conversation.State.AGENT)


@dataclass(frozen=True)
class RiskRule:
    sla_warning: timedelta
    negative_sentiment: float = NEGATIVE_SENTIMENT
    falling_trend: float = FALLING_TREND


def floor_snapshot(*, now: datetime | None = None) -> dict[str, Any]:
    """Everything the floor page shows, as of ``now``. Eight queries."""
    now = now or timezone.now()
    rule = RiskRule(sla_warning=timedelta(minutes=settings.HELPDESK_FLOOR_SLA_WARNING_MINUTES))
    agents = _agents()
    queues = _queues(now)
    at_risk = _at_risk(now, rule)
    presence = {state: sum(1 for a in agents if a["presence"] == state) for state in AgentProfile.Presence.values}
    waits = [q["longest_wait_seconds"] for q in queues if q["longest_wait_seconds"] is not None]
    return {
        "type": "floor.snapshot",
        "generated_at": now.isoformat(),
        "totals": {
            **presence,
            "waiting": sum(q["waiting"] for q in queues),
            "longest_wait_seconds": max(waits, default=None),
            "with_agents": sum(a["open_conversations"] for a in agents),
            "at_risk": len(at_risk),
        },
        "agents": agents,
        "queues": queues,
        "at_risk": at_risk,
    }


def _agents() -> list[dict[str, Any]]:
    profiles = (
        AgentProfile.objects.filter(user__is_active=True)
        .select_related("user")
        .prefetch_related("teams")
        .order_by("user__username")
    )
    open_chats: dict[int, list[int]] = defaultdict(list)
    live = Conversation.objects.filter(state__in=WITH_AGENT_STATES, assignee__isnull=False).order_by("pk")
    for assignee_id, conversation_id in live.values_list("assignee", "pk"):
        open_chats[assignee_id].append(conversation_id)
    open_tickets = dict(
        Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES, assignee__isnull=False)
        .values("assignee")
        .annotate(n=Count("pk"))
        .values_list("assignee", "n")
    )
    order = {state: rank for rank, state in enumerate(AgentProfile.Presence.values)}
    rows = [
        {
            "id": profile.user_id,
            "name": user_display_name(profile.user),
            "presence": profile.presence,
            "presence_since": profile.presence_changed_at.isoformat() if profile.presence_changed_at else None,
            "teams": [team.name for team in profile.teams.all()],
            "open_conversations": len(open_chats[profile.user_id]),
            "conversations": [
                {"id": pk, "url": reverse("admin:conversations_conversation_change", args=[pk])}
                for pk in open_chats[profile.user_id]
            ],
            "capacity": profile.capacity,
            "open_tickets": open_tickets.get(profile.user_id, 0),
        }
        for profile in profiles
    ]
    # Online first, then away, then offline; the busiest first within each.
    return sorted(rows, key=lambda row: (order[row["presence"]], -row["open_conversations"], row["name"].casefold()))


def _queues(now: datetime) -> list[dict[str, Any]]:
    """One row per team (and one for conversations not routed to a team yet, if any wait there)."""
    waiting = (
        Conversation.objects.filter(state=Conversation.State.WAITING)
        .values("team")
        .annotate(n=Count("pk"), since=Min(Coalesce("handoff_requested_at", "created_at")))
    )
    by_team = {row["team"]: row for row in waiting}
    online = dict(
        AgentProfile.teams.through.objects.filter(
            agentprofile__presence=AgentProfile.Presence.ONLINE, agentprofile__user__is_active=True
        )
        .values("team")
        .annotate(n=Count("agentprofile"))
        .values_list("team", "n")
    )
    teams = [(team.pk, team.name) for team in Team.objects.order_by("name")]
    if None in by_team:
        teams.append((None, "(no team)"))
    return [_queue_row(team_id, name, by_team.get(team_id), online.get(team_id, 0), now) for team_id, name in teams]


def _queue_row(team_id: int | None, name: str, waiting: dict | None, online: int, now: datetime) -> dict[str, Any]:
    since = waiting["since"] if waiting else None
    return {
        "team": {"id": team_id, "name": name},
        "waiting": waiting["n"] if waiting else 0,
        "longest_waiting_since": since.isoformat() if since else None,
        "longest_wait_seconds": round((now - since).total_seconds()) if since else None,
        "agents_online": online,
    }


def _at_risk(now: datetime, rule: RiskRule) -> list[dict[str, Any]]:
    latest_customer = Message.objects.filter(conversation=OuterRef("pk"), role=Message.Role.CUSTOMER).order_by("-seq")
    warn_until = now + rule.sla_warning
    sla_soon = Q(ticket__first_response_at__isnull=True, ticket__first_response_due_at__lte=warn_until) | Q(
        ticket__resolved_at__isnull=True, ticket__resolution_due_at__lte=warn_until
    )
    candidates = (
        Conversation.objects.filter(state__in=LIVE_STATES)
        .select_related("customer", "team", "assignee__agent_profile", "ticket")
        .annotate(
            last_sentiment=Subquery(latest_customer.values("sentiment")[:1]),
            last_escalate=Subquery(latest_customer.values("escalate")[:1]),
        )
        .filter(
            sla_soon
            | Q(at_risk=True)
            | Q(last_sentiment__lte=rule.negative_sentiment)
            | Q(last_escalate=True)
            | Q(predicted_satisfaction__isnull=False)  # the trend is read from the history below
        )
        .order_by(F("handoff_requested_at").asc(nulls_last=True), "pk")
    )
    rows = []
    for conversation in candidates:
        reasons = _risk_reasons(conversation, now, rule)
        if reasons:
            rows.append(_risk_row(conversation, reasons))
    return rows


def _sla_reasons(ticket: Ticket | None, now: datetime, rule: RiskRule) -> list[str]:
    if ticket is None or not ticket.is_open:
        return []
    reasons = []
    targets = [("First response", ticket.first_response_due_at, ticket.first_response_at)]
    if ticket.status != Ticket.Status.PENDING:  # the resolution clock stands still while the customer is asked
        targets.append(("Resolution", ticket.resolution_due_at, ticket.resolved_at))
    for label, due, met in targets:
        if due is None or met is not None:
            continue
        minutes = round((due - now).total_seconds() / 60)
        if due <= now:
            reasons.append(f"{label} SLA breached {-minutes} min ago")
        elif due <= now + rule.sla_warning:
            reasons.append(f"{label} SLA due in {minutes} min")
    return reasons


def _risk_reasons(conversation: Conversation, now: datetime, rule: RiskRule) -> list[str]:
    reasons = _sla_reasons(conversation.ticket, now, rule)
    trend = satisfaction_trend(conversation.satisfaction_history or [])
    if conversation.at_risk and conversation.predicted_satisfaction is not None:
        reasons.append(f"Predicted satisfaction {conversation.predicted_satisfaction:.1f}/5")
    if trend is not None and trend <= rule.falling_trend:
        reasons.append(f"Predicted satisfaction falling ({trend:+.1f})")
    if conversation.last_escalate:
        reasons.append("The sentiment model asks to escalate")
    elif conversation.last_sentiment is not None and conversation.last_sentiment <= rule.negative_sentiment:
        reasons.append(f"Negative sentiment ({conversation.last_sentiment:+.2f})")
    return reasons


def _risk_row(conversation: Conversation, reasons: list[str]) -> dict[str, Any]:
    ticket = conversation.ticket
    return {
        "conversation": conversation.pk,
        "url": reverse("admin:conversations_conversation_change", args=[conversation.pk]),
        "customer": conversation.customer.name,
        "state": conversation.state,
        "state_label": conversation.get_state_display(),
        "team": conversation.team.name if conversation.team else None,
        "assignee": user_display_name(conversation.assignee) if conversation.assignee_id else None,
        "ticket": ticket.pk if ticket else None,
        "predicted_satisfaction": conversation.predicted_satisfaction,
        "waiting_since": (conversation.handoff_requested_at or conversation.created_at).isoformat()
        if conversation.state == Conversation.State.WAITING
        else None,
        "reasons": reasons,
    }
