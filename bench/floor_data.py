"""The desk ``make bench-floor`` watches: generated with a seeded RNG and bulk inserts. Imported by bench/floor.py
once Django is set up.

5 teams, ``AGENT_PROFILES`` agent profiles (online / away / offline, capacities 3-8, a fifth of them in two teams),
10,000 customers; ``live`` open conversations (with the bot, waiting for an agent, with an agent) as they stand
now, some with a ticket whose SLA targets fall before, around and after now, most with the satisfaction
model's prediction and its history, every customer message with a sentiment; ``closed`` closed conversations
of the last half year with their messages (the at-risk query's latest-customer-message subquery reads that
table), a fifth of them with a resolved ticket; and open tickets assigned to agents.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import AgentProfile, Team
from apps.accounts.roles import AGENTS, MANAGERS
from apps.accounts.services import user_set_roles
from apps.conversations.models import Conversation, Message
from apps.customers.models import Customer
from apps.tickets.models import Priority, Ticket
from apps.web.demo.backdate import fields_write

BATCH = 2000
TEAMS = ("Cards", "Payments", "Accounts", "Loans", "Fraud")
AGENT_PROFILES = 200
CUSTOMERS = 10_000
OPEN_TICKETS = 3000
PRESENCE_WEIGHTS = {"online": 55, "away": 15, "offline": 30}
CAPACITIES = (3, 4, 5, 5, 6, 8)
LIVE_STATE_WEIGHTS = {"bot": 35, "waiting": 15, "agent": 50}
# Minutes from the start (or the handoff) to the SLA targets: some targets fall before now, some within the
# floor's 15-minute warning, most later.
FIRST_RESPONSE_MINUTES = (15, 30, 60, 240)
RESOLUTION_MINUTES = (60, 240, 480, 1440)
# The satisfaction model's threshold (AssistantSettings.at_risk_satisfaction's default is of this order).
AT_RISK_BELOW = 2.5
MANAGER = "bench-floor-manager"


@dataclass
class Cast:
    teams: list[Team]
    members: dict[int, list]  # team id → its agents (users)
    available: dict[int, list]  # team id → its online and away agents
    agents: list
    customers: list[Customer]
    manager: object


def cast_create(rng: random.Random, now: datetime) -> Cast:
    user_model = get_user_model()
    teams = [Team.objects.create(name=f"Floor {name}", slug=f"floor-{name.lower()}") for name in TEAMS]
    users = user_model.objects.bulk_create(
        [user_model(username=f"floor-agent-{n:03}", is_staff=True) for n in range(AGENT_PROFILES)], batch_size=BATCH
    )
    Group.objects.get(name=AGENTS).user_set.add(*users)
    presences = rng.choices(list(PRESENCE_WEIGHTS), weights=list(PRESENCE_WEIGHTS.values()), k=AGENT_PROFILES)
    profiles = AgentProfile.objects.bulk_create(
        [
            AgentProfile(
                user=user,
                display_name=f"Agent {n:03}",
                capacity=rng.choice(CAPACITIES),
                presence=presence,
                presence_changed_at=now - timedelta(minutes=rng.uniform(1, 480)),
            )
            for n, (user, presence) in enumerate(zip(users, presences, strict=True))
        ]
    )
    members: dict[int, list] = {team.pk: [] for team in teams}
    available: dict[int, list] = {team.pk: [] for team in teams}
    memberships = []
    for n, (user, profile) in enumerate(zip(users, profiles, strict=True)):
        own = [teams[n % len(teams)]]
        if rng.random() < 0.2:
            own.append(teams[(n + 1 + rng.randrange(len(teams) - 1)) % len(teams)])
        for team in own:
            memberships.append(AgentProfile.teams.through(agentprofile=profile, team=team))
            members[team.pk].append(user)
            if profile.presence != "offline":
                available[team.pk].append(user)
    AgentProfile.teams.through.objects.bulk_create(memberships)
    Customer.objects.bulk_create(
        [Customer(external_id=f"floor-{n}", name=f"Customer {n}") for n in range(CUSTOMERS)], batch_size=BATCH
    )
    customers = list(Customer.objects.filter(external_id__startswith="floor-"))
    manager = user_model.objects.create_user(username=MANAGER, password=None)
    user_set_roles(user=manager, roles=[MANAGERS])
    # The desk's clock: the live rows are as of this instant; bench/floor.py moves them (and it) to its now.
    user_model.objects.filter(pk=manager.pk).update(date_joined=now)
    return Cast(teams, members, available, users, customers, manager)


class Chats:
    """Conversations turned into unsaved rows with a seeded RNG: the live ones as of ``now``, the closed ones over
    the last half year."""

    def __init__(self, rng: random.Random, cast: Cast, now: datetime) -> None:
        self.rng, self.cast, self.now = rng, cast, now

    def messages(self, count: int, started: datetime, *, first_agent: datetime | None, agent) -> list[Message]:
        rng, rows, clock = self.rng, [], started
        for seq in range(1, count + 1):
            if seq % 2:
                role = Message.Role.CUSTOMER
            else:
                role = Message.Role.AGENT if first_agent is not None and clock >= first_agent else Message.Role.BOT
            rows.append(self._message(seq, role, clock, agent if role == Message.Role.AGENT else None))
            clock += timedelta(seconds=rng.randint(5, 120))
        return rows

    def _message(self, seq: int, role: str, at: datetime, author) -> Message:
        rng = self.rng
        sentiment = escalate = None
        if role == Message.Role.CUSTOMER and rng.random() < 0.9:  # a tenth not analysed yet
            sentiment = round(max(-1.0, min(1.0, rng.gauss(0.15, 0.45))), 2)
            escalate = sentiment < -0.85 and rng.random() < 0.5
        return Message(
            seq=seq,
            role=role,
            text=f"{role} line {seq}",
            author=author,
            sentiment=sentiment,
            escalate=bool(escalate),
            created_at=at,
        )

    def prediction(self, conversation: Conversation, customer_messages: int) -> None:
        """Most conversations carry the model's prediction, one per customer message (at most ten kept)."""
        rng = self.rng
        if rng.random() >= 0.65:
            return
        score, history = rng.gauss(4.0, 0.6), []
        for _ in range(min(10, max(1, customer_messages))):
            history.append(round(max(1.0, min(5.0, score)), 2))
            score += rng.gauss(-0.1, 0.5)
        conversation.satisfaction_history = history
        conversation.predicted_satisfaction = history[-1]
        conversation.at_risk = history[-1] <= AT_RISK_BELOW

    def live(self) -> tuple[Conversation, list[Message], Ticket | None, datetime]:
        rng, cast, now = self.rng, self.cast, self.now
        state = rng.choices(list(LIVE_STATE_WEIGHTS), weights=list(LIVE_STATE_WEIGHTS.values()))[0]
        team = rng.choice(cast.teams)
        conversation = Conversation(customer=rng.choice(cast.customers), state=state, team=team)
        first_agent = agent = None
        if state == "bot":
            conversation.team = team if rng.random() < 0.5 else None
            started = now - timedelta(minutes=rng.uniform(0.5, 20))
            count = rng.randint(2, 6)
        elif state == "waiting":
            conversation.team = None if rng.random() < 0.03 else team
            conversation.handoff_requested_at = now - timedelta(seconds=min(2700, rng.lognormvariate(4.5, 1.0)))
            started = conversation.handoff_requested_at - timedelta(minutes=rng.uniform(1, 5))
            count = rng.randint(3, 8)
        else:
            agent = rng.choice(cast.available[team.pk] or cast.members[team.pk])
            conversation.assignee = agent
            conversation.handoff_requested_at = now - timedelta(minutes=rng.uniform(2, 90))
            started = conversation.handoff_requested_at - timedelta(minutes=rng.uniform(1, 5))
            first_agent = conversation.handoff_requested_at + timedelta(seconds=rng.lognormvariate(4.5, 1.0))
            conversation.first_agent_response_at = min(first_agent, now)
            count = rng.randint(5, 14)
        rows = self.messages(count, started, first_agent=first_agent, agent=agent)
        self.prediction(conversation, sum(1 for m in rows if m.role == Message.Role.CUSTOMER))
        ticket = self._ticket(conversation, started) if rng.random() < (0.05 if state == "bot" else 0.3) else None
        return self._settle(conversation, rows), rows, ticket, started

    def _ticket(self, conversation: Conversation, started: datetime) -> Ticket:
        rng = self.rng
        since = conversation.handoff_requested_at or started
        ticket = Ticket(
            customer=conversation.customer,
            subject="From a chat",
            status=rng.choice([Ticket.Status.NEW, Ticket.Status.OPEN]),
            priority=rng.choice(Priority.values),
            team=conversation.team,
            assignee=conversation.assignee,
            first_response_due_at=since + timedelta(minutes=rng.choice(FIRST_RESPONSE_MINUTES)),
            resolution_due_at=started + timedelta(minutes=rng.choice(RESOLUTION_MINUTES)),
        )
        if conversation.first_agent_response_at and rng.random() < 0.8:
            ticket.first_response_at = conversation.first_agent_response_at
        return ticket

    def closed(self) -> tuple[Conversation, list[Message], Ticket | None, datetime]:
        rng, cast = self.rng, self.cast
        started = self.now - timedelta(days=rng.uniform(1, 180))
        team = rng.choice(cast.teams)
        conversation = Conversation(customer=rng.choice(cast.customers), state=Conversation.State.CLOSED, team=team)
        first_agent = agent = None
        if rng.random() < 0.45:
            agent = rng.choice(cast.members[team.pk])
            conversation.assignee = agent
            conversation.handoff_requested_at = started + timedelta(minutes=rng.uniform(1, 5))
            first_agent = conversation.handoff_requested_at + timedelta(seconds=rng.lognormvariate(4.6, 1.0))
            conversation.first_agent_response_at = first_agent
        rows = self.messages(rng.randint(3, 9), started, first_agent=first_agent, agent=agent)
        self.prediction(conversation, sum(1 for m in rows if m.role == Message.Role.CUSTOMER))
        conversation.closed_at = rows[-1].created_at + timedelta(minutes=rng.uniform(1, 30))
        ticket = None
        if rng.random() < 0.2:
            ticket = self._ticket(conversation, started)
            ticket.status = rng.choice([Ticket.Status.RESOLVED, Ticket.Status.CLOSED])
            ticket.resolved_at = ticket.first_response_at = conversation.closed_at
        return self._settle(conversation, rows), rows, ticket, started

    def _settle(self, conversation: Conversation, rows: list[Message]) -> Conversation:
        conversation.last_seq = len(rows)
        conversation.last_message_at = rows[-1].created_at
        return conversation


def conversations_insert(planned: list[tuple[Conversation, list[Message], Ticket | None, datetime]]) -> int:
    """One batch in one transaction: its tickets, conversations (backdated) and messages; returns the messages."""
    with transaction.atomic():
        tickets = [ticket for _, _, ticket, _ in planned if ticket is not None]
        Ticket.objects.bulk_create(tickets, batch_size=1000)
        for conversation, _, ticket, _ in planned:
            conversation.ticket = ticket
        conversations = Conversation.objects.bulk_create([c for c, _, _, _ in planned], batch_size=500)
        for conversation, _, _, started in planned:
            conversation.created_at = started
            conversation.updated_at = conversation.last_message_at
        fields_write(conversations, ["created_at", "updated_at"])
        messages = []
        for conversation, rows, _, _ in planned:
            for message in rows:
                message.conversation = conversation
                messages.append(message)
        Message.objects.bulk_create(messages, batch_size=1000)
    return len(messages)


def open_tickets_insert(rng: random.Random, cast: Cast, now: datetime) -> None:
    """Tickets in agents' queues that no live chat holds (e-mail, older chats): the agents' open-ticket counts."""
    tickets = []
    for _ in range(OPEN_TICKETS):
        team = rng.choice(cast.teams)
        created = now - timedelta(hours=rng.uniform(1, 240))
        tickets.append(
            Ticket(
                customer=rng.choice(cast.customers),
                subject="By e-mail",
                status=rng.choice(Ticket.OPEN_STATUSES),
                priority=rng.choice(Priority.values),
                team=team,
                assignee=rng.choice(cast.members[team.pk]),
                first_response_due_at=created + timedelta(minutes=rng.choice(FIRST_RESPONSE_MINUTES)),
                first_response_at=created + timedelta(minutes=rng.uniform(5, 120)),
                resolution_due_at=created + timedelta(minutes=rng.choice(RESOLUTION_MINUTES) * 4),
            )
        )
    Ticket.objects.bulk_create(tickets, batch_size=1000)


def generate(*, live: int, closed: int, seed: int) -> tuple[int, int]:
    """The whole desk on an empty database; returns (conversations, messages) stored."""
    rng, now = random.Random(seed), timezone.now()
    cast = cast_create(rng, now)
    chats = Chats(rng, cast, now)
    stored = messages = 0
    for make, count in ((chats.closed, closed), (chats.live, live)):
        for offset in range(0, count, BATCH):
            messages += conversations_insert([make() for _ in range(min(BATCH, count - offset))])
            stored += min(BATCH, count - offset)
            print(f"\r  generated {stored:,} conversations, {messages:,} messages", end="", flush=True)
    print()
    open_tickets_insert(rng, cast, now)
    return stored, messages
