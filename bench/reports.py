"""``make bench-reports``: the managers' report pages over 100 k conversations and 1 M messages.

Generates a desk's history with a seeded RNG (bulk inserts in batches): 5 teams, 40 agents, 30 intents, three
channels, starts that follow a daily and a weekly curve over a year, about half the conversations handed to
agents, ratings skewed to 5s and 3s, suggested-reply outcomes, and (when the schema has it) the satisfaction
model's prediction. Then builds the reports' facts from scratch (timed), times one fact refresh (what closing a
conversation costs), and times the report pages' server time through Django's test client logged in as a
manager: the median of ``--requests`` requests after one warm-up, with and without filters.

Its own database: SQLite in var/bench-reports/ (kept between runs; the history is generated once, unless
``--regenerate``), or, when DATABASE_URL is set, a PostgreSQL database named after it with ``_bench_reports``
appended (created when missing).
"""

import argparse
import itertools
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta

from bench.scratch import ScratchDatabase

SCRATCH = ScratchDatabase("reports")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["HELPDESK_MESSAGE_HOOK_TASK"] = ""  # nothing here posts messages through the services
# A new history starts from an empty database (deleting 100 k conversations row by row would take longer
# than generating them).
SCRATCH.ensure(drop="--regenerate" in sys.argv[1:])

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.accounts.models import AgentProfile, Team  # noqa: E402
from apps.accounts.roles import AGENTS, MANAGERS  # noqa: E402
from apps.accounts.services import user_set_roles  # noqa: E402
from apps.assistant.models import SuggestionUse  # noqa: E402
from apps.conversations.models import Conversation, Message, SatisfactionSurvey  # noqa: E402
from apps.customers.models import Customer  # noqa: E402
from apps.reports.models import ConversationFact  # noqa: E402
from apps.reports.services import conversation_fact_refresh, conversation_facts_refresh_stale  # noqa: E402
from apps.web.demo.backdate import fields_write  # noqa: E402

TARGET_MS = 300
BATCH = 2000
TEAMS = ("Cards", "Payments", "Accounts", "Loans", "Fraud")
AGENTS_PER_TEAM = 8
INTENTS_PER_TEAM = 6
# Starts per hour of the day (a working-day curve with an evening tail) and per weekday (quieter weekends).
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 20, 19, 16, 17, 18, 17, 15, 12, 9, 7, 5, 4, 3, 2]
WEEKDAY_WEIGHTS = [18, 17, 16, 16, 15, 9, 7]
CHANNELS = (("widget", 75), ("email", 15), ("api", 10))
# Real ratings pile up on 5 and 3 (issue 6).
RATING_WEIGHTS = {1: 7, 2: 8, 3: 25, 4: 15, 5: 45}
HANDOFF_SHARE = 0.45
RATED_SHARE = 0.35
OPEN_SHARE = 0.3
COMMENTS = {1: "Nobody helped me at all.", 2: "Took far too long to get an answer.", 3: "It was fine."}


def has_predicted_satisfaction() -> bool:
    return any(field.name == "predicted_satisfaction" for field in Conversation._meta.get_fields())


class Cast:
    """The desk the history happens at: teams, their agents and intents, customers, a manager."""

    def __init__(self) -> None:
        user_model = get_user_model()
        self.teams = [
            Team.objects.get_or_create(slug=f"bench-{name.lower()}", defaults={"name": f"Bench {name}"})[0]
            for name in TEAMS
        ]
        self.agents: dict[int, list] = {}
        for team in self.teams:
            members = []
            for n in range(AGENTS_PER_TEAM):
                user, created = user_model.objects.get_or_create(username=f"bench-{team.slug[6:]}-{n}")
                if created:
                    user_set_roles(user=user, roles=[AGENTS])
                    profile = AgentProfile.objects.create(user=user, display_name=f"{team.name[6:]} agent {n}")
                    profile.teams.set([team])
                members.append(user)
            self.agents[team.pk] = members
        self.intents = {team.pk: [f"{team.slug[6:]}_{n}" for n in range(INTENTS_PER_TEAM)] for team in self.teams}
        self.manager, created = user_model.objects.get_or_create(username="bench-manager")
        if created:
            user_set_roles(user=self.manager, roles=[MANAGERS])
        self.customers = list(Customer.objects.filter(external_id__startswith="bench-"))
        if not self.customers:
            Customer.objects.bulk_create(
                [Customer(external_id=f"bench-{n}", name=f"Customer {n}") for n in range(10_000)], batch_size=BATCH
            )
            self.customers = list(Customer.objects.filter(external_id__startswith="bench-"))


class History:
    """One batch of planned conversations turned into unsaved rows, with a seeded RNG."""

    def __init__(self, rng: random.Random, cast: Cast, now: datetime, days: int) -> None:
        self.rng, self.cast, self.now, self.days = rng, cast, now, days
        self.predicted = has_predicted_satisfaction()

    def starts(self, count: int) -> list[datetime]:
        """``count`` start times over the last ``days`` days, oldest first: as on a real desk, a later
        conversation has a higher id (and the facts' rows lie in time order)."""
        return sorted(self._start() for _ in range(count))

    def _start(self) -> datetime:
        rng = self.rng
        while True:
            day = self.now.date() - timedelta(days=rng.randrange(self.days))
            if rng.random() < WEEKDAY_WEIGHTS[day.weekday()] / max(WEEKDAY_WEIGHTS):
                break
        hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        naive = datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60))
        return min(timezone.make_aware(naive), self.now - timedelta(minutes=30))

    def conversation(self, started: datetime) -> tuple[Conversation, list[Message], dict]:
        rng, cast = self.rng, self.cast
        team = rng.choice(cast.teams)
        intent = rng.choice(cast.intents[team.pk])
        channel = rng.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS])[0]
        conversation = Conversation(customer=rng.choice(cast.customers), channel=channel, team=team)
        clock = started
        messages: list[tuple[str, datetime, object]] = []

        def say(role: str, gap: tuple[int, int], author=None) -> None:
            nonlocal clock
            clock += timedelta(seconds=rng.randint(*gap))
            messages.append((role, clock, author))

        say("customer", (0, 0))
        handed = rng.random() < HANDOFF_SHARE
        for _ in range(rng.randint(1, 2) if handed else rng.randint(1, 3)):
            say("bot", (1, 3))
            say("customer", (10, 90))
        agent = None
        if handed:
            conversation.handoff_requested_at = clock
            say("system", (0, 1))
            agent = rng.choice(cast.agents[team.pk])
            wait = rng.lognormvariate(4.6, 1.0) * (8 if channel == "email" else 1)  # median ≈ 100 s on chat
            clock += timedelta(seconds=wait)
            say("system", (0, 0))
            for turn in range(rng.randint(3, 5)):
                say("agent", (0, 0) if turn == 0 else (20, 240), author=agent)
                say("customer", (15, 200))
            conversation.first_agent_response_at = next(at for role, at, _ in messages if role == "agent")
            conversation.assignee = agent
        # A few conversations of the last two days are still open: they have no facts yet.
        closing = started < self.now - timedelta(days=2) or rng.random() >= OPEN_SHARE
        if closing:
            clock += timedelta(seconds=rng.randint(60, 1800))
            say("system", (0, 0))
            conversation.state, conversation.closed_at = Conversation.State.CLOSED, clock
        else:
            conversation.state = Conversation.State.AGENT if handed else Conversation.State.BOT
        # Nothing happens in the future: a conversation that would end after now happened a little earlier.
        late = max(timedelta(0), clock + timedelta(minutes=20) - self.now)
        messages = [(role, at - late, author) for role, at, author in messages]
        for name in ("handoff_requested_at", "first_agent_response_at", "closed_at"):
            if getattr(conversation, name) is not None:
                setattr(conversation, name, getattr(conversation, name) - late)
        started, clock = started - late, clock - late
        conversation.last_seq = len(messages)
        conversation.last_message_at = messages[-1][1]
        rows = []
        for seq, (role, at, author) in enumerate(messages, start=1):
            first = seq == 1
            rows.append(
                Message(
                    seq=seq,
                    role=role,
                    text=f"{role} line {seq} about {intent}",
                    author=author,
                    intent=intent if role == "customer" else "",
                    intent_confidence=0.8 if role == "customer" else None,
                    decision=("handoff" if handed else "answer") if first else "",
                    created_at=at,
                )
            )
        extra = {"started": started, "updated": clock, "intent": intent, "handed": handed, "agent": agent}
        if closing and rng.random() < RATED_SHARE:
            rating = rng.choices(list(RATING_WEIGHTS), weights=list(RATING_WEIGHTS.values()))[0]
            comment = COMMENTS.get(rating, "") if rng.random() < 0.4 else ""
            extra["survey"] = (rating, comment, clock + timedelta(minutes=rng.randint(1, 15)))
            if self.predicted:
                conversation.predicted_satisfaction = round(min(5.0, max(1.0, rng.gauss(rating, 0.9))), 2)
        elif self.predicted and rng.random() < 0.5:
            conversation.predicted_satisfaction = round(rng.uniform(1.5, 5.0), 2)
        return conversation, rows, extra


def generate(count: int, *, seed: int, days: int) -> tuple[int, int]:
    """``count`` conversations in batches of BATCH; returns (conversations, messages) stored."""
    rng = random.Random(seed)
    cast = Cast()
    history = History(rng, cast, timezone.now(), days)
    starts = history.starts(count)
    stored_conversations = stored_messages = 0
    for offset in range(0, count, BATCH):
        planned = [history.conversation(started) for started in starts[offset : offset + BATCH]]
        with transaction.atomic():
            conversations = Conversation.objects.bulk_create([c for c, _, _ in planned], batch_size=500)
            for conversation, _, extra in planned:
                conversation.created_at, conversation.updated_at = extra["started"], extra["updated"]
            fields_write(conversations, ["created_at", "updated_at"])
            messages = []
            for conversation, rows, _ in planned:
                for message in rows:
                    message.conversation = conversation
                    messages.append(message)
            Message.objects.bulk_create(messages, batch_size=1000)
            _surveys_and_suggestions(rng, planned, messages)
        stored_conversations += len(conversations)
        stored_messages += len(messages)
        print(f"\r  generated {stored_conversations:,} conversations, {stored_messages:,} messages", end="", flush=True)
    print()
    return stored_conversations, stored_messages


def _surveys_and_suggestions(rng: random.Random, planned: list, messages: list[Message]) -> None:
    surveys, uses = [], []
    for conversation, rows, extra in planned:
        if "survey" in extra:
            rating, comment, at = extra["survey"]
            surveys.append(SatisfactionSurvey(conversation=conversation, rating=rating, comment=comment))
            surveys[-1].planned_at = at
        if extra["handed"]:
            # One outcome per customer message an agent answered: used, edited or ignored.
            answered = [m for m, after in itertools.pairwise(rows) if m.role == "customer" and after.role == "agent"]
            for message in answered:
                outcome = rng.choices(["used", "edited", "ignored"], weights=[30, 25, 45])[0]
                uses.append(SuggestionUse(message=message, outcome=outcome, agent=extra["agent"], source="knowledge"))
    SatisfactionSurvey.objects.bulk_create(surveys, batch_size=1000)
    for survey in surveys:
        survey.created_at = survey.updated_at = survey.planned_at
    fields_write(surveys, ["created_at", "updated_at"])
    SuggestionUse.objects.bulk_create(uses, batch_size=1000)


def median_ms(client: Client, path: str, requests: int) -> tuple[float, int, int]:
    """Median server time of GET ``path`` in ms after one warm-up, its status and its query count."""
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    # Django resets its own query log when a request starts, so the count is kept here.
    with connection.execute_wrapper(count):
        response = client.get(path)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), response.status_code, len(queries)


def run(args: argparse.Namespace) -> int:
    call_command("migrate", verbosity=0)
    existing = Conversation.objects.filter(customer__external_id__startswith="bench-").count()
    generated_s = None
    if existing < args.conversations:
        started = time.perf_counter()
        generate(args.conversations - existing, seed=args.seed + existing, days=args.days)
        generated_s = time.perf_counter() - started
    conversations = Conversation.objects.count()
    messages = Message.objects.count()
    closed = Conversation.objects.filter(state=Conversation.State.CLOSED).count()

    ConversationFact.objects.all().delete()
    started = time.perf_counter()
    facts = conversation_facts_refresh_stale()
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    stale_after = conversation_facts_refresh_stale()
    stale_s = time.perf_counter() - started

    sample = list(Conversation.objects.filter(state=Conversation.State.CLOSED).order_by("?")[:50])
    refresh_ms = []
    for conversation in sample:
        started = time.perf_counter()
        conversation_fact_refresh(conversation=conversation)
        refresh_ms.append((time.perf_counter() - started) * 1000)

    cast = Cast()
    client = Client(SERVER_NAME="localhost")
    client.force_login(cast.manager)
    first = ConversationFact.objects.order_by("created_date").values_list("created_date", flat=True).first()
    team = cast.teams[0]
    agent = cast.agents[team.pk][0]
    today = timezone.localdate()
    pages = [
        ("dashboard, default filters (last 30 days)", "/reports/"),
        ("dashboard, all time (every fact)", f"/reports/?date_from={first}&period=month"),
        ("dashboard, all time, by week", f"/reports/?date_from={first}&period=week&by=intent"),
        ("dashboard, all time, one team + chat widget", f"/reports/?date_from={first}&team={team.pk}&channel=widget"),
        ("dashboard, last 90 days, one intent", f"/reports/?date_from={today - timedelta(days=89)}&intent=cards_0"),
        ("one agent's page, all time", f"/reports/agents/{agent.pk}/?date_from={first}"),
        ("API summary, all time", f"/api/reports/summary/?date_from={first}"),
        ("CSV of the leaderboard, all time", f"/reports/csv/leaderboard/?date_from={first}"),
    ]
    timed = []
    for label, path in pages:
        ms, status, queries = median_ms(client, path, args.requests)
        if status != 200:
            print(f"{path} answered {status}")
            return 1
        timed.append((label, ms, queries))

    print(f"\n{conversations:,} conversations ({closed:,} closed), {messages:,} messages; database {connection.vendor}")
    print(f"median of {args.requests} requests after a warm-up\n")
    print("| figure | target | ours |")
    print("| --- | --- | --- |")
    print(f"| conversations / messages generated | 100 k / 1 M | {conversations:,} / {messages:,} |")
    if generated_s is not None:
        print(f"| generating them (bulk inserts) | — | {generated_s:.0f} s |")
    print(f"| facts built from scratch | — | {facts:,} in {build_s:.1f} s ({facts / build_s:,.0f}/s) |")
    print(f"| beat job with nothing stale | — | {stale_after} refreshed in {stale_s * 1000:.0f} ms |")
    print(f"| one fact refresh (on close), median | — | {statistics.median(refresh_ms):.1f} ms |")
    for label, ms, queries in timed:
        target = f"< {TARGET_MS} ms" if label.startswith("dashboard") else "—"
        print(f"| {label} ({queries} queries) | {target} | {ms:.0f} ms |")
    slow = [label for label, ms, _ in timed if label.startswith("dashboard") and ms >= TARGET_MS]
    if slow:
        print(f"\nover the {TARGET_MS} ms target: {', '.join(slow)}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=100_000, help="default %(default)s (≈ 10 messages each)")
    parser.add_argument("--days", type=int, default=365, help="history spread over this many days")
    parser.add_argument("--requests", type=int, default=7, help="timed requests per page (median)")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--regenerate", action="store_true", help="start again from an empty database")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
