"""Each feedback source becomes the right review item: a redacted TrainingExample of the intent model with its
source and signal, once however often the signal repeats."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.assistant.feedback import feedback_ratings_collect, learning_loop_config
from apps.assistant.models import ModelKind, TrainingExample
from apps.assistant.policy import NO_REPLY, PERSON_REPLY, YES_REPLY
from apps.assistant.suggestion_services import message_intent_correct
from apps.conversations.models import Message
from apps.conversations.services import agent_message_post, message_annotate, message_post, survey_submit
from apps.knowledge.models import Article
from apps.recommendations.models import Interaction
from tests.assistant.conftest import hit

pytestmark = pytest.mark.django_db

Source, Signal, Status = TrainingExample.Source, TrainingExample.Signal, TrainingExample.Status
QUESTION = "Carl here, where is my new card? mail carl@example.com"
REDACTED = "[NAME] here, where is my new card? mail [EMAIL]"


def examples() -> list[tuple[str, str, str, str, str]]:
    return list(TrainingExample.objects.order_by("pk").values_list("text", "label", "source", "signal", "status"))


def test_yes_to_did_this_help_confirms_the_answered_intent_for_the_question(models, say, conversation):
    question = say(conversation, QUESTION)

    say(conversation, YES_REPLY)

    assert examples() == [(REDACTED, "card_arrival", Source.FEEDBACK, Signal.POSITIVE, Status.PENDING)]
    assert TrainingExample.objects.get().source_ref == f"message:{question.pk}"


def test_no_to_did_this_help_denies_the_answered_intent(models, say, conversation):
    say(conversation, QUESTION)

    say(conversation, NO_REPLY)

    assert examples() == [(REDACTED, "card_arrival", Source.FEEDBACK, Signal.NEGATIVE, Status.PENDING)]


def test_asking_for_a_person_right_after_an_answer_denies_it_as_a_handoff(models, say, conversation):
    say(conversation, QUESTION)

    handed = say(conversation, PERSON_REPLY)

    assert handed.decision == Message.Decision.HANDOFF
    assert examples() == [(REDACTED, "card_arrival", Source.HANDOFF, Signal.NEGATIVE, Status.PENDING)]


def test_a_handoff_with_no_answer_pending_teaches_nothing(models, say, conversation):
    say(conversation, PERSON_REPLY)

    assert examples() == []


def test_a_redelivered_analysis_records_the_feedback_once(models, say, conversation):
    say(conversation, QUESTION)
    yes = say(conversation, YES_REPLY)

    from apps.assistant.analysis import message_analyse

    assert message_analyse(message_id=yes.pk) is None  # already analysed: nothing done again
    assert TrainingExample.objects.count() == 1


SUGGESTED = [{"id": "kb:7", "source": "knowledge", "text": "New cards arrive within 5 days.", "title": "", "url": ""}]


def _asked_with_suggestions(conversation, text="my card has not arrived") -> Message:
    message = message_post(conversation=conversation, role=Message.Role.CUSTOMER, text=text).message
    return message_annotate(
        message=message, intent="card_arrival", intent_confidence=0.6, annotations={"suggestions": SUGGESTED}
    )


@pytest.mark.parametrize(
    ("reply", "suggestion", "signal"),
    [
        ("New cards arrive within 5 days.", "kb:7", Signal.POSITIVE),
        ("New cards arrive within 5 working days, Carl.", "kb:7", Signal.POSITIVE),  # edited, still used
        ("Let me check with the courier.", None, Signal.NEGATIVE),
    ],
)
def test_a_suggestion_used_or_ignored_confirms_or_denies_the_messages_intent(
    conversation, agent_alice, reply, suggestion, signal
):
    _asked_with_suggestions(conversation)

    agent_message_post(
        conversation=conversation, agent=agent_alice, text=reply, client_id=None, note=False, suggestion=suggestion
    )

    assert examples() == [("my card has not arrived", "card_arrival", Source.SUGGESTION, signal, Status.PENDING)]


def _answered(conversation, text: str, intent: str) -> Message:
    message = message_post(conversation=conversation, role=Message.Role.CUSTOMER, text=text).message
    return message_annotate(
        message=message,
        intent=intent,
        intent_confidence=0.9,
        decision=Message.Decision.ANSWER,
        annotations={"reply_backend": "extractive"},
    )


@pytest.mark.parametrize(("rating", "signal"), [(5, Signal.POSITIVE), (4, Signal.POSITIVE), (1, Signal.NEGATIVE)])
def test_a_rating_confirms_or_denies_every_answer_the_bot_gave_in_the_conversation(conversation, rating, signal):
    _answered(conversation, "where is my card", "card_arrival")
    _answered(conversation, "is my transfer pending", "pending_transfer")
    message_post(conversation=conversation, role=Message.Role.CUSTOMER, text="thanks")  # not an answered question
    survey_submit(conversation=conversation, rating=rating)

    made = feedback_ratings_collect()

    assert made == 2
    assert examples() == [
        ("where is my card", "card_arrival", Source.RATING, signal, Status.PENDING),
        ("is my transfer pending", "pending_transfer", Source.RATING, signal, Status.PENDING),
    ]


def test_a_middling_rating_says_nothing_and_each_survey_is_collected_once(conversation):
    _answered(conversation, "where is my card", "card_arrival")
    survey_submit(conversation=conversation, rating=3)

    assert feedback_ratings_collect() == 0
    survey_submit(conversation=conversation, rating=5)  # changed later: collected on the next run
    assert feedback_ratings_collect(now=timezone.now() + timedelta(seconds=1)) == 1
    assert feedback_ratings_collect(now=timezone.now() + timedelta(seconds=2)) == 0
    assert TrainingExample.objects.count() == 1


@pytest.mark.parametrize(("trusted", "status"), [(False, Status.PENDING), (True, Status.ACCEPTED)])
def test_an_agents_correction_is_accepted_on_arrival_only_when_the_settings_trust_agents(
    conversation, agent_alice, trusted, status
):
    config = learning_loop_config()
    config.accept_agent_corrections = trusted
    config.save()
    message = message_post(conversation=conversation, role=Message.Role.CUSTOMER, text=QUESTION).message

    message_intent_correct(message=message, intent="card_arrival", agent=agent_alice)

    assert examples() == [(REDACTED, "card_arrival", Source.AGENT_CORRECTION, Signal.POSITIVE, status)]


def test_denials_never_train_a_model(conversation):
    from apps.assistant.examples import labelled_examples
    from apps.assistant.services import training_example_add

    training_example_add(kind=ModelKind.INTENT, text="where is my card", label="card_arrival", source=Source.IMPORT)
    training_example_add(
        kind=ModelKind.INTENT, text="lost my card", label="card_arrival", source=Source.FEEDBACK, signal=Signal.NEGATIVE
    )

    assert [example.text for example in labelled_examples(kind=ModelKind.INTENT)] == ["where is my card"]


@pytest.mark.parametrize(("reply", "action"), [(YES_REPLY, "helpful"), (NO_REPLY, "not_helpful")])
def test_did_this_help_about_an_article_is_also_an_interaction_for_the_recommender(
    models, say, conversation, reply, action
):
    article = Article.objects.create(title="Where is my new card?", slug="where-is-my-new-card", body="Five days.")
    models.hits = [hit(article_id=article.pk)]
    say(conversation, QUESTION)

    say(conversation, reply)

    recorded = Interaction.objects.values_list("customer_id", "article_id", "action", "source", "conversation_id")
    assert list(recorded) == [(conversation.customer_id, article.pk, action, "widget", conversation.pk)]
