"""A hand-made desk whose report figures are known, and helpers to build closed conversations.

``desk`` holds five closed conversations in the week of Monday 2 March 2026 (UTC, the test time zone):

| # | started (UTC)    | agent | intent       | handoff → reply | created → closed | rating | suggestions |
| - | ---------------- | ----- | ------------ | --------------- | ---------------- | ------ | ----------- |
| 1 | Mon 09:00        | alice | card_arrival | 120 s           | 600 s            | 5      | used, edited |
| 2 | Mon 14:00        | bob   | card_arrival | 300 s           | 1200 s           | 4      | ignored *2  |
| 3 | Tue 09:30        | alice | lost_card    | 60 s            | 1800 s           | 2 "Too slow" |      |
| 4 | Thu 10:00 (email)| —     | balance      | (bot only)      | 300 s            | 3      |             |
| 5 | Thu 23:00        | —     | lost_card    | never answered  | 900 s            | —      |             |
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import AbstractBaseUser

from apps.accounts.models import Team
from apps.assistant.models import SuggestionUse
from apps.conversations.models import Conversation, Message, SatisfactionSurvey
from apps.customers.models import Customer
from apps.reports.models import ConversationFact
from apps.reports.services import conversation_facts_refresh

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _desk_time_zone(settings):
    settings.TIME_ZONE = "UTC"


def closed_conversation(
    customer: Customer,
    *,
    started: datetime,
    closed_after: float,
    team: Team | None = None,
    agent: AbstractBaseUser | None = None,
    channel: str = Conversation.Channel.WIDGET,
    intent: str = "",
    handoff_after: float | None = None,
    reply_after_handoff: float | None = None,
    rating: int | None = None,
    comment: str = "",
    suggestions: tuple[str, ...] = (),
    customer_messages: int = 2,
    agent_messages: int | None = None,
) -> Conversation:
    """A closed conversation with its messages, stored directly (backdated) rather than through the chat."""
    handoff_at = started + timedelta(seconds=handoff_after) if handoff_after is not None else None
    replied_at = handoff_at + timedelta(seconds=reply_after_handoff) if reply_after_handoff is not None else None
    conversation = Conversation.objects.create(
        customer=customer, channel=channel, team=team, assignee=agent, state=Conversation.State.CLOSED
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        created_at=started,
        handoff_requested_at=handoff_at,
        first_agent_response_at=replied_at,
        closed_at=started + timedelta(seconds=closed_after),
    )
    seq = 0

    def post(role: str, at: datetime, **fields) -> Message:
        nonlocal seq
        seq += 1
        return Message.objects.create(
            conversation=conversation, seq=seq, role=role, text=f"{role} {seq}", created_at=at, **fields
        )

    asked = [post(Message.Role.CUSTOMER, started, intent=intent)]
    asked += [post(Message.Role.CUSTOMER, started + timedelta(seconds=5)) for _ in range(customer_messages - 1)]
    post(Message.Role.BOT, started + timedelta(seconds=1))
    if replied_at is not None:
        for _ in range(agent_messages if agent_messages is not None else 2):
            post(Message.Role.AGENT, replied_at, author=agent)
    # What the agent did with the suggestions for each customer message in turn (at most one "ignored" each).
    for message, outcome in zip(asked, suggestions, strict=False):
        SuggestionUse.objects.create(message=message, outcome=outcome, agent=agent)
    if rating is not None:
        SatisfactionSurvey.objects.create(conversation=conversation, rating=rating, comment=comment)
    Conversation.objects.filter(pk=conversation.pk).update(last_seq=seq)
    conversation.refresh_from_db()
    return conversation


@dataclass
class Desk:
    conversations: list[Conversation]
    alice: AbstractBaseUser
    bob: AbstractBaseUser
    team: Team


@pytest.fixture
def desk(customer_carl, team_cards, agent_alice, agent_bob) -> Desk:
    conversations = [
        closed_conversation(
            customer_carl,
            started=MONDAY + timedelta(hours=9),
            closed_after=600,
            team=team_cards,
            agent=agent_alice,
            intent="card_arrival",
            handoff_after=30,
            reply_after_handoff=120,
            rating=5,
            comment="Great",
            suggestions=("used", "edited"),
            customer_messages=3,
        ),
        closed_conversation(
            customer_carl,
            started=MONDAY + timedelta(hours=14),
            closed_after=1200,
            team=team_cards,
            agent=agent_bob,
            intent="card_arrival",
            handoff_after=30,
            reply_after_handoff=300,
            rating=4,
            suggestions=("ignored", "ignored"),
        ),
        closed_conversation(
            customer_carl,
            started=MONDAY + timedelta(days=1, hours=9, minutes=30),
            closed_after=1800,
            team=team_cards,
            agent=agent_alice,
            intent="lost_card",
            handoff_after=30,
            reply_after_handoff=60,
            rating=2,
            comment="Too slow",
        ),
        closed_conversation(
            customer_carl,
            started=MONDAY + timedelta(days=3, hours=10),
            closed_after=300,
            channel=Conversation.Channel.EMAIL,
            intent="balance",
            rating=3,
        ),
        closed_conversation(
            customer_carl,
            started=MONDAY + timedelta(days=3, hours=23),
            closed_after=900,
            team=team_cards,
            intent="lost_card",
            handoff_after=60,
        ),
    ]
    conversation_facts_refresh(conversation_ids=[c.pk for c in conversations])
    assert ConversationFact.objects.count() == 5
    return Desk(conversations=conversations, alice=agent_alice, bob=agent_bob, team=team_cards)
