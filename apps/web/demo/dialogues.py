"""Plans of the desk's conversations, in memory: who said what and when, the ticket and the survey.

Nothing here touches the database (history.py stores the plans), so the shape of a conversation reads top to
bottom: the customer asks with a real BANKING77 utterance, the bot answers from the article for the intent
or hands over, an agent replies with the answer for the intent, and the customer may rate it.
"""

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from django.contrib.auth.models import AbstractUser
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Team
from apps.conversations.models import Conversation, Message
from apps.customers.models import Customer
from apps.tickets.models import Priority, Ticket
from apps.web.demo import phrases
from apps.web.demo.catalogue import ArticleSpec, IntentProfile, UtteranceBank
from apps.web.demo.plans import PlannedConversation, PlannedMessage, PlannedSurvey, PlannedTicket

HISTORY_DAYS = 90
# Chats per hour of the day (local time): quiet at night, busy at lunch and in the evening.
HOUR_WEIGHTS = (6, 4, 3, 2, 2, 3, 6, 12, 20, 26, 28, 28, 30, 28, 26, 25, 24, 25, 28, 30, 29, 24, 18, 11)
AGENT_HOURS = range(8, 22)
EMAIL_SHARE = 0.08
CLARIFY_SHARE = 0.12
LIVE_SHARE = 0.03
AUTO_CLOSE_AFTER = timedelta(days=3)
LONG_WAIT = timedelta(minutes=20)
NO_DELAY = timedelta(0)
# The newest conversations are still going on; they take these states in turn.
LIVE_KINDS = ("waiting", "agent_open", "agent_pending", "bot", "waiting", "agent_open", "bot", "agent_pending")
# How many minutes ago each kind of live conversation started; an email can wait in the queue for hours.
LIVE_STARTED = {"bot": (2, 14), "waiting": (4, 35), "agent_open": (15, 100), "agent_pending": (40, 240)}
LIVE_EMAIL_STARTED = (60, 300)

ANSWER, CLARIFY, HANDOFF_AFTER_BOT, DIRECT_HANDOFF, EMAIL = "answer", "clarify", "asked_person", "direct", "email"
AGENT_FLOWS = (HANDOFF_AFTER_BOT, DIRECT_HANDOFF, EMAIL)
SURVEY_SHARE = {ANSWER: 0.42, CLARIFY: 0.5, HANDOFF_AFTER_BOT: 0.58, DIRECT_HANDOFF: 0.58, EMAIL: 0.4}
# Weights of ratings 1..5 by how the conversation went.
RATING_WEIGHTS = {"smooth": (2, 3, 8, 27, 60), "bot_missed": (6, 10, 20, 34, 30), "long_wait": (28, 27, 22, 14, 9)}
# Median minutes until an agent picks up an email, by priority (within the SLA more often than not).
EMAIL_PICKUP_MINUTES = {Priority.URGENT: 8, Priority.HIGH: 15, Priority.NORMAL: 45, Priority.LOW: 150}
PRIORITY_UP = {Priority.LOW: Priority.NORMAL, Priority.NORMAL: Priority.HIGH}


@dataclass(frozen=True)
class Cast:
    """Everyone and everything a conversation can draw on."""

    customers: list[Customer]
    utterances: UtteranceBank
    profiles: dict[str, IntentProfile]
    articles: dict[str, ArticleSpec]
    teams: dict[str, Team]
    agents_by_team: dict[str, list[AbstractUser]]
    agents_on_shift: dict[str, list[AbstractUser]]  # who takes the live conversations
    demo_agent: AbstractUser


@dataclass
class _Brief:
    """What a conversation is about before it is scripted."""

    start: datetime
    customer: Customer
    utterance: str
    intent: str
    flow: str


class _Script:
    """Messages in order on a moving clock."""

    def __init__(self, start: datetime):
        self.clock = start
        self.messages: list[PlannedMessage] = []

    def add(self, role: str, text: str, *, after: timedelta = NO_DELAY, **annotations) -> PlannedMessage:
        self.clock += after
        message = PlannedMessage(role=role, text=text, at=self.clock, **annotations)
        self.messages.append(message)
        return message


def _seconds(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(seconds=rng.uniform(low, high))


def _minutes(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(minutes=rng.uniform(low, high))


def _customer_first_name(customer: Customer) -> str:
    return customer.name.split(" ")[0] if customer.name else "there"


def _subject(utterance: str) -> str:
    line = " ".join(utterance.split())
    if len(line) <= 80:
        return line
    return line[:80].rsplit(" ", 1)[0] + "…"


def _next_agent_moment(rng: random.Random, at: datetime) -> datetime:
    """``at`` if agents are working then, else a little after they start the next morning."""
    local = timezone.localtime(at)
    if local.hour in AGENT_HOURS:
        return at
    morning = local.replace(hour=AGENT_HOURS.start, minute=0, second=0, microsecond=0)
    if local.hour >= AGENT_HOURS.stop:
        morning += timedelta(days=1)
    return morning + _minutes(rng, 3, 40)


def _agent_wait(rng: random.Random, *, at: datetime, channel: str, priority: str) -> datetime:
    """When an agent first picks up a conversation handed over at ``at``."""
    if channel == Conversation.Channel.EMAIL:
        minutes = rng.lognormvariate(math.log(EMAIL_PICKUP_MINUTES[priority]), 0.8)
        return _next_agent_moment(rng, at + timedelta(minutes=minutes))
    minutes = min(rng.lognormvariate(1.4, 0.9), 90)  # median about 4 minutes, a long tail
    if priority == Priority.URGENT:
        minutes *= 0.4
    return _next_agent_moment(rng, at + timedelta(minutes=max(minutes, 0.5)))


def _past_start_times(rng: random.Random, count: int, now: datetime) -> list[datetime]:
    """``count`` moments over the last HISTORY_DAYS, weighted to office hours, weekdays and recent weeks."""
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    days = list(range(HISTORY_DAYS))
    day_weights = [
        (1 + 0.4 * (1 - d / HISTORY_DAYS)) * (0.75 if (today - timedelta(d)).weekday() >= 5 else 1) for d in days
    ]
    starts = []
    for day in rng.choices(days, weights=day_weights, k=count):
        hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        start = today - timedelta(days=day) + timedelta(hours=hour, seconds=rng.randrange(3600))
        starts.append(min(start, now - _minutes(rng, 180, 600)))
    return sorted(starts)


def _briefs(rng: random.Random, cast: Cast, starts: list[datetime]) -> list[_Brief]:
    weights = [rng.paretovariate(1.5) for _ in cast.customers]  # a few customers write often
    briefs = []
    for start in starts:
        utterance, intent = rng.choice(cast.utterances.rows)
        briefs.append(
            _Brief(
                start=start,
                customer=rng.choices(cast.customers, weights=weights)[0],
                utterance=utterance,
                intent=intent,
                flow=_flow(rng, cast.profiles[intent]),
            )
        )
    # Even a small seed needs handed-over conversations old enough to be closed and recent enough to be resolved.
    if briefs and sum(brief.flow in AGENT_FLOWS for brief in briefs) < 2:
        briefs[0].flow = briefs[-1].flow = HANDOFF_AFTER_BOT
    return briefs


def _flow(rng: random.Random, profile: IntentProfile) -> str:
    if rng.random() < EMAIL_SHARE:
        return EMAIL
    if rng.random() < profile.handoff_rate:
        return DIRECT_HANDOFF if profile.priority == Priority.URGENT or rng.random() < 0.4 else HANDOFF_AFTER_BOT
    return CLARIFY if rng.random() < CLARIFY_SHARE else ANSWER


def _customer_asks(
    script: _Script,
    rng: random.Random,
    brief: _Brief,
    *,
    text: str,
    confidence: tuple[float, float],
    after: timedelta = NO_DELAY,
) -> None:
    script.add(
        Message.Role.CUSTOMER,
        text,
        after=after,
        intent=brief.intent,
        intent_confidence=round(rng.uniform(*confidence), 3),
    )


@cache
def _article_path(slug: str) -> str:
    return reverse("web:help-article", args=[slug])


def _bot_answers(script: _Script, rng: random.Random, cast: Cast, brief: _Brief) -> None:
    article = cast.articles[brief.intent]
    link = f"More in our help centre: {article.title} — {_article_path(article.slug)}"
    text = f"{rng.choice(phrases.BOT_ANSWER_INTROS)}{article.lead}\n\n{link}"
    confidence = script.messages[-1].intent_confidence
    script.add(
        Message.Role.BOT,
        text,
        after=_seconds(rng, 2, 6),
        decision=Message.Decision.ANSWER,
        decision_reason=f"intent {brief.intent} at {confidence:.2f}; answered from the article {article.slug}",
    )


def _bot_hands_over(script: _Script, rng: random.Random, *, team: Team, reason: str) -> datetime:
    text = rng.choice(phrases.BOT_HANDOFF).format(team=team.name)
    if timezone.localtime(script.clock).hour not in AGENT_HOURS:
        text += phrases.BOT_HANDOFF_AFTER_HOURS
    script.add(
        Message.Role.BOT, text, after=_seconds(rng, 2, 5), decision=Message.Decision.HANDOFF, decision_reason=reason
    )
    return script.clock


def _handoff_reason(profile: IntentProfile) -> str:
    if profile.priority == Priority.URGENT:
        return f"{profile.label} always goes to a person"
    return f"{profile.label} needs someone who can act on the account"


def _chat_opening(script: _Script, rng: random.Random, cast: Cast, brief: _Brief) -> datetime | None:
    """The customer's question and the bot's part; returns when it handed over, if it did."""
    profile = cast.profiles[brief.intent]
    team = cast.teams[profile.team_slug]
    if brief.flow == CLARIFY:
        _customer_asks(script, rng, brief, text=brief.utterance, confidence=(0.32, 0.6))
        top = script.messages[-1].intent_confidence
        script.add(
            Message.Role.BOT,
            rng.choice(phrases.BOT_CLARIFY),
            after=_seconds(rng, 2, 5),
            decision=Message.Decision.CLARIFY,
            decision_reason=f"top intent {brief.intent} at {top:.2f}, below the answer threshold",
        )
        again = rng.choice(cast.utterances.by_intent[brief.intent])
        _customer_asks(script, rng, brief, text=again, confidence=(0.8, 0.98), after=_seconds(rng, 20, 90))
        _bot_answers(script, rng, cast, brief)
        return None
    if brief.flow == DIRECT_HANDOFF:
        _customer_asks(script, rng, brief, text=brief.utterance, confidence=(0.6, 0.97))
        return _bot_hands_over(script, rng, team=team, reason=_handoff_reason(profile))
    _customer_asks(script, rng, brief, text=brief.utterance, confidence=(0.78, 0.99))
    _bot_answers(script, rng, cast, brief)
    if brief.flow != HANDOFF_AFTER_BOT:
        return None
    script.add(
        Message.Role.CUSTOMER, rng.choice(phrases.CUSTOMER_WANTS_PERSON), after=_seconds(rng, 20, 120), escalate=True
    )
    return _bot_hands_over(script, rng, team=team, reason="customer asked for a person")


def _agent_reply_text(
    rng: random.Random, *, agent: AbstractUser, customer: Customer, team: Team, answer: str, email: bool
) -> str:
    first = _customer_first_name(customer)
    if email:
        sign_off = rng.choice(phrases.EMAIL_SIGN_OFFS)
        return f"Hi {first},\n\n{answer}\n\n{sign_off}\n{agent.first_name}\nNorthwind Bank customer support"
    greeting = rng.choice(phrases.AGENT_GREETINGS).format(first=first, agent=agent.first_name, team=team.name)
    return greeting + answer


def _agent_answers(
    script: _Script, rng: random.Random, cast: Cast, brief: _Brief, *, agent: AbstractUser, pending: bool = False
) -> datetime:
    """The agent picks the conversation up at ``script.clock`` and replies (sometimes after a private note);
    returns when the reply was sent."""
    profile = cast.profiles[brief.intent]
    team = cast.teams[profile.team_slug]
    answer = profile.agent_reply + (rng.choice(phrases.AGENT_PENDING) if pending else "")
    email = brief.flow == EMAIL
    if not email:
        script.add(Message.Role.SYSTEM, f"{agent.first_name} from {team.name} joined the conversation.")
    if rng.random() < 0.2:
        script.add(Message.Role.NOTE, rng.choice(phrases.AGENT_NOTES), after=_seconds(rng, 30, 120), author=agent)
    text = _agent_reply_text(rng, agent=agent, customer=brief.customer, team=team, answer=answer, email=email)
    script.add(Message.Role.AGENT, text, after=_seconds(rng, 30, 240), author=agent)
    return script.clock


def _ticket(cast: Cast, brief: _Brief, *, status: str, created_at: datetime) -> PlannedTicket:
    profile = cast.profiles[brief.intent]
    priority = profile.priority
    if brief.customer.tier == "premium":
        priority = PRIORITY_UP.get(priority, priority)
    channel = "email" if brief.flow == EMAIL else "the chat widget"
    return PlannedTicket(
        subject=_subject(brief.utterance),
        description=f"Handed over from {channel}.\n\nCustomer wrote: {brief.utterance}",
        priority=priority,
        team=cast.teams[profile.team_slug],
        intent=brief.intent,
        status=status,
        created_at=created_at,
    )


def _survey(rng: random.Random, brief: _Brief, plan: PlannedConversation) -> PlannedSurvey | None:
    if rng.random() >= SURVEY_SHARE[brief.flow]:
        return None
    handed_over = plan.handoff_requested_at is not None
    if handed_over and plan.first_agent_response_at - plan.handoff_requested_at > LONG_WAIT:
        experience = "long_wait"
    elif brief.flow in (CLARIFY, HANDOFF_AFTER_BOT):
        experience = "bot_missed"
    else:
        experience = "smooth"
    rating = rng.choices(range(1, 6), weights=RATING_WEIGHTS[experience])[0]
    comment = rng.choice(phrases.SURVEY_COMMENTS[rating]) if rng.random() < 0.35 else ""
    return PlannedSurvey(rating=rating, comment=comment, at=plan.closed_at + _minutes(rng, 1, 15))


def _opening(script: _Script, rng: random.Random, cast: Cast, brief: _Brief) -> datetime | None:
    """The customer's first contact; returns when it reached the agents' queue, if it did."""
    if brief.flow != EMAIL:
        return _chat_opening(script, rng, cast, brief)
    body = f"Hello,\n\n{brief.utterance}\n\nThanks,\n{_customer_first_name(brief.customer)}"
    _customer_asks(script, rng, brief, text=body, confidence=(0.55, 0.95))
    return script.clock  # email goes straight to the team's queue


def _wrap_up(script: _Script, rng: random.Random, plan: PlannedConversation) -> None:
    """The customer says thanks (often) and the agent or the bot signs off; then the conversation closes."""
    if plan.assignee is None:
        if rng.random() < 0.35:
            script.add(Message.Role.CUSTOMER, rng.choice(phrases.CUSTOMER_THANKS), after=_seconds(rng, 15, 90))
            script.add(Message.Role.BOT, rng.choice(phrases.BOT_THANKS_REPLY), after=_seconds(rng, 2, 4))
        plan.closed_at = script.clock + _minutes(rng, 10, 30)  # closed once the customer goes quiet
        return
    if rng.random() < 0.7:
        script.add(Message.Role.CUSTOMER, rng.choice(phrases.CUSTOMER_THANKS), after=_minutes(rng, 0.5, 5))
        if plan.channel != Conversation.Channel.EMAIL and rng.random() < 0.8:
            closing = rng.choice(phrases.AGENT_CLOSING)
            script.add(Message.Role.AGENT, closing, after=_seconds(rng, 20, 90), author=plan.assignee)
    plan.closed_at = script.clock + _minutes(rng, 2, 15)


def _channel(brief: _Brief) -> str:
    return Conversation.Channel.EMAIL if brief.flow == EMAIL else Conversation.Channel.WIDGET


def _past_conversation(rng: random.Random, cast: Cast, brief: _Brief, now: datetime) -> PlannedConversation:
    profile = cast.profiles[brief.intent]
    plan = PlannedConversation(
        customer=brief.customer, channel=_channel(brief), state=Conversation.State.CLOSED, intent=brief.intent
    )
    script = _Script(brief.start)
    plan.handoff_requested_at = _opening(script, rng, cast, brief)
    if plan.handoff_requested_at is not None:
        plan.team = cast.teams[profile.team_slug]
        plan.assignee = rng.choice(cast.agents_by_team[profile.team_slug])
        script.clock = _agent_wait(rng, at=plan.handoff_requested_at, channel=plan.channel, priority=profile.priority)
        picked_up_at = script.clock
        plan.first_agent_response_at = _agent_answers(script, rng, cast, brief, agent=plan.assignee)
    _wrap_up(script, rng, plan)
    plan.messages = script.messages
    if plan.team is not None:
        plan.ticket = _past_ticket(cast, brief, plan, picked_up_at=picked_up_at)
    latest = now - timedelta(minutes=20)
    if plan.last_activity_at > latest:
        plan.shift(latest - plan.last_activity_at - _minutes(rng, 5, 60))
    if plan.ticket is not None and plan.ticket.resolved_at + AUTO_CLOSE_AFTER <= now:
        plan.ticket.status, plan.ticket.closed_at = Ticket.Status.CLOSED, plan.ticket.resolved_at + AUTO_CLOSE_AFTER
    plan.survey = _survey(rng, brief, plan)
    return plan


def _past_ticket(cast: Cast, brief: _Brief, plan: PlannedConversation, *, picked_up_at: datetime) -> PlannedTicket:
    """Resolved when the conversation closed; closing it three days later is up to the caller."""
    ticket = _ticket(cast, brief, status=Ticket.Status.RESOLVED, created_at=plan.handoff_requested_at)
    ticket.assignee, ticket.assigned_at = plan.assignee, picked_up_at
    ticket.first_response_at = plan.first_agent_response_at
    ticket.resolved_at = plan.closed_at
    return ticket


def _live_brief(rng: random.Random, cast: Cast, kind: str, now: datetime) -> _Brief:
    utterance, intent = rng.choice(cast.utterances.rows)
    if kind == "bot":
        flow = ANSWER
    elif kind == "waiting" and rng.random() < 0.25:
        flow = EMAIL
    else:
        flow = DIRECT_HANDOFF if rng.random() < 0.5 else HANDOFF_AFTER_BOT
    started = _minutes(rng, *(LIVE_EMAIL_STARTED if flow == EMAIL else LIVE_STARTED[kind]))
    return _Brief(now - started, rng.choice(cast.customers), utterance, intent, flow)


def _live_conversation(
    rng: random.Random, cast: Cast, kind: str, *, agent: AbstractUser | None, now: datetime
) -> PlannedConversation:
    """A conversation still going on: with the bot, waiting in a team's queue, or with an agent (``agent``, or
    one on shift) whose ticket is open or pending on the customer."""
    brief = _live_brief(rng, cast, kind, now)
    profile = cast.profiles[brief.intent]
    plan = PlannedConversation(
        customer=brief.customer, channel=_channel(brief), state=Conversation.State.BOT, intent=brief.intent
    )
    script = _Script(brief.start)
    plan.handoff_requested_at = _opening(script, rng, cast, brief)
    if kind != "bot":
        plan.state, plan.team = Conversation.State.WAITING, cast.teams[profile.team_slug]
        plan.ticket = _ticket(cast, brief, status=Ticket.Status.NEW, created_at=plan.handoff_requested_at)
    if kind in ("agent_open", "agent_pending"):
        plan.state = Conversation.State.AGENT
        plan.assignee = agent or rng.choice(cast.agents_on_shift[profile.team_slug])
        script.clock += _minutes(rng, 1, 8)
        ticket, pending = plan.ticket, kind == "agent_pending"
        ticket.assignee, ticket.assigned_at = plan.assignee, script.clock
        plan.first_agent_response_at = _agent_answers(script, rng, cast, brief, agent=plan.assignee, pending=pending)
        ticket.first_response_at = plan.first_agent_response_at
        if pending:
            ticket.status, ticket.pending_at = Ticket.Status.PENDING, script.clock + _seconds(rng, 10, 60)
        else:
            ticket.status = Ticket.Status.OPEN
            script.add(Message.Role.CUSTOMER, rng.choice(phrases.CUSTOMER_OPEN_QUESTION), after=_minutes(rng, 0.5, 4))
    plan.messages = script.messages
    latest = now - timedelta(minutes=1)
    if plan.last_activity_at > latest:
        plan.shift(latest - plan.last_activity_at - _minutes(rng, 1, 5))
    return plan


def conversations_plan(*, seed: int, count: int, cast: Cast, now: datetime) -> list[PlannedConversation]:
    """``count`` conversations, oldest first: the newest few are still live, the rest closed."""
    rng = random.Random(f"{seed}:conversations")
    live = min(count, max(len(set(LIVE_KINDS)), round(count * LIVE_SHARE)))
    starts = _past_start_times(rng, count - live, now)
    plans = [_past_conversation(rng, cast, brief, now) for brief in _briefs(rng, cast, starts)]
    _ensure_every_past_status(plans)
    kinds = [LIVE_KINDS[index % len(LIVE_KINDS)] for index in range(live)]
    # The demo login owns the first live conversation of each agent state, so its inbox isn't empty.
    owners = {kinds.index(kind): cast.demo_agent for kind in ("agent_open", "agent_pending") if kind in kinds}
    live_plans = [
        _live_conversation(rng, cast, kind, agent=owners.get(index), now=now) for index, kind in enumerate(kinds)
    ]
    return plans + sorted(live_plans, key=lambda plan: plan.started_at)


def _ensure_every_past_status(plans: list[PlannedConversation]) -> None:
    """A small seed may have no ticket resolved in the last three days (so none left unclosed), or none old
    enough to be auto-closed: then the newest stays resolved and the oldest was closed by its agent."""
    tickets = [plan.ticket for plan in plans if plan.ticket is not None]
    if len(tickets) < 2:
        return
    statuses = {ticket.status for ticket in tickets}
    if Ticket.Status.RESOLVED not in statuses:
        tickets[-1].status, tickets[-1].closed_at = Ticket.Status.RESOLVED, None
    if Ticket.Status.CLOSED not in statuses:
        tickets[0].status, tickets[0].closed_at = Ticket.Status.CLOSED, tickets[0].resolved_at + timedelta(minutes=5)
