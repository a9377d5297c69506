"""``demo_seed``: a realistic Northwind Bank help desk in seconds, safe to run again.

A second run finds the demo by its markers (team and product slugs, demo logins, customer external ids
``demo-NNNN``, conversations of demo customers) and updates or skips instead of duplicating.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import AgentProfile, Team
from apps.conversations.models import CannedReply, Conversation, Message, SatisfactionSurvey
from apps.customers.models import Customer
from apps.knowledge.models import Article
from apps.oversight.models import ConversationReview
from apps.recommendations.models import Product
from apps.reports.services import conversation_facts_refresh_stale
from apps.tickets.models import SLAPolicy, Ticket
from apps.web.demo.catalogue import UtteranceBank, article_for_intent, intent_profiles, utterances_load
from apps.web.demo.content import articles_ensure, canned_replies_ensure, products_ensure
from apps.web.demo.customers import EXTERNAL_ID_PREFIX, customers_ensure, demo_customers
from apps.web.demo.dialogues import Cast, conversations_plan
from apps.web.demo.history import history_store
from apps.web.demo.interactions import interactions_ensure
from apps.web.demo.reviews import reviews_ensure
from apps.web.demo.staff import (
    DEMO_LOGINS,
    demo_logins_ensure,
    floor_agents_ensure,
    office_calendar_ensure,
    sla_policies_ensure,
    team_rosters,
    teams_ensure,
)

DEFAULT_SEED = 77
DEFAULT_CUSTOMERS = 200
DEFAULT_CONVERSATIONS = 1000
# Enough for every ticket status and every live conversation state to appear.
MIN_CONVERSATIONS = 10


@dataclass(frozen=True)
class SeedReport:
    customers_created: int
    conversations_created: int
    # Password of every demo login whose password was set by this run; empty when they already existed.
    passwords: dict[str, str]
    utterance_source: Path | None  # None when the conversations already existed and were left alone
    totals: dict[str, int] = field(default_factory=dict)
    ticket_statuses: dict[str, int] = field(default_factory=dict)


@transaction.atomic
def demo_seed(
    *,
    seed: int = DEFAULT_SEED,
    customers: int = DEFAULT_CUSTOMERS,
    conversations: int = DEFAULT_CONVERSATIONS,
    reset_passwords: bool = False,
    shared_data_dir: Path | None = None,
    now: datetime | None = None,
) -> SeedReport:
    """Seed everything in one transaction. Conversations are only planned when no demo customer has any yet,
    so a re-run never doubles them; customers 1..``customers`` that are missing are added."""
    if customers < 1 or conversations < MIN_CONVERSATIONS:
        raise ValueError(f"Seed at least 1 customer and {MIN_CONVERSATIONS} conversations")
    now = now or timezone.now()
    teams = teams_ensure(profiles=intent_profiles())
    sla_policies_ensure(calendar=office_calendar_ensure(year=now.year))
    logins, passwords = demo_logins_ensure(teams=teams, reset_passwords=reset_passwords)
    floor = floor_agents_ensure(teams=teams)
    articles_ensure()
    products_ensure()
    canned_replies_ensure(teams=teams)
    customers_created = customers_ensure(seed=seed, count=customers, now=now)

    utterance_source, conversations_created = None, 0
    if not Conversation.objects.filter(customer__external_id__startswith=EXTERNAL_ID_PREFIX).exists():
        utterances = utterances_load(shared_data_dir=shared_data_dir or settings.SHARED_DATA_DIR)
        cast = _cast(utterances=utterances, teams=teams, demo_agent=logins["agent"], floor_agents=floor)
        plans = conversations_plan(seed=seed, count=conversations, cast=cast, now=now)
        conversations_created = history_store(plans=plans).conversations
        utterance_source = utterances.source
    interactions_ensure(seed=seed, now=now)  # after the conversations: articles follow what customers asked
    reviews_ensure(seed=seed, reviewer=logins["manager"], now=now)
    conversation_facts_refresh_stale()  # the reports' facts of the closed conversations (bulk inserts skip them)
    totals, statuses = _totals()
    return SeedReport(
        customers_created=customers_created,
        conversations_created=conversations_created,
        passwords=passwords,
        utterance_source=utterance_source,
        totals=totals,
        ticket_statuses=statuses,
    )


def _cast(
    *, utterances: UtteranceBank, teams: dict[str, Team], demo_agent: AbstractUser, floor_agents: list[AbstractUser]
) -> Cast:
    return Cast(
        customers=demo_customers(),
        utterances=utterances,
        profiles=intent_profiles(),
        articles=article_for_intent(),
        teams=teams,
        agents_by_team=team_rosters(demo_agent=demo_agent, floor_agents=floor_agents),
        agents_on_shift=team_rosters(demo_agent=demo_agent, floor_agents=floor_agents, online_only=True),
        demo_agent=demo_agent,
    )


def _totals() -> tuple[dict[str, int], dict[str, int]]:
    """Counts of the demo's records (of demo customers, where a record belongs to one), and tickets by status."""
    of_demo = {"customer__external_id__startswith": EXTERNAL_ID_PREFIX}
    tickets = Ticket.objects.filter(**of_demo)
    statuses = Counter(dict.fromkeys(Ticket.Status.values, 0))
    statuses.update(tickets.values_list("status", flat=True))
    totals = {
        "customers": Customer.objects.filter(external_id__startswith=EXTERNAL_ID_PREFIX).count(),
        "conversations": Conversation.objects.filter(**of_demo).count(),
        "messages": Message.objects.filter(conversation__customer__external_id__startswith=EXTERNAL_ID_PREFIX).count(),
        "tickets": tickets.count(),
        "surveys": SatisfactionSurvey.objects.filter(
            conversation__customer__external_id__startswith=EXTERNAL_ID_PREFIX
        ).count(),
        "articles": Article.objects.filter(published=True).count(),
        "products": Product.objects.filter(active=True).count(),
        "canned_replies": CannedReply.objects.count(),
        "teams": Team.objects.count(),
        "sla_policies": SLAPolicy.objects.filter(is_active=True).count(),
        "reviews": ConversationReview.objects.filter(
            conversation__customer__external_id__startswith=EXTERNAL_ID_PREFIX
        ).count(),
        "agents": AgentProfile.objects.count(),
        "demo_logins": len(DEMO_LOGINS),
    }
    return totals, dict(statuses)
