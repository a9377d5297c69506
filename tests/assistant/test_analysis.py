"""The customer-message hook: annotate with the models, then hand over with a recorded reason."""

import uuid

import pytest

from apps.accounts.models import Team
from apps.assistant import analysis, tasks
from apps.assistant.analysis import message_analyse
from apps.assistant.ml.intent import IntentPrediction
from apps.conversations.models import Conversation, Message
from apps.conversations.services import customer_message_post, message_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def hooked(settings, django_capture_on_commit_callbacks):
    """Customer messages go to the assistant's task, run (eagerly) when their transaction commits."""
    settings.HELPDESK_MESSAGE_HOOK_TASK = "apps.assistant.tasks.analyse_message"

    def post(conversation, text):
        with django_capture_on_commit_callbacks(execute=True):
            return customer_message_post(conversation=conversation, text=text, client_id=uuid.uuid4()).message

    return post


def test_a_customer_message_is_annotated_and_handed_over_with_its_reason(hooked, conversation):
    message = hooked(conversation, "I want to speak to a real person, this is urgent")

    message.refresh_from_db()
    conversation.refresh_from_db()
    assert message.escalate is True
    assert message.decision == Message.Decision.HANDOFF
    assert message.decision_reason == "Escalated: asked for a person, urgent."
    assert message.annotations["escalate_reasons"] == ["asked for a person", "urgent"]
    assert message.annotations["models"] == {"sentiment": "lexicon"}
    assert conversation.state == Conversation.State.WAITING


def test_with_no_intent_model_serving_the_message_still_reaches_a_person(hooked, conversation):
    message = hooked(conversation, "Where is my card?")

    message.refresh_from_db()
    conversation.refresh_from_db()
    assert message.intent == ""
    assert message.decision_reason == "No intent model is serving yet."
    assert conversation.state == Conversation.State.WAITING
    assert conversation.messages.filter(role=Message.Role.SYSTEM).count() == 1


def test_analysing_twice_changes_nothing(hooked, conversation):
    message = hooked(conversation, "Where is my card?")
    message.refresh_from_db()
    analysed_at = message.annotations["analysed_at"]

    assert message_analyse(message_id=message.pk) is None

    message.refresh_from_db()
    assert message.annotations["analysed_at"] == analysed_at
    assert conversation.messages.count() == 2


def test_only_customer_messages_are_analysed(conversation):
    bot = message_post(conversation=conversation, role="bot", text="Hello!").message

    assert message_analyse(message_id=bot.pk) is None
    bot.refresh_from_db()
    assert bot.annotations == {}


def test_a_failing_analysis_is_retried_then_hands_over_with_the_failure_recorded(hooked, conversation, monkeypatch):
    calls = []

    def broken(*, message_id):
        calls.append(message_id)
        raise RuntimeError("model exploded")

    monkeypatch.setattr(tasks, "message_analyse", broken)

    message = hooked(conversation, "Where is my card?")

    message.refresh_from_db()
    conversation.refresh_from_db()
    assert len(calls) == tasks.ANALYSE_RETRIES + 1
    assert message.annotations["analysis_error"] == "RuntimeError: model exploded"
    assert message.decision == Message.Decision.HANDOFF
    assert conversation.state == Conversation.State.WAITING


def test_the_handoff_goes_to_the_team_of_the_intent(hooked, conversation, monkeypatch):
    payments = Team.objects.create(name="Payments", slug="payments", intents=["pending_transfer"])
    Team.objects.create(name="General", slug="general", is_default=True)
    prediction = IntentPrediction("pending_transfer", 0.93, [("pending_transfer", 0.93)], False, "pending_transfer")
    monkeypatch.setattr(analysis, "intent_predict", lambda texts: ([prediction], None))

    message = hooked(conversation, "my transfer is still pending")

    message.refresh_from_db()
    conversation.refresh_from_db()
    assert (message.intent, message.intent_confidence) == ("pending_transfer", 0.93)
    assert message.intent_top3 == [["pending_transfer", 0.93]]
    assert conversation.team == payments
