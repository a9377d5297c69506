"""Serving models in a worker process: each model is loaded once and follows its registry's ``champion``.

Every call asks the database which version is champion (one indexed query) and reloads only when it moved,
so a promotion or a rollback in the admin is picked up by every worker without a restart. A version whose
artifact is missing or corrupt is not loaded: the version loaded before keeps serving and the error is kept
for the admin and the logs.
"""

import logging

from apps.assistant.ml.intent import IntentModel, IntentPrediction
from apps.assistant.ml.satisfaction import SatisfactionModel, SatisfactionPrediction
from apps.assistant.models import ModelAlias, ModelVersion
from apps.assistant.serving import ChampionCache

logger = logging.getLogger(__name__)

INTENT_MODEL_NAME = "intent"
SENTIMENT_MODEL_NAME = "sentiment"


intent_champion = ChampionCache(INTENT_MODEL_NAME, loader=IntentModel.load)
sentiment_champion = ChampionCache(SENTIMENT_MODEL_NAME, loader=IntentModel.load)
SATISFACTION_MODEL_NAME = "satisfaction"
satisfaction_champion = ChampionCache(SATISFACTION_MODEL_NAME, loader=SatisfactionModel.load)
# The intent model's challenger reads live messages in shadow; its predictions are stored, never acted on.
intent_challenger = ChampionCache(INTENT_MODEL_NAME, loader=IntentModel.load, alias=ModelAlias.Name.CHALLENGER)
CHAMPION_CACHES = (intent_champion, sentiment_champion, satisfaction_champion, intent_challenger)


def intent_predict(texts: list[str]) -> tuple[list[IntentPrediction] | None, ModelVersion | None]:
    """Predictions of the serving intent model for ``texts`` (a batch), or (None, None) with no model."""
    served = intent_champion.current()
    if served.model is None:
        return None, None
    return served.model.predict(texts), served.version


def sentiment_probabilities(texts: list[str]) -> tuple[list[dict[str, float]] | None, ModelVersion | None]:
    """The serving sentiment model's probability of each label for each of ``texts``, or (None, None)."""
    served = sentiment_champion.current()
    if served.model is None:
        return None, None
    labels = served.model.labels
    rows = served.model.probabilities(texts).tolist()
    return [dict(zip(labels, row, strict=True)) for row in rows], served.version


def satisfaction_predict(turns: list[dict]) -> tuple[SatisfactionPrediction | None, ModelVersion | None]:
    """The serving satisfaction model's reading of a conversation after its latest turn (``turns`` oldest first,
    each {"role": "customer"|"agent"|"bot", "text"} and, when known, "seconds" since the start and "handoff";
    dialogues.conversation_turns builds them from a conversation's messages), or (None, None) with no model."""
    served = satisfaction_champion.current()
    if served.model is None:
        return None, None
    return served.model.predict_conversation(turns), served.version


def intent_shadow_predict(texts: list[str]) -> tuple[list[IntentPrediction] | None, ModelVersion | None]:
    """The intent challenger's predictions for ``texts``, or (None, None) when there is none; for the record
    only (analysis stores them beside the champion's and never acts on them)."""
    served = intent_challenger.current()
    if served.model is None:
        return None, None
    return served.model.predict(texts), served.version
