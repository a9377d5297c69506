"""A handled conversation to review: Alice (Cards) answered Carl; Bob, another agent, reads along."""

import json

import pytest

from apps.conversations.models import Conversation, Message
from apps.conversations.services import message_post
from apps.oversight.models import ReviewCriterion

FACT_REFRESH_TASK = "apps.reports.tasks.refresh_conversation_fact"


@pytest.fixture
def rubric(db) -> list[ReviewCriterion]:
    """The default rubric of the data migration: Greeting, Accuracy, Tone, Resolution."""
    return list(ReviewCriterion.objects.filter(is_active=True).order_by("position"))


@pytest.fixture
def handled(conversation, agent_alice, team_cards) -> Conversation:
    message_post(conversation=conversation, role=Message.Role.CUSTOMER, text="My card has not arrived")
    message_post(conversation=conversation, role=Message.Role.AGENT, text="Sending a new one", author=agent_alice)
    Conversation.objects.filter(pk=conversation.pk).update(assignee=agent_alice, team=team_cards)
    conversation.refresh_from_db()
    return conversation


@pytest.fixture
def enqueued(monkeypatch):
    """Tasks the review services queue by name, after a JSON round trip like a broker's."""
    sent: list[tuple] = []

    def record(name, *args):
        sent.append((name, *json.loads(json.dumps(args))))

    monkeypatch.setattr("apps.oversight.services.task_enqueue_by_name", record)
    return sent


def all_scores(rubric: list[ReviewCriterion], *values: int) -> dict[int, int]:
    return {criterion.pk: value for criterion, value in zip(rubric, values, strict=True)}
