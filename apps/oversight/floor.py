"""The floor: what a team lead watches live. Agents and their load, the queue of each team and its longest
wait, and the open conversations at risk (an SLA target about to be missed or missed, predicted satisfaction
low or falling, a negative customer). Read in a fixed handful of queries, whatever the size of the desk, and
returned JSON-safe: the admin page embeds it and the floor socket sends it again after each event.
"""

from collections import defaultdict
from collections.abc import Callable
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
# The at-risk list shows the most urgent this many (its total is counted in full): a lead reads the top of it,
# and every floor socket gets the snapshot up to once a second.
AT_RISK_LIMIT = 100


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
    at_risk, at_risk_total = _at_risk(now, rule, AT_RISK_LIMIT)
    presence = {state: sum(1 for a in agents if a["presence"] == state) for state in AgentProfile.Presence.values}
    waits = [q["longest_wait_seconds"] for q in queues if q["longest_wait_seconds"] is not None]
    return {
        "type": "floor.snapshot",
        "generated_at": now.isoformat(),
        # Agents' conversations are ids; this builds their links (2,500 links cost 200 KB a frame in full).
        "conversation_url": _url_template("admin:conversations_conversation_change"),
        "totals": {
            **presence,
            "waiting": sum(q["waiting"] for q in queues),
            "longest_wait_seconds": max(waits, default=None),
            "with_agents": sum(a["open_conversations"] for a in agents),
            "at_risk": at_risk_total,
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
    live = Conversation.objects.filter(state__in=Conversation.WITH_AGENT_STATES, assignee__isnull=False).order_by("pk")
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
            "conversations": open_chats[profile.user_id],
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


# The columns an at-risk row is built from: read as plain values, not models (5,000 live conversations
# with their customer, team, agent and ticket cost 355 ms as models, 66 ms as values; make bench-floor).
_RISK_COLUMNS = (
    "pk",
    "state",
    "created_at",
    "handoff_requested_at",
    "at_risk",
    "predicted_satisfaction",
    "satisfaction_history",
    "customer__name",
    "team__name",
    "assignee_id",
    "assignee__agent_profile__display_name",
    "assignee__first_name",
    "assignee__last_name",
    "assignee__username",
    "ticket_id",
    "ticket__status",
    "ticket__first_response_due_at",
    "ticket__first_response_at",
    "ticket__resolution_due_at",
    "ticket__resolved_at",
    "last_sentiment",
    "last_escalate",
)
# How urgent each kind of reason is (0 first): the list shows the most urgent conversations first.
BREACHED, DUE_SOON, ESCALATE, LOW_PREDICTION, FALLING, NEGATIVE = range(6)
Reason = tuple[int, str]


def _at_risk(now: datetime, rule: RiskRule, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The ``limit`` most urgent conversations at risk (SLA first, then the longest waiting), and how many
    there are in all."""
    latest_customer = Message.objects.filter(conversation=OuterRef("pk"), role=Message.Role.CUSTOMER).order_by("-seq")
    warn_until = now + rule.sla_warning
    sla_soon = Q(ticket__first_response_at__isnull=True, ticket__first_response_due_at__lte=warn_until) | Q(
        ticket__resolved_at__isnull=True, ticket__resolution_due_at__lte=warn_until
    )
    candidates = (
        Conversation.objects.filter(state__in=Conversation.OPEN_STATES)
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
        .values(*_RISK_COLUMNS)
    )
    url_of = _change_url_maker("admin:conversations_conversation_change")
    risky = [(reasons, row) for row in candidates if (reasons := _risk_reasons(row, now, rule))]
    risky.sort(key=lambda pair: min(pair[0])[0])  # a stable sort: equals stay longest-waiting first
    return [_risk_row(row, reasons, url_of) for reasons, row in risky[:limit]], len(risky)


def _url_template(name: str) -> str:
    """The URL of ``name`` for an object with ``{id}`` in place of its id: one reverse() per snapshot."""
    marker = 987654321
    return reverse(name, args=[marker]).replace(str(marker), "{id}")


def _change_url_maker(name: str) -> Callable[[int], str]:
    template = _url_template(name)
    return lambda pk: template.replace("{id}", str(pk))


def _sla_reasons(row: dict[str, Any], now: datetime, rule: RiskRule) -> list[Reason]:
    if row["ticket_id"] is None or row["ticket__status"] not in Ticket.OPEN_STATUSES:
        return []
    reasons = []
    targets = [("First response", row["ticket__first_response_due_at"], row["ticket__first_response_at"])]
    if row["ticket__status"] != Ticket.Status.PENDING:  # the resolution clock stands still while the customer is asked
        targets.append(("Resolution", row["ticket__resolution_due_at"], row["ticket__resolved_at"]))
    for label, due, met in targets:
        if due is None or met is not None:
            continue
        minutes = round((due - now).total_seconds() / 60)
        if due <= now:
            reasons.append((BREACHED, f"{label} SLA breached {-minutes} min ago"))
        elif due <= now + rule.sla_warning:
            reasons.append((DUE_SOON, f"{label} SLA due in {minutes} min"))
    return reasons


def _risk_reasons(row: dict[str, Any], now: datetime, rule: RiskRule) -> list[Reason]:
    reasons = _sla_reasons(row, now, rule)
    predicted, sentiment = row["predicted_satisfaction"], row["last_sentiment"]
    trend = satisfaction_trend(row["satisfaction_history"] or [])
    if row["at_risk"] and predicted is not None:
        reasons.append((LOW_PREDICTION, f"Predicted satisfaction {predicted:.1f}/5"))
    if trend is not None and trend <= rule.falling_trend:
        reasons.append((FALLING, f"Predicted satisfaction falling ({trend:+.1f})"))
    if row["last_escalate"]:
        reasons.append((ESCALATE, "The sentiment model asks to escalate"))
    elif sentiment is not None and sentiment <= rule.negative_sentiment:
        reasons.append((NEGATIVE, f"Negative sentiment ({sentiment:+.2f})"))
    return reasons


def _risk_row(row: dict[str, Any], reasons: list[Reason], url_of: Callable[[int], str]) -> dict[str, Any]:
    waiting = row["state"] == Conversation.State.WAITING
    return {
        "conversation": row["pk"],
        "url": url_of(row["pk"]),
        "customer": row["customer__name"],
        "state": row["state"],
        "state_label": Conversation.State(row["state"]).label,
        "team": row["team__name"],
        "assignee": _assignee_name(row),
        "ticket": row["ticket_id"],
        "predicted_satisfaction": row["predicted_satisfaction"],
        "waiting_since": (row["handoff_requested_at"] or row["created_at"]).isoformat() if waiting else None,
        "reasons": [text for _, text in reasons],
    }


def _assignee_name(row: dict[str, Any]) -> str | None:
    """events.user_display_name, from the row's columns."""
    if row["assignee_id"] is None:
        return None
    full_name = f"{row['assignee__first_name']} {row['assignee__last_name']}".strip()
    return row["assignee__agent_profile__display_name"] or full_name or row["assignee__username"]
