"""Sentiment and escalation of one customer message.

The score is VADER's compound polarity (-1..1), a lexicon model that needs no training. The escalate flag adds
what a lexicon misses in support chats: an explicit request for a person, urgency, and shouting. A learned
head on the encoder's embeddings can be blended in once labelled sentiment examples exist (the learning-loop
issue); until then the lexicon decides alone and says so in ``source``.
"""

import re
from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from apps.assistant.ml.preprocess import preprocess

NEGATIVE_ESCALATION = -0.5
_PERSON = re.compile(
    r"\b(speak|talk|chat)\w*\s+(to|with)\s+(a|an|some|the)?\s*(real\s+)?(person|human|agent|someone|somebody|manager|"
    r"representative|operator)\b|\b(real|actual)\s+(person|human)\b|\b(human|agent|person)\s+please\b",
    re.IGNORECASE,
)
_URGENT = re.compile(
    r"\b(urgent(ly)?|immediately|asap|right now|emergency|fraud(ulent)?|scam(med)?|hacked|unauthori[sz]ed)\b",
    re.IGNORECASE,
)
_analyser = SentimentIntensityAnalyzer()


@dataclass(frozen=True)
class SentimentResult:
    score: float  # -1 (very negative) .. 1 (very positive)
    escalate: bool
    reasons: tuple[str, ...]  # why escalate is set: "asked for a person", "urgent", "negative", "shouting"
    source: str = "lexicon"


def _shouting(text: str) -> bool:
    letters = [char for char in text if char.isalpha()]
    return len(letters) >= 12 and sum(char.isupper() for char in letters) / len(letters) > 0.7


def sentiment_analyse(text: str) -> SentimentResult:
    cleaned = preprocess(text)
    score = float(_analyser.polarity_scores(cleaned)["compound"])
    reasons = []
    if _PERSON.search(cleaned):
        reasons.append("asked for a person")
    if _URGENT.search(cleaned):
        reasons.append("urgent")
    if score <= NEGATIVE_ESCALATION:
        reasons.append("negative")
    if _shouting(cleaned) or cleaned.count("!") >= 3:
        reasons.append("shouting")
    return SentimentResult(score=round(score, 4), escalate=bool(reasons), reasons=tuple(reasons))
