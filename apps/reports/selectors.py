"""The report figures, read from the rollup (ConversationFact) only: GROUP BY queries, never messages.

Definitions (each over the closed conversations that match the filters; a conversation counts in the period
in which it started, in the desk's time zone):

- CSAT: the share of ratings of 4 or 5 among rated conversations; mean rating: their mean (1-5).
- Response rate: the share of handed-over conversations in which an agent wrote at least one reply.
- First response time: handoff → the first agent reply, in seconds (handed-over conversations with a reply);
  resolution time: created → closed. Each as median and 90th percentile (linear interpolation).
- Handoff rate: the share handed over (a handoff was requested or an agent took the conversation);
  bot containment: the share closed without either (the two add up to 1).
- Suggestion acceptance: (used + edited) / all outcomes of the suggested replies in those conversations.
- Review score: the mean, over the reviewed conversations, of each one's review score (the mean of its team
  leads' reviews, 1-5), so a conversation reviewed twice weighs as much as one reviewed once. It is filed under
  the conversation's agent (its assignee), like every other figure.
- SLA breaches: the targets (first response, resolution) the conversations' tickets missed, added up.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, TextChoices, Value, When

from apps.accounts.models import Team
from apps.conversations.models import Conversation
from apps.reports.models import ConversationFact
from apps.reports.percentiles import percentiles_grouped

TIMED_COLUMNS = ("first_response_seconds", "resolution_seconds")
NO_AGENT, NO_TEAM, NO_INTENT = "(no agent)", "(no team)", "(no intent)"


class Dimension(TextChoices):
    AGENT = "agent", "Agent"
    TEAM = "team", "Team"
    INTENT = "intent", "Intent"
    CHANNEL = "channel", "Channel"


class Period(TextChoices):
    DAY = "day", "Day"
    WEEK = "week", "Week"
    MONTH = "month", "Month"


class LeaderboardSort(TextChoices):
    CONVERSATIONS = "conversations", "Conversations"
    CSAT = "csat", "CSAT"
    REVIEW_SCORE = "review_score", "Review score"
    FIRST_RESPONSE = "first_response", "Median first response"
    ACCEPTANCE = "acceptance", "Suggestion acceptance"
    SLA_BREACHES = "sla_breaches", "SLA breaches"
    NAME = "name", "Name"


PERIOD_COLUMNS = {Period.DAY: "created_date", Period.WEEK: "created_week", Period.MONTH: "created_month"}
_USER_NAME_FIELDS = ("agent_profile__display_name", "first_name", "last_name", "username")
_AGENT_NAME_FIELDS = tuple(f"agent__{name}" for name in _USER_NAME_FIELDS)

# The column each breakdown groups by. Names of agents and teams are read afterwards for the groups found:
# grouping 100 k facts by the joined names as well would cost more than those two small queries.
_DIMENSION_FIELDS: dict[str, str] = {
    Dimension.AGENT: "agent_id",
    Dimension.TEAM: "team_id",
    Dimension.INTENT: "intent",
    Dimension.CHANNEL: "channel",
}


@dataclass(frozen=True)
class ReportFilters:
    """What the reports are restricted to; None means "any". Dates are inclusive, in the desk's time zone."""

    date_from: date | None = None
    date_to: date | None = None
    team_id: int | None = None
    agent_id: int | None = None
    intent: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Figures:
    """The report's figures for one group of conversations (all of them, an agent, a team, a week …)."""

    key: Any
    label: str
    conversations: int
    rated: int
    csat: float | None
    mean_rating: float | None
    handed_over: int
    response_rate: float | None
    handoff_rate: float | None
    containment_rate: float | None
    first_response_median: float | None
    first_response_p90: float | None
    resolution_median: float | None
    resolution_p90: float | None
    suggestions: int
    suggestion_acceptance: float | None
    reviewed: int
    review_score: float | None
    sla_breaches: int


@dataclass(frozen=True)
class CalibrationRow:
    """Conversations with both a rating and a prediction: by actual rating (key = the rating) or by predicted
    rating (key = the prediction rounded to the nearest whole rating)."""

    key: int
    conversations: int
    mean_predicted: float | None
    mean_rating: float | None


@dataclass(frozen=True)
class Calibration:
    by_rating: list[CalibrationRow]
    by_prediction: list[CalibrationRow]


@dataclass(frozen=True)
class LowRatingComment:
    conversation_id: int
    closed_at: datetime
    rating: int
    comment: str
    agent: str
    team: str
    intent: str
    channel: str


def facts_filtered(*, filters: ReportFilters) -> QuerySet[ConversationFact]:
    facts = ConversationFact.objects.all()
    if filters.date_from is not None:
        facts = facts.filter(created_date__gte=filters.date_from)
    if filters.date_to is not None:
        facts = facts.filter(created_date__lte=filters.date_to)
    if filters.team_id is not None:
        facts = facts.filter(team_id=filters.team_id)
    if filters.agent_id is not None:
        facts = facts.filter(agent_id=filters.agent_id)
    if filters.intent is not None:
        facts = facts.filter(intent=filters.intent)
    if filters.channel is not None:
        facts = facts.filter(channel=filters.channel)
    return facts


def _aggregates() -> dict[str, Any]:
    """Counts and sums only, so rows grouped finely add up to any coarser grouping."""
    satisfied_from = ConversationFact.SATISFIED_FROM
    return {
        "conversations": Count("pk"),
        "rated": Count("rating"),
        "satisfied": Count("pk", filter=Q(rating__gte=satisfied_from)),
        "rating_sum": Sum("rating"),
        "handed": Count("pk", filter=Q(handed_over=True)),
        "responded": Count("pk", filter=Q(handed_over=True, agent_messages__gt=0)),
        "contained": Count("pk", filter=Q(contained_by_bot=True)),
        "used": Sum("suggestions_used"),
        "edited": Sum("suggestions_edited"),
        "ignored": Sum("suggestions_ignored"),
        "reviewed": Count("review_score"),
        "review_sum": Sum("review_score"),
        "sla_breaches": Sum("sla_breaches"),
    }


_SUMMED = tuple(_aggregates())


def _added(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    totals = dict.fromkeys(_SUMMED, 0)
    for row in rows:
        for name in _SUMMED:
            totals[name] += row[name] or 0
    return totals


def _share(part: float, whole: int) -> float | None:
    return part / whole if whole else None


def _figures(key: Any, label: str, totals: dict[str, Any], timed: dict[str, float | None]) -> Figures:
    accepted = totals["used"] + totals["edited"]
    suggestions = accepted + totals["ignored"]
    return Figures(
        key=key,
        label=label,
        conversations=totals["conversations"],
        rated=totals["rated"],
        csat=_share(totals["satisfied"], totals["rated"]),
        mean_rating=_share(totals["rating_sum"], totals["rated"]),
        handed_over=totals["handed"],
        response_rate=_share(totals["responded"], totals["handed"]),
        handoff_rate=_share(totals["handed"], totals["conversations"]),
        containment_rate=_share(totals["contained"], totals["conversations"]),
        first_response_median=timed.get("first_response_seconds_median"),
        first_response_p90=timed.get("first_response_seconds_p90"),
        resolution_median=timed.get("resolution_seconds_median"),
        resolution_p90=timed.get("resolution_seconds_p90"),
        suggestions=suggestions,
        suggestion_acceptance=_share(accepted, suggestions),
        reviewed=totals["reviewed"],
        review_score=_share(totals["review_sum"], totals["reviewed"]),
        sla_breaches=totals["sla_breaches"],
    )


@dataclass(frozen=True)
class ReportFigures:
    summary: Figures
    periods: list[Figures]
    breakdown: list[Figures]
    agents: list[Figures]


def report_figures(
    *, filters: ReportFilters, period: str | None = None, by: str | None = None, agents: bool = False
) -> ReportFigures:
    """The figures over all matching conversations, and, when asked, per ``period`` (oldest first, empty
    periods between the first and the last filled in), per ``by`` dimension (the busiest first) and per agent
    (``agents``; conversations without one left out).

    Reads the facts three times at most, whatever is asked: counts grouped by the breakdown's dimension unless
    it is the agent, counts grouped by period and agent (the summary, periods and agents add up from these;
    the summary from the breakdown when neither is asked), and every grouping's percentiles in one query;
    then the names of the agents and teams found (a small query each).
    """
    facts = facts_filtered(filters=filters)
    period_field = PERIOD_COLUMNS[Period(period)] if period else None
    per_agent = agents or by == Dimension.AGENT
    fine_fields = [
        *([period_field] if period_field else []),
        *(["agent_id"] if per_agent else []),
    ]
    dimension_fields = (_DIMENSION_FIELDS[by],) if by and by != Dimension.AGENT else ()
    dimension_rows = (
        list(facts.order_by().values(*dimension_fields).annotate(**_aggregates())) if dimension_fields else []
    )
    if fine_fields:
        fine_rows = list(facts.order_by().values(*fine_fields).annotate(**_aggregates()))
    elif dimension_fields:
        fine_rows = dimension_rows  # the summary adds up from the breakdown as well
    else:
        fine_rows = [facts.order_by().aggregate(**_aggregates())]
    groupings = {"all": None, "period": period_field, "agent": "agent_id" if per_agent else None}
    if dimension_fields:
        groupings["dimension"] = dimension_fields[0]
    timed = percentiles_grouped(facts, groupings=groupings, columns=TIMED_COLUMNS)

    by_agent = _grouped_figures(fine_rows, Dimension.AGENT, timed["agent"]) if per_agent else []
    if by == Dimension.AGENT:
        breakdown = by_agent
    elif by:
        breakdown = _grouped_figures(dimension_rows, by, timed["dimension"])
    else:
        breakdown = []
    return ReportFigures(
        summary=_figures(None, "All conversations", _added(fine_rows), timed["all"].get(None, {})),
        periods=_period_figures(fine_rows, period, timed["period"]) if period_field else [],
        breakdown=breakdown,
        agents=[f for f in by_agent if f.key is not None] if agents else [],
    )


def _grouped_figures(rows: list[dict[str, Any]], by: str, timed: dict[Any, dict]) -> list[Figures]:
    key_field = _DIMENSION_FIELDS[by]
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row[key_field], []).append(row)
    labels = _labels(by, groups)
    figures = [_figures(key, labels[key], _added(group), timed.get(key, {})) for key, group in groups.items()]
    return sorted(figures, key=lambda f: (-f.conversations, f.label))


def _labels(by: str, keys: Iterable[Any]) -> dict[Any, str]:
    """What each group is called; a query for agents' and teams' names."""
    keys = list(keys)
    if by == Dimension.AGENT:
        names = _agent_names([key for key in keys if key is not None])
        return {key: names.get(key, str(key)) if key is not None else NO_AGENT for key in keys}
    if by == Dimension.TEAM:
        names = dict(Team.objects.filter(pk__in=[key for key in keys if key is not None]).values_list("pk", "name"))
        return {key: names.get(key, str(key)) if key is not None else NO_TEAM for key in keys}
    if by == Dimension.INTENT:
        return {key: key or NO_INTENT for key in keys}
    return {key: _channel_label(key) for key in keys}


def _agent_names(user_ids: list[int]) -> dict[int, str]:
    rows = get_user_model().objects.filter(pk__in=user_ids).values("pk", *_USER_NAME_FIELDS)
    return {row["pk"]: _user_label(row) for row in rows}


def _period_figures(rows: list[dict[str, Any]], period: str, timed: dict[Any, dict]) -> list[Figures]:
    field = PERIOD_COLUMNS[Period(period)]
    groups: dict[date, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row[field], []).append(row)
    return [
        _figures(start, period_label(start, period), _added(groups.get(start, ())), timed.get(start, {}))
        for start in _period_starts(groups, period)
    ]


def report_summary(*, filters: ReportFilters) -> Figures:
    """Every figure over all matching conversations. Two queries."""
    return report_figures(filters=filters).summary


def report_breakdown(*, filters: ReportFilters, by: str) -> list[Figures]:
    """The figures per agent, team, intent or channel (``by``), the busiest first. Two queries (and one for
    the agents' or teams' names)."""
    return report_figures(filters=filters, by=by).breakdown


def report_periods(*, filters: ReportFilters, period: str) -> list[Figures]:
    """The figures per day, week or month in which conversations started, oldest first, with empty periods
    between the first and the last filled in (so a chart's gaps read as zero). Two queries."""
    return report_figures(filters=filters, period=period).periods


def period_label(start: date, period: str) -> str:
    if period == Period.MONTH:
        return start.strftime("%Y-%m")
    if period == Period.WEEK:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return start.isoformat()


def _period_starts(present: Iterable[date], period: str) -> list[date]:
    starts = sorted(present)
    if not starts:
        return []
    filled, current = [], starts[0]
    while current <= starts[-1]:
        filled.append(current)
        current = _next_period(current, period)
    return filled


def _next_period(start: date, period: str) -> date:
    if period == Period.MONTH:
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=7 if period == Period.WEEK else 1)


def report_leaderboard(
    *, filters: ReportFilters, sort: str = LeaderboardSort.CONVERSATIONS, descending: bool = True
) -> list[Figures]:
    """The agents' figures, sorted by ``sort``. Three queries."""
    agents = report_figures(filters=filters, agents=True).agents
    return leaderboard_sorted(agents, sort=sort, descending=descending)


def leaderboard_sorted(by_agent: list[Figures], *, sort: str, descending: bool) -> list[Figures]:
    """The agents of an agents' breakdown (conversations without one left out) sorted by ``sort``, equal
    values by name; agents without a value for it (nobody rated them, say) come last either way."""
    value_of = {
        LeaderboardSort.CONVERSATIONS: lambda f: f.conversations,
        LeaderboardSort.CSAT: lambda f: f.csat,
        LeaderboardSort.REVIEW_SCORE: lambda f: f.review_score,
        LeaderboardSort.FIRST_RESPONSE: lambda f: f.first_response_median,
        LeaderboardSort.ACCEPTANCE: lambda f: f.suggestion_acceptance,
        LeaderboardSort.SLA_BREACHES: lambda f: f.sla_breaches,
        LeaderboardSort.NAME: lambda f: f.label.casefold(),
    }[LeaderboardSort(sort)]
    agents = sorted((f for f in by_agent if f.key is not None), key=lambda f: f.label.casefold())
    known = [f for f in agents if value_of(f) is not None]
    known.sort(key=value_of, reverse=descending)  # stable: equal values stay in name order
    return known + [f for f in agents if value_of(f) is None]


def report_heatmap(*, filters: ReportFilters) -> list[list[int]]:
    """Conversations started per weekday (rows, Monday first) and hour (columns 0-23). One query."""
    grid = [[0] * 24 for _ in range(7)]
    cells = (
        facts_filtered(filters=filters)
        .order_by()
        .values_list("created_weekday", "created_hour")
        .annotate(count=Count("pk"))
    )
    for weekday, hour, count in cells:
        grid[weekday][hour] = count
    return grid


def _predicted_rating() -> Case:
    """The prediction rounded to the nearest whole rating, halves up, the same on every database."""
    whens = [When(predicted_satisfaction__lt=rating + 0.5, then=Value(rating)) for rating in range(1, 5)]
    return Case(*whens, default=Value(5), output_field=IntegerField())


def report_calibration(*, filters: ReportFilters) -> Calibration:
    """Predicted against actual satisfaction: the mean prediction per actual rating, and the mean actual
    rating per predicted rating, each with its count (rows 1-5, empty ones included). One query: counts per
    (rating, predicted rating) pair, added up both ways."""
    cells = (
        facts_filtered(filters=filters)
        .filter(rating__isnull=False, predicted_satisfaction__isnull=False)
        .order_by()
        .annotate(predicted_rating=_predicted_rating())
        .values_list("rating", "predicted_rating")
        .annotate(conversations=Count("pk"), predicted_sum=Sum("predicted_satisfaction"))
    )
    by_rating = {rating: [0, 0.0, 0.0] for rating in range(1, 6)}
    by_prediction = {rating: [0, 0.0, 0.0] for rating in range(1, 6)}
    for rating, predicted_rating, count, predicted_sum in cells:
        for totals in (by_rating[rating], by_prediction[predicted_rating]):
            totals[0] += count
            totals[1] += predicted_sum
            totals[2] += rating * count
    return Calibration(by_rating=_calibration_rows(by_rating), by_prediction=_calibration_rows(by_prediction))


def _calibration_rows(totals: dict[int, list]) -> list[CalibrationRow]:
    return [
        CalibrationRow(
            key=key,
            conversations=count,
            mean_predicted=predicted_sum / count if count else None,
            mean_rating=rating_sum / count if count else None,
        )
        for key, (count, predicted_sum, rating_sum) in totals.items()
    ]


def report_low_rating_comments(*, filters: ReportFilters, limit: int = 100) -> list[LowRatingComment]:
    """The comments left with ratings of 1 or 2, the most recently closed first, at most ``limit``. One query."""
    rows = (
        facts_filtered(filters=filters)
        .filter(rating__lte=ConversationFact.LOW_RATING_UP_TO)
        .exclude(comment="")
        .order_by("-closed_at", "-pk")
        .values(
            "conversation_id",
            "closed_at",
            "rating",
            "comment",
            "intent",
            "channel",
            "team__name",
            "agent_id",
            *_AGENT_NAME_FIELDS,
        )[:limit]
    )
    return [
        LowRatingComment(
            conversation_id=row["conversation_id"],
            closed_at=row["closed_at"],
            rating=row["rating"],
            comment=row["comment"],
            agent=_agent_label(row),
            team=row["team__name"] or NO_TEAM,
            intent=row["intent"] or NO_INTENT,
            channel=_channel_label(row["channel"]),
        )
        for row in rows
    ]


def _user_label(row: dict[str, Any], prefix: str = "") -> str:
    """Like conversations.events.user_display_name, from a values() row (``prefix``: the user's path)."""
    full_name = f"{row[prefix + 'first_name'] or ''} {row[prefix + 'last_name'] or ''}".strip()
    return row[prefix + "agent_profile__display_name"] or full_name or row[prefix + "username"]


def _agent_label(row: dict[str, Any]) -> str:
    return _user_label(row, prefix="agent__") if row["agent_id"] is not None else NO_AGENT


def _channel_label(channel: str) -> str:
    return str(Conversation.Channel(channel).label) if channel in Conversation.Channel.values else channel
