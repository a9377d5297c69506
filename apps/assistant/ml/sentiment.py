"""Sentiment and escalation of one customer message.

The score is VADER's compound polarity (-1..1), a lexicon model that needs no training, averaged with the
learned sentiment model (a classifier of negative / neutral / positive on the encoder, trained from labelled
examples: ``import_intents --kind sentiment``, ``train sentiment``) when one is serving: P(positive) -
P(negative) on the same scale. The lexicon knows words; the learned head knows this business's customers
("still no card" has no negative word). ``source`` says which were used. The escalate flag adds what both miss:
an explicit request for a person, urgency, and shouting.
"""

import re
from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from apps.assistant.ml.preprocess import preprocess

NEGATIVE_ESCALATION = -0.5
_PERSON = re.compile(
    r"\b(speak|talk|chat)\w*\s+(to|with)\s+(a|an|some|the)?\s*(real\s+)?(person|human|agent|someone|somebody|manager|"
    r"representative|operator)\b|\b(real|actual|live)\s+(person|human|agent)\b|\b(human|agent|person)\s+please\b|"
    r"\b(want|need|get\s+me|give\s+me|connect\s+me\s+(to|with))\s+(a|an|some|the)?\s*(human|person|agent|"
    r"representative|operator|manager)\b",
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
    source: str = "lexicon"  # or "lexicon+learned"
    lexicon_score: float | None = None


def _shouting(text: str) -> bool:
    letters = [char for char in text if char.isalpha()]
    return len(letters) >= 12 and sum(char.isupper() for char in letters) / len(letters) > 0.7


def sentiment_analyse(text: str, learned: dict[str, float] | None = None) -> SentimentResult:
    """``learned``: the learned model's probabilities of negative / neutral / positive for ``text``, if any."""
    cleaned = preprocess(text)
    lexicon = float(_analyser.polarity_scores(cleaned)["compound"])
    score = lexicon
    if learned is not None:
        score = (lexicon + learned.get("positive", 0.0) - learned.get("negative", 0.0)) / 2
    reasons = []
    if _PERSON.search(cleaned):
        reasons.append("asked for a person")
    if _URGENT.search(cleaned):
        reasons.append("urgent")
    if score <= NEGATIVE_ESCALATION:
        reasons.append("negative")
    if _shouting(cleaned) or cleaned.count("!") >= 3:
        reasons.append("shouting")
    return SentimentResult(
        score=round(score, 4),
        escalate=bool(reasons),
        reasons=tuple(reasons),
        source="lexicon" if learned is None else "lexicon+learned",
        lexicon_score=round(lexicon, 4),
    )
