"""What the assistant does with one customer message: annotate it with the models, decide with the dialogue
policy (apps/assistant/policy.py), and carry the decision out: the bot's answer or question in the chat, or
the conversation handed to the right team's queue. Every decision is recorded on the message with its reason,
for agents; the customer never waits in silence.
"""

import contextlib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.selectors import team_for_intent
from apps.assistant.dialogues import conversation_turns
from apps.assistant.feedback import feedback_answer_outcome, feedback_handoff_after_answer
from apps.assistant.generation import GeneratedReply, GroundingPassage, reply_generate
from apps.assistant.inference import (
    intent_predict,
    intent_shadow_predict,
    satisfaction_predict,
    sentiment_probabilities,
)
from apps.assistant.ml.intent import IntentPrediction
from apps.assistant.ml.sentiment import SentimentResult, sentiment_analyse
from apps.assistant.policy import (
    ANSWER,
    HANDOFF,
    HELPED,
    Action,
    BotState,
    Guess,
    Hit,
    PolicySettings,
    Turn,
    decide,
    details_summary,
)
from apps.assistant.retrieval import passages_search
from apps.assistant.selectors import policy_config
from apps.assistant.suggestions import suggestions_for
from apps.conversations.models import Conversation, Message
from apps.conversations.services import (
    bot_message_post,
    conversation_bot_state_save,
    conversation_request_handoff,
    conversation_satisfaction_record,
    message_annotate,
    message_annotations_merge,
)
from apps.recommendations.models import Interaction
from apps.recommendations.services import interaction_record

logger = logging.getLogger(__name__)

RETRIEVED_PASSAGES = 5
HISTORY_TURNS = 6
FEEDBACK_QUESTION = "Did this help?"


@dataclass(frozen=True)
class Reading:
    """What the models made of one message."""

    guess: Guess | None
    prediction: IntentPrediction | None
    sentiment: SentimentResult
    models: dict[str, Any]
    satisfaction: float | None = None  # the satisfaction model's 1-5 after this message


def message_analyse(*, message_id: int) -> Message | None:
    """Annotate a customer message and act on it. Idempotent: an analysed message is left alone. A message
    of a conversation already with the agents is annotated for them and nothing more."""
    message = Message.objects.select_related("conversation").get(pk=message_id)
    if message.role != Message.Role.CUSTOMER or "analysed_at" in (message.annotations or {}):
        return None
    conversation = message.conversation
    state = BotState.from_json(conversation.bot_state)
    config = policy_config()
    settings = config.as_settings()
    reading = _read(message, state, settings)
    if reading.satisfaction is not None:
        conversation_satisfaction_record(
            conversation=conversation, score=reading.satisfaction, at_risk_below=settings.at_risk_satisfaction
        )
    if conversation.state != Conversation.State.BOT:
        _annotate(message, reading, action=None)
        _suggest(message)
        return message
    hits = _retrieve(message, reading.guess)
    # The answer still waiting for "Did this help?" before this message (decide updates the state in place).
    answered_intent = state.last_answered_intent if state.pending == "feedback" else ""
    answered_article = state.answered_article if state.pending == "feedback" else None
    action, state = decide(
        Turn(
            text=message.text,
            guess=reading.guess,
            sentiment=reading.sentiment.score,
            escalate_reasons=reading.sentiment.reasons,
            hits=hits,
            predicted_satisfaction=reading.satisfaction,
        ),
        state,
        settings,
    )
    reply = (
        _reply(message, action, config.backend_for(action.intent)) if action.decision == ANSWER and action.hit else None
    )
    answered = (answered_intent, answered_article)
    if _carry_out(message, reading, action, state, reply, answered) and action.decision == HANDOFF:
        _suggest(message)
    return message


def _suggest(message: Message) -> None:
    """Suggested replies for the agents, once the message is annotated (its intent steers the search). They
    are a help, not the answer: a failure is logged and the message keeps its annotations."""
    message.refresh_from_db()
    try:
        suggestions = suggestions_for(message=message)
    except Exception:
        logger.exception("suggestions for message %s failed", message.pk)
        return
    if suggestions:
        message_annotations_merge(message=message, annotations={"suggestions": suggestions})


def _read(message: Message, state: BotState, settings: PolicySettings) -> Reading:
    texts = [message.text]
    previous = _previous_customer_text(message) if state.last_intent else ""
    if previous:
        # A short follow-up ("and how long does that take?") may only make sense with the question before it.
        texts.append(f"{previous} {message.text}")
    predictions, version = intent_predict(texts)
    learned, sentiment_version = sentiment_probabilities([message.text])
    sentiment = sentiment_analyse(message.text, learned[0] if learned else None)
    models: dict[str, Any] = {"sentiment": sentiment.source}
    if version is not None:
        models["intent"] = version.version
    if sentiment_version is not None:
        models["sentiment_version"] = sentiment_version.version
    satisfaction, satisfaction_version = satisfaction_predict(
        conversation_turns(conversation_id=message.conversation_id, up_to_seq=message.seq)
    )
    score = satisfaction.score if satisfaction is not None else None
    if satisfaction_version is not None:
        models["satisfaction"] = satisfaction_version.version
    shadow = _shadow_read(message.text)
    if shadow:
        models["shadow"] = shadow
    if not predictions:
        return Reading(None, None, sentiment, models, score)
    prediction = predictions[0]
    guess = _guess(prediction)
    if len(predictions) > 1 and not _confident(prediction, settings) and _confident(predictions[1], settings):
        prediction, guess = predictions[1], _guess(predictions[1], follow_up=True)
    return Reading(guess, prediction, sentiment, models, score)


def _shadow_read(text: str) -> dict[str, Any]:
    """The intent challenger's reading of the message, kept for the learning loop's gate and never acted on; a
    challenger that fails costs the customer nothing."""
    try:
        predictions, version = intent_shadow_predict([text])
    except Exception:
        logger.exception("the intent challenger failed on a message; the champion's reading stands")
        return {}
    if not predictions or version is None:
        return {}
    shadow = predictions[0]
    return {
        "version": version.version,
        "version_id": version.pk,
        "intent": shadow.intent,
        "confidence": shadow.confidence,
    }


def _confident(prediction: IntentPrediction, settings: PolicySettings) -> bool:
    return not prediction.out_of_scope and prediction.confidence >= settings.answer_confidence


def _guess(prediction: IntentPrediction, *, follow_up: bool = False) -> Guess:
    return Guess(
        intent=prediction.intent,
        confidence=prediction.confidence,
        top=[(label, probability) for label, probability in prediction.top3],
        out_of_scope=prediction.out_of_scope,
        follow_up=follow_up,
    )


def _previous_customer_text(message: Message) -> str:
    previous = (
        Message.objects.filter(conversation_id=message.conversation_id, role=Message.Role.CUSTOMER, seq__lt=message.seq)
        .order_by("-seq")
        .values_list("text", flat=True)
        .first()
    )
    return previous or ""


def _retrieve(message: Message, guess: Guess | None) -> tuple[Hit, ...]:
    if guess is None:
        return ()
    intents = [label for label, _ in guess.top[:1]]
    hits = passages_search(message.text, k=RETRIEVED_PASSAGES, intents=intents)
    return tuple(
        Hit(
            article_id=hit.article_id,
            article_title=hit.article_title,
            article_url=hit.article_url,
            text=hit.text,
            score=hit.score,
            article_intents=tuple(hit.article_intents),
            heading=hit.heading,
        )
        for hit in hits
    )


def _reply(message: Message, action: Action, backend: str) -> GeneratedReply:
    history = list(
        Message.objects.filter(
            conversation_id=message.conversation_id,
            role__in=(Message.Role.CUSTOMER, Message.Role.BOT, Message.Role.AGENT),
            seq__lt=message.seq,
        )
        .order_by("-seq")
        .values_list("role", "text")[:HISTORY_TURNS]
    )[::-1]
    hit = action.hit
    text = hit.text
    if hit.heading and re.match(r"\s*([-*+]|\d+[.)])\s", text):
        text = f"{hit.heading}\n\n{text}"  # a bare list reads as an answer only under its heading
    passage = GroundingPassage(title=hit.article_title, url=hit.article_url, text=text)
    return reply_generate(backend=backend, question=message.text, passages=[passage], history=history)


def _annotate(message: Message, reading: Reading, action: Action | None, extra: dict | None = None) -> None:
    prediction = reading.prediction
    message_annotate(
        message=message,
        intent=prediction.intent if prediction else "",
        intent_confidence=prediction.confidence if prediction else None,
        intent_top3=[[label, probability] for label, probability in prediction.top3] if prediction else [],
        sentiment=reading.sentiment.score,
        escalate=reading.sentiment.escalate,
        decision=action.decision if action else "",
        decision_reason=action.reason if action else "",
        annotations={
            "analysed_at": timezone.now().isoformat(),
            "models": reading.models,
            "escalate_reasons": list(reading.sentiment.reasons),
            **({"follow_up": True} if reading.guess and reading.guess.follow_up else {}),
            **(extra or {}),
        },
    )


def _carry_out(
    message: Message,
    reading: Reading,
    action: Action,
    state: BotState,
    reply: GeneratedReply | None,
    answered: tuple[str, int | None] = ("", None),
) -> bool:
    """Store the decision, the reply or handoff, the bot's memory and what the customer's reaction teaches
    (``answered``: the intent and article of the bot's answer awaiting feedback before this message), once per
    message; False when another run of this message's task got there first (nothing is written then)."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=message.conversation_id)
        # Exactly once, checked under the conversation's lock: every run that carries a decision out holds it and
        # stamps analysed_at in the same commit. A redelivered task (worker killed before its ack, the broker's
        # visibility timeout, the sweep of unanalysed messages) may have read the message before another run
        # committed, so the stamp is read again here. Preferred to a client_id derived from the message for the
        # bot's reply: the reply is one of several effects (annotations, bot memory, a handoff with no reply at
        # all) that must happen together or not at all, and this one check covers them all.
        message.refresh_from_db(fields=["annotations"])
        if "analysed_at" in (message.annotations or {}):
            return False
        if conversation.state != Conversation.State.BOT:
            # An agent took over (or the customer asked for one) while the models were reading: theirs now.
            _annotate(message, reading, action=None)
            return True
        extra = {"reply_backend": reply.backend, "reply_fallback": reply.fallback_reason} if reply else {}
        _annotate(message, reading, action, extra)
        if action.decision == HANDOFF:
            team = team_for_intent(action.team_intent)
            conversation_request_handoff(conversation=conversation, team=team, reason=_handoff_line(team, state))
        else:
            text, article = action.reply, None
            if reply is not None:
                text = f"{reply.text}\n\n{FEEDBACK_QUESTION}"
                article = {"title": action.hit.article_title, "url": action.hit.article_url}
            bot_message_post(
                conversation=conversation,
                text=text,
                quick_replies=action.quick_replies,
                article=article,
                annotations={"decision": action.decision, "in_reply_to": message.seq},
            )
        conversation_bot_state_save(conversation=conversation, bot_state=state.to_json())
        _feedback_record(message, action, answered)
    return True


def _feedback_record(message: Message, action: Action, answered: tuple[str, int | None]) -> None:
    answered_intent, answered_article = answered
    if action.feedback:
        helped = action.feedback == HELPED
        feedback_answer_outcome(message=message, intent=action.intent, helped=helped)
        if answered_article is not None:
            # "Did this help?" about an article is also what the recommender learns from.
            with contextlib.suppress(ValidationError):  # the article was deleted since
                interaction_record(
                    customer=message.conversation.customer,
                    item=f"article:{answered_article}",
                    action=Interaction.Action.HELPFUL if helped else Interaction.Action.NOT_HELPFUL,
                    source=Interaction.Source.WIDGET,
                    conversation=message.conversation,
                )
    elif answered_intent and action.decision == HANDOFF:
        feedback_handoff_after_answer(message=message, intent=answered_intent)


def _handoff_line(team, state: BotState) -> str:
    where = f"I'm passing you to our {team.name} team." if team is not None else ""
    noted = f" I've noted your {details_summary(state.details)}." if state.details else ""
    return f"{where}{noted}".strip()


def message_analysis_failed(*, message_id: int, error: str) -> None:
    """Inference gave up: record why and hand the conversation to a person rather than leave it waiting. Once
    per message: nothing happens when another run analysed it or already recorded its failure."""
    message = Message.objects.select_related("conversation").get(pk=message_id)
    with transaction.atomic():
        Conversation.objects.select_for_update().get(pk=message.conversation_id)  # the lock _carry_out takes
        message.refresh_from_db(fields=["annotations"])
        if {"analysed_at", "analysis_error"} & (message.annotations or {}).keys():
            return
        message_annotate(
            message=message,
            decision=Message.Decision.HANDOFF,
            decision_reason="The assistant failed on this message; handed to a person.",
            annotations={"analysis_error": error[:500]},
        )
        conversation_request_handoff(conversation=message.conversation)


def message_ids_unanalysed(*, older_than: timedelta, within: timedelta, limit: int) -> list[int]:
    """Customer messages stored between ``within`` and ``older_than`` ago that no run has analysed and whose
    analysis has not failed for good, oldest first: the ones whose task the broker lost."""
    now = timezone.now()
    unanalysed = (
        Message.objects.filter(
            role=Message.Role.CUSTOMER, created_at__gte=now - within, created_at__lte=now - older_than
        )
        .exclude(annotations__has_key="analysed_at")
        .exclude(annotations__has_key="analysis_error")
        .order_by("created_at")
    )
    return list(unanalysed.values_list("pk", flat=True)[:limit])
