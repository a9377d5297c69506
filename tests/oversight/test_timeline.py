"""conversation_timeline: one read-only, chronological account of a conversation, in a fixed number of queries."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.assistant.models import SuggestionUse
from apps.conversations.models import Conversation, Message, SatisfactionSurvey
from apps.conversations.services import message_post
from apps.oversight.selectors import conversation_timeline
from apps.tickets.models import SLABreach, Ticket, TicketChange

pytestmark = pytest.mark.django_db

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _utc(settings):
    settings.TIME_ZONE = "UTC"


def _at(minutes: int) -> datetime:
    return T + timedelta(minutes=minutes)


@pytest.fixture
def story(conversation, customer_carl, agent_alice, team_cards) -> Conversation:
    """Carl asks; the bot answers; Carl asks again (Alice corrects its intent); a note; Alice answers with a
    suggestion; the ticket moves and breaches its first-response target; Carl rates."""

    def post(minutes: int, role: str, text: str, author=None, **fields) -> Message:
        message = message_post(conversation=conversation, role=role, text=text, author=author).message
        Message.objects.filter(pk=message.pk).update(created_at=_at(minutes), **fields)
        return message

    post(
        0,
        Message.Role.CUSTOMER,
        "Where is my card?",
        intent="card_arrival",
        intent_confidence=0.934,
        sentiment=-0.25,
        escalate=True,
        predicted_satisfaction=2.5,
        decision=Message.Decision.ANSWER,
        decision_reason="confident intent with an article",
        annotations={"models": {"intent": 3, "satisfaction": 2}},
    )
    post(1, Message.Role.BOT, "Cards take 5 days", annotations={"decision": "answer", "in_reply_to": 1})
    second = post(
        2,
        Message.Role.CUSTOMER,
        "It was stolen",
        intent="card_arrival",
        intent_confidence=0.41,
        decision=Message.Decision.HANDOFF,
        decision_reason="low confidence",
        annotations={
            "corrected_intent": {
                "intent": "lost_card",
                "by": agent_alice.pk,
                "by_name": "alice",
                "at": _at(4).isoformat(),
            }
        },
    )
    post(3, Message.Role.NOTE, "Check the courier", author=agent_alice)
    post(5, Message.Role.AGENT, "Blocking it now", author=agent_alice)
    use = SuggestionUse.objects.create(message=second, outcome=SuggestionUse.Outcome.EDITED, agent=agent_alice)
    SuggestionUse.objects.filter(pk=use.pk).update(created_at=_at(5))
    ticket = Ticket.objects.create(customer=customer_carl, subject="Stolen card", team=team_cards)
    change = TicketChange.objects.create(
        ticket=ticket, field="status", old_value="new", new_value="open", actor=agent_alice
    )
    TicketChange.objects.filter(pk=change.pk).update(created_at=_at(6))
    breach = SLABreach.objects.create(ticket=ticket, kind=SLABreach.Kind.FIRST_RESPONSE, due_at=_at(4))
    SLABreach.objects.filter(pk=breach.pk).update(detected_at=_at(7))
    survey = SatisfactionSurvey.objects.create(conversation=conversation, rating=2, comment="Too slow")
    SatisfactionSurvey.objects.filter(pk=survey.pk).update(updated_at=_at(30))
    Conversation.objects.filter(pk=conversation.pk).update(ticket=ticket)
    conversation.refresh_from_db()
    return conversation


def test_the_timeline_tells_the_whole_story_in_order(story, django_assert_num_queries):
    # Messages (with authors), suggestion outcomes, ticket changes (with actors), breaches, the survey.
    with django_assert_num_queries(5):
        timeline = conversation_timeline(conversation=story)

    assert [(e.at, e.kind, e.label, e.actor, e.text, e.facts) for e in timeline] == [
        (
            _at(0),
            "message",
            "Customer",
            "",
            "Where is my card?",
            (
                ("Intent", "card_arrival (0.93)"),
                ("Sentiment", "-0.25"),
                ("Escalate", "yes"),
                ("Predicted satisfaction", "2.50"),
                ("Models", "intent 3, satisfaction 2"),
            ),
        ),
        (
            _at(1),
            "message",
            "Bot",
            "",
            "Cards take 5 days",
            (("Policy decision", "Answered"), ("Reason", "confident intent with an article")),
        ),
        (
            _at(2),
            "message",
            "Customer",
            "",
            "It was stolen",
            (("Intent", "card_arrival (0.41)"), ("Policy decision", "Handed over"), ("Reason", "low confidence")),
        ),
        (_at(3), "message", "Private note", "alice", "Check the courier", ()),
        (
            _at(4),
            "intent_correction",
            "Intent corrected",
            "alice",
            "",
            (("Message", "#3"), ("Model said", "card_arrival"), ("Agent said", "lost_card")),
        ),
        (_at(5), "message", "Agent", "alice", "Blocking it now", ()),
        (
            _at(5),
            "suggestion",
            "Suggested reply",
            "alice",
            "",
            (("For message", "#3"), ("Outcome", "Edited, then sent")),
        ),
        (_at(6), "ticket_change", "Ticket status", "alice", "", (("From", "new"), ("To", "open"))),
        (
            _at(7),
            "sla_breach",
            "SLA breach: First response",
            "",
            "",
            (("Due", "2026-03-02 09:04"), ("Escalated", "no")),
        ),
        (_at(30), "survey", "Survey", "", "Too slow", (("Rating", "2/5"),)),
    ]
    assert [e.is_note for e in timeline].count(True) == 1
    assert timeline[3].is_note


def test_a_conversation_without_a_ticket_costs_three_queries(conversation, django_assert_num_queries):
    message_post(conversation=conversation, role=Message.Role.CUSTOMER, text="Hi")

    with django_assert_num_queries(3):  # messages, suggestion outcomes, survey
        timeline = conversation_timeline(conversation=conversation)

    assert [(e.kind, e.text) for e in timeline] == [("message", "Hi")]
