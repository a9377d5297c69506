"""What the assistant does with one customer message: annotate it with the models, then decide.

Until the answering issue brings knowledge retrieval and the dialogue policy, the only decision is a handoff
to the team that handles the predicted intent; the reason (intent, escalation, failure) is recorded on the
message for agents, and the customer never waits in silence.
"""

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.selectors import team_for_intent
from apps.assistant.inference import intent_predict, sentiment_probabilities
from apps.assistant.ml.intent import IntentPrediction
from apps.assistant.ml.sentiment import sentiment_analyse
from apps.conversations.models import Message
from apps.conversations.services import conversation_request_handoff, message_annotate


@dataclass(frozen=True)
class Decision:
    kind: str  # Message.Decision
    reason: str


def decide(prediction: IntentPrediction | None, *, escalate_reasons: tuple[str, ...]) -> Decision:
    if escalate_reasons:
        return Decision(Message.Decision.HANDOFF, f"Escalated: {', '.join(escalate_reasons)}.")
    if prediction is None:
        return Decision(Message.Decision.HANDOFF, "No intent model is serving yet.")
    if prediction.out_of_scope:
        return Decision(
            Message.Decision.HANDOFF,
            f"Out of scope (best guess {prediction.best_guess} at {prediction.confidence:.2f}).",
        )
    return Decision(
        Message.Decision.HANDOFF,
        f"Intent {prediction.intent} ({prediction.confidence:.2f}); no bot answer yet, routed to its team.",
    )


def message_analyse(*, message_id: int) -> Message | None:
    """Annotate a customer message and act on it. Idempotent: an analysed message is left alone."""
    message = Message.objects.select_related("conversation").get(pk=message_id)
    if message.role != Message.Role.CUSTOMER or "analysed_at" in (message.annotations or {}):
        return None
    predictions, version = intent_predict([message.text])
    prediction = predictions[0] if predictions else None
    learned, sentiment_version = sentiment_probabilities([message.text])
    sentiment = sentiment_analyse(message.text, learned[0] if learned else None)
    decision = decide(prediction, escalate_reasons=sentiment.reasons)
    models: dict[str, Any] = {"sentiment": sentiment.source}
    if version is not None:
        models["intent"] = version.version
    if sentiment_version is not None:
        models["sentiment_version"] = sentiment_version.version
    with transaction.atomic():
        message_annotate(
            message=message,
            intent=prediction.intent if prediction else "",
            intent_confidence=prediction.confidence if prediction else None,
            intent_top3=[[label, probability] for label, probability in prediction.top3] if prediction else [],
            sentiment=sentiment.score,
            escalate=sentiment.escalate,
            decision=decision.kind,
            decision_reason=decision.reason,
            annotations={
                "analysed_at": timezone.now().isoformat(),
                "models": models,
                "escalate_reasons": list(sentiment.reasons),
            },
        )
        if decision.kind == Message.Decision.HANDOFF:
            team = team_for_intent(prediction.best_guess) if prediction else None
            conversation_request_handoff(conversation=message.conversation, team=team)
    return message


def message_analysis_failed(*, message_id: int, error: str) -> None:
    """Inference gave up: record why and hand the conversation to a person rather than leave it waiting."""
    message = Message.objects.select_related("conversation").get(pk=message_id)
    with transaction.atomic():
        message_annotate(
            message=message,
            decision=Message.Decision.HANDOFF,
            decision_reason="The assistant failed on this message; handed to a person.",
            annotations={"analysis_error": error[:500]},
        )
        conversation_request_handoff(conversation=message.conversation)
