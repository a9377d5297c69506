"""What the desk learns from: the signals of everyday work become review items, TrainingExample rows of the
intent model, redacted (the customer's name too) and deduplicated, each with its source.

- an agent's intent correction: a positive example (suggestion_services.message_intent_correct), accepted
  without review when the learning loop's settings trust agents;
- "Did this help?": yes confirms the answered intent for the question the bot answered, no denies it;
- a suggestion used (or edited) confirms the intent of the message it was offered for, ignored denies it;
- a handoff right after a bot answer denies the answered intent;
- the conversation's rating: 4-5 confirms every intent the bot answered in it, 1-2 denies them (collected by the
  learning loop's beat job, since a survey is stored by the chat, which knows nothing of models).

A denial is a negative example: it never trains a model; it waits in the review queue for an ML admin to give
the right label (relabel) or reject it. Confirmations wait there too, unless accepted as they come."""

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from apps.assistant.ml.config import OUT_OF_SCOPE
from apps.assistant.models import LearningLoopConfig, ModelKind, SuggestionUse, TrainingExample
from apps.assistant.services import training_example_add
from apps.conversations.models import Message, SatisfactionSurvey
from apps.privacy.names import customer_names

Source, Signal, Status = TrainingExample.Source, TrainingExample.Signal, TrainingExample.Status
RATING_CONFIRMS, RATING_DENIES = 4, 2  # at or above, at or below; a 3 says nothing about the answers


def learning_loop_config() -> LearningLoopConfig:
    config, _ = LearningLoopConfig.objects.get_or_create(pk=1)
    return config


def feedback_example(
    *, question: Message, intent: str, source: str, signal: str, status: str = Status.PENDING
) -> TrainingExample | None:
    """One review item: ``question`` (a customer's message) is, or is not, ``intent``. Nothing for an empty or
    out-of-scope intent, or a message that is not a customer's."""
    if not intent or intent == OUT_OF_SCOPE or question.role != Message.Role.CUSTOMER or not question.text.strip():
        return None
    customer = question.conversation.customer
    example, _ = training_example_add(
        kind=ModelKind.INTENT,
        text=question.text,
        label=intent,
        source=source,
        source_ref=f"message:{question.pk}",
        status=status,
        signal=signal,
        names=customer_names(name=customer.name, email=customer.email),
    )
    return example


def answered_question(*, conversation_id: int, before_seq: int) -> Message | None:
    """The customer's message the bot last answered from an article before message ``before_seq``."""
    return (
        Message.objects.select_related("conversation__customer")
        .filter(
            conversation_id=conversation_id,
            role=Message.Role.CUSTOMER,
            seq__lt=before_seq,
            decision=Message.Decision.ANSWER,
            annotations__has_key="reply_backend",
        )
        .order_by("-seq")
        .first()
    )


def feedback_answer_outcome(*, message: Message, intent: str, helped: bool) -> TrainingExample | None:
    """The customer's reply ``message`` to "Did this help?" about the bot's answer for ``intent``."""
    question = answered_question(conversation_id=message.conversation_id, before_seq=message.seq)
    if question is None:
        return None
    signal = Signal.POSITIVE if helped else Signal.NEGATIVE
    return feedback_example(question=question, intent=intent, source=Source.FEEDBACK, signal=signal)


def feedback_handoff_after_answer(*, message: Message, intent: str) -> TrainingExample | None:
    """The conversation went to a person at ``message`` while the bot's answer for ``intent`` awaited feedback."""
    question = answered_question(conversation_id=message.conversation_id, before_seq=message.seq)
    if question is None:
        return None
    return feedback_example(question=question, intent=intent, source=Source.HANDOFF, signal=Signal.NEGATIVE)


def feedback_suggestion_outcome(*, use: SuggestionUse) -> TrainingExample | None:
    """An agent used (or edited) the replies suggested for a message's intent, or answered without them."""
    message = Message.objects.select_related("conversation__customer").get(pk=use.message_id)
    signal = Signal.NEGATIVE if use.outcome == SuggestionUse.Outcome.IGNORED else Signal.POSITIVE
    return feedback_example(question=message, intent=message.intent, source=Source.SUGGESTION, signal=signal)


def feedback_ratings_collect(*, now: datetime | None = None) -> int:
    """Turns the surveys rated since the last collection into review items for every question the bot answered
    in their conversations. Returns how many items were made (or found already made)."""
    config = learning_loop_config()
    now = now or timezone.now()
    surveys = SatisfactionSurvey.objects.filter(updated_at__lte=now).filter(
        Q(rating__gte=RATING_CONFIRMS) | Q(rating__lte=RATING_DENIES)
    )
    if config.ratings_collected_until is not None:
        surveys = surveys.filter(updated_at__gt=config.ratings_collected_until)
    made = 0
    for conversation_id, rating in surveys.values_list("conversation_id", "rating").iterator():
        made += _rating_examples(conversation_id, rating)
    LearningLoopConfig.objects.filter(pk=config.pk).update(ratings_collected_until=now)
    return made


def _rating_examples(conversation_id: int, rating: int) -> int:
    signal = Signal.POSITIVE if rating >= RATING_CONFIRMS else Signal.NEGATIVE
    answered = Message.objects.select_related("conversation__customer").filter(
        conversation_id=conversation_id,
        role=Message.Role.CUSTOMER,
        decision=Message.Decision.ANSWER,
        annotations__has_key="reply_backend",
    )
    made = 0
    for question in answered:
        if feedback_example(question=question, intent=question.intent, source=Source.RATING, signal=signal):
            made += 1
    return made


def agent_corrections_status() -> str:
    """The status an agent's intent correction is stored with: accepted when the settings trust agents."""
    return Status.ACCEPTED if learning_loop_config().accept_agent_corrections else Status.PENDING
