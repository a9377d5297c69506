"""The bot that answers: the policy's decisions carried out in the chat, from a stored customer message to the
bot's reply (or the handoff), with the reasons recorded for agents."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.accounts.models import AgentProfile, Team
from apps.assistant import analysis
from apps.assistant.models import PolicyConfig
from apps.assistant.policy import NO_REPLY, YES_REPLY
from apps.conversations.models import Conversation, Message
from apps.conversations.services import conversation_assign
from tests.assistant.conftest import CARD_TEXT, hit, prediction

pytestmark = pytest.mark.django_db


def alice_online(team: Team) -> None:
    alice, _ = get_user_model().objects.get_or_create(username="alice", defaults={"is_staff": True})
    profile, _ = AgentProfile.objects.get_or_create(user=alice)
    profile.teams.add(team)
    AgentProfile.objects.filter(pk=profile.pk).update(presence="online")


def replies_after(message: Message) -> list[Message]:
    return list(message.conversation.messages.filter(seq__gt=message.seq).order_by("seq"))


def test_a_confident_question_gets_the_articles_answer_with_its_link_and_did_this_help(models, say, conversation):
    message = say(conversation, "where is my new card?")

    [reply] = replies_after(message)
    conversation.refresh_from_db()
    assert reply.role == Message.Role.BOT
    assert reply.text.startswith("New cards arrive within 5 working days of your order.")
    assert reply.text.endswith("\n\nDid this help?")
    assert reply.annotations["quick_replies"] == [YES_REPLY, NO_REPLY]
    assert reply.annotations["article"] == {"title": "Where is my new card?", "url": "/help/where-is-my-new-card/"}
    assert reply.annotations["in_reply_to"] == message.seq
    assert message.decision == Message.Decision.ANSWER
    assert message.decision_reason == "Intent card_arrival (0.91); answered from “Where is my new card?” (0.72)."
    assert message.annotations["reply_backend"] == "extractive"
    assert conversation.state == Conversation.State.BOT
    assert conversation.bot_state["pending"] == "feedback"


def test_no_after_an_answer_hands_over_to_the_intents_team_with_what_the_customer_said(models, say, conversation):
    cards = Team.objects.create(name="Cards", slug="cards", intents=["card_arrival"])
    say(conversation, "my card ending 4821 has not arrived")

    message = say(conversation, NO_REPLY)

    conversation.refresh_from_db()
    [line] = replies_after(message)
    assert conversation.state == Conversation.State.WAITING
    assert conversation.team == cards
    assert line.role == Message.Role.SYSTEM
    assert line.text.startswith("I'm passing you to our Cards team. I've noted your card ending 4821.")
    assert message.decision == Message.Decision.HANDOFF
    assert message.decision_reason == "The answer for card_arrival did not help (the customer said no)."


def test_yes_after_an_answer_closes_the_topic_and_stays_with_the_bot(models, say, conversation):
    say(conversation, "where is my card")

    message = say(conversation, YES_REPLY)

    [reply] = replies_after(message)
    conversation.refresh_from_db()
    assert reply.text == "Glad that helped! Is there anything else I can do for you?"
    assert reply.annotations["quick_replies"] == []
    assert conversation.state == Conversation.State.BOT


def test_close_intents_get_a_question_and_the_chosen_option_gets_its_answer(models, say, conversation):
    models.predictions = [prediction(("card_arrival", 0.46), ("card_delivery_estimate", 0.41))]
    question = say(conversation, "card?")
    [ask] = replies_after(question)

    models.predictions = [prediction(("top_up_failed", 0.3), ("card_arrival", 0.2))]
    choice = say(conversation, ask.annotations["quick_replies"][0])

    assert ask.text == "Just to be sure: is this about card arrival or card delivery estimate?"
    assert ask.annotations["quick_replies"] == ["Card arrival", "Card delivery estimate", "Something else"]
    assert question.decision == Message.Decision.CLARIFY
    [answer] = replies_after(choice)
    assert choice.decision == Message.Decision.ANSWER
    assert answer.text.startswith("New cards arrive")


def test_a_short_follow_up_is_read_with_the_previous_question(models, say, conversation):
    say(conversation, "where is my new card")
    models.predictions = [
        prediction(("oos", 0.3), out_of_scope=True),  # "and how long?" alone
        prediction(("card_arrival", 0.88), ("card_delivery_estimate", 0.05)),  # with the previous question
    ]

    message = say(conversation, "and how long?")

    assert models.texts_seen[-1] == ["and how long?", "where is my new card and how long?"]
    assert message.intent == "card_arrival"
    assert message.annotations["follow_up"] is True
    assert "follow-up of the previous message" in message.decision_reason


def test_the_policy_settings_come_from_the_admins_row(models, say, conversation):
    PolicyConfig.objects.create(answer_confidence=0.95)

    message = say(conversation, "where is my new card?")

    assert message.decision == Message.Decision.CLARIFY
    assert message.decision_reason == "Unsure: card_arrival at 0.91, below the answer threshold."


def test_a_conversation_already_with_an_agent_is_annotated_and_the_bot_stays_quiet(
    models, say, conversation, agent_alice
):
    conversation_assign(conversation=conversation, agent=agent_alice)
    conversation.refresh_from_db()

    message = say(conversation, "where is my new card?")

    assert message.intent == "card_arrival"
    assert message.decision == ""
    assert replies_after(message) == []


def test_an_agent_taking_over_while_the_models_read_silences_the_bot(
    models, say, conversation, agent_alice, monkeypatch
):
    def agent_takes_over(text, **kwargs):
        conversation_assign(conversation=conversation, agent=agent_alice)
        return [hit()]

    monkeypatch.setattr(analysis, "passages_search", agent_takes_over)

    message = say(conversation, "where is my new card?")

    assert message.intent == "card_arrival"
    assert message.decision == ""
    assert [m.role for m in replies_after(message)] == [Message.Role.SYSTEM]  # only the "joined" line


def test_a_handoff_goes_to_the_least_loaded_online_agent_of_the_team_with_the_expected_wait(
    models, say, conversation, agent_alice, team_cards, django_user_model
):
    cards = team_cards
    bob = django_user_model.objects.create_user("bob", is_staff=True)
    for user, load in ((agent_alice, 2), (bob, 0)):
        profile, _ = AgentProfile.objects.get_or_create(user=user)
        profile.teams.add(cards)
        AgentProfile.objects.filter(pk=profile.pk).update(presence="online")
        for _ in range(load):
            Conversation.objects.create(customer=conversation.customer, state="agent", assignee=user, team=cards)
    models.hits = []

    message = say(conversation, "where is my new card?")

    conversation.refresh_from_db()
    [line] = replies_after(message)
    assert conversation.assignee == bob
    assert conversation.team == cards
    assert line.text == "I'm passing you to our Cards team. Thanks, an agent will be with you shortly."


def test_the_handoff_line_gives_the_teams_median_wait(models, say, conversation):
    cards = Team.objects.create(name="Cards", slug="cards", intents=["card_arrival"], is_default=True)
    alice_online(cards)
    now = timezone.now()
    for minutes in (2, 3, 10):
        Conversation.objects.create(
            customer=conversation.customer,
            team=cards,
            state="closed",
            handoff_requested_at=now - timedelta(hours=1),
            first_agent_response_at=now - timedelta(hours=1) + timedelta(minutes=minutes),
        )
    models.hits = []

    message = say(conversation, "where is my new card?")

    [line] = replies_after(message)
    assert line.text == (
        "I'm passing you to our Cards team. Thanks, an agent will be with you shortly. Expected wait: about 3 minutes."
    )


def test_a_team_with_nobody_online_gives_way_to_the_default_team(models, say, conversation):
    Team.objects.create(name="Cards", slug="cards", intents=["card_arrival"])
    general = Team.objects.create(name="General", slug="general", is_default=True)
    alice_online(general)
    models.hits = []

    say(conversation, "where is my new card?")

    conversation.refresh_from_db()
    assert conversation.team == general
    assert conversation.assignee.username == "alice"


SUGGESTION = {
    "id": "kb:10",
    "source": "knowledge",
    "text": CARD_TEXT,
    "title": "Where is my new card?",
    "url": "/help/where-is-my-new-card/",
    "score": 0.72,
}


def test_a_handed_over_message_carries_suggested_replies_for_the_agent(models, say, conversation, monkeypatch):
    seen = []
    monkeypatch.setattr(analysis, "suggestions_for", lambda message: seen.append(message.intent) or [SUGGESTION])
    models.hits = []

    message = say(conversation, "where is my new card?")

    assert message.decision == Message.Decision.HANDOFF
    assert message.annotations["suggestions"] == [SUGGESTION]
    assert seen == ["card_arrival"]  # asked once the intent was stored


def test_a_message_to_an_agent_gets_suggestions_and_a_bot_answer_gets_none(
    models, say, conversation, agent_alice, monkeypatch
):
    monkeypatch.setattr(analysis, "suggestions_for", lambda message: [SUGGESTION])
    answered = say(conversation, "where is my new card?")
    conversation_assign(conversation=conversation, agent=agent_alice)
    conversation.refresh_from_db()

    to_agent = say(conversation, "still nothing")

    assert "suggestions" not in answered.annotations
    assert to_agent.annotations["suggestions"] == [SUGGESTION]


def test_a_failing_suggester_leaves_the_handoff_and_its_annotations_alone(models, say, conversation, monkeypatch):
    def broken(message):
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(analysis, "suggestions_for", broken)
    models.hits = []

    message = say(conversation, "where is my new card?")

    conversation.refresh_from_db()
    assert message.decision == Message.Decision.HANDOFF
    assert "suggestions" not in message.annotations
    assert conversation.state == Conversation.State.WAITING


def test_a_passage_that_is_a_bare_list_is_answered_under_its_heading(models, say, conversation):
    models.hits = [hit(text="- Check the delivery address.\n- Ask at the post office.")]

    message = say(conversation, "where is my new card?")

    [reply] = replies_after(message)
    assert reply.text.startswith("Delivery times\n")
    assert "Check the delivery address." in reply.text


def test_each_message_updates_the_predicted_satisfaction_and_its_trend(models, say, conversation):
    models.satisfaction = SimpleNamespace(score=4.2)
    say(conversation, "where is my new card?")
    models.satisfaction = SimpleNamespace(score=3.1)

    message = say(conversation, "it still has not come")

    conversation.refresh_from_db()
    assert conversation.predicted_satisfaction == 3.1
    assert conversation.satisfaction_history == [4.2, 3.1]
    assert conversation.at_risk is False
    assert [turn["role"] for turn in models.turns_seen[-1]] == ["customer", "bot", "customer"]
    assert models.turns_seen[-1][-1]["text"] == message.text


def test_a_prediction_at_the_at_risk_threshold_marks_the_conversation_and_hands_it_over(models, say, conversation):
    models.satisfaction = SimpleNamespace(score=2.3)

    message = say(conversation, "where is my new card?")

    conversation.refresh_from_db()
    assert conversation.at_risk is True
    assert conversation.state == Conversation.State.WAITING
    assert message.decision_reason == "At risk: predicted satisfaction 2.3 of 5."
