"""The satisfaction model's inputs, x: embeddings of a conversation's recent turns (each distinct text embedded
once, TextEmbeddings) and the structured features that describe it so far (ConversationFeatures).
"""

import itertools
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

import torch

from apps.assistant.ml.config import SatisfactionTrainingConfig
from apps.assistant.ml.encoder import Encoder
from apps.assistant.ml.preprocess import preprocess
from apps.assistant.ml.sentiment import sentiment_analyse

ProgressCallback = Callable[[float, str], None]
Turn = dict[str, Any]
ROLES = ("customer", "agent", "bot")
# Words of a reply that did not help: the bot's failures as the text shows them.
_FAILURE = re.compile(
    r"\b(sorry|unfortunately|apolog\w*|unable|cannot|can't|can not|couldn't|could not|no (results?|luck|availab\w*)|"
    r"not (available|able|find|found|possible))\b",
    re.IGNORECASE,
)
# The structured part of x, in order (ConversationFeatures._structured); a saved model names them.
STRUCTURED = (
    "turns_log",
    "customer_turns_log",
    "share_customer",
    "share_agent",
    "share_bot",
    "empty",
    "customer_sentiment_1",
    "customer_sentiment_2",
    "customer_sentiment_3",
    "customer_known_1",
    "customer_known_2",
    "customer_known_3",
    "customer_sentiment_change",
    "customer_sentiment_min",
    "customer_sentiment_mean",
    "reply_sentiment",
    "reply_known",
    "reply_sentiment_min",
    "reply_failure",
    "reply_failures_log",
    "reply_question",
    "reply_repeats",
    "reply_repeat_known",
    "customer_repeats",
    "customer_repeat_known",
    "reply_words_log",
    "customer_words_log",
    "agent_present",
    "handoff",
    "failed_answers_log",
    "reply_wait_log",
    "reply_wait_max_log",
    "elapsed_log",
    "times_known",
)


class TextEmbeddings:
    """The encoder's embeddings of preprocessed texts, each distinct text embedded once and kept (at most
    ``limit`` of them, oldest dropped first; None: all, for cross-validation)."""

    def __init__(self, encoder: Encoder, limit: int | None = None) -> None:
        self.encoder = encoder
        self.limit = limit
        self.vectors: dict[str, torch.Tensor] = {}

    @property
    def dimension(self) -> int:
        return self.encoder.dimension

    def ensure(self, texts: Iterable[str], progress: ProgressCallback | None = None) -> None:
        # Similar lengths batched together: less padding.
        missing = sorted({text for text in texts if text not in self.vectors}, key=len)
        for start in range(0, len(missing), 256):
            chunk = missing[start : start + 256]
            self.vectors.update(zip(chunk, self.encoder.embed(chunk), strict=True))
            if progress is not None:
                progress(
                    min(1.0, (start + 256) / len(missing)), f"embedded {start + len(chunk)} of {len(missing)} texts"
                )

    def trim(self) -> None:
        """Drops the oldest texts beyond ``limit``; called once the texts of a batch are read, not before."""
        if self.limit is not None:
            for text in list(self.vectors)[: max(0, len(self.vectors) - self.limit)]:
                del self.vectors[text]

    def __getitem__(self, text: str) -> torch.Tensor:
        return self.vectors[text]


class ConversationFeatures:
    """x for a conversation so far (a context, see dialogues.conversation_context)."""

    def __init__(self, embeddings: TextEmbeddings, config: SatisfactionTrainingConfig) -> None:
        self.embeddings = embeddings
        self.slots = config.recent_turns
        self.pair_text = config.pair_text
        self._clean: dict[str, str] = {}
        self._sentiment: dict[str, float] = {}

    @property
    def dimension(self) -> int:
        text_vectors = self.slots + (1 if self.pair_text else 0)
        return text_vectors * self.embeddings.dimension + self.slots * (len(ROLES) + 1) + len(STRUCTURED)

    def matrix(self, contexts: list[list[Turn]], progress: ProgressCallback | None = None) -> torch.Tensor:
        cleaned = [[self._cleaned(turn["text"]) for turn in context] for context in contexts]
        texts = {text for context in cleaned for text in context}
        if self.pair_text:
            texts |= {self._pair(context, turns) for context, turns in zip(contexts, cleaned, strict=True) if turns}
        self.embeddings.ensure(texts, progress)
        rows = [self._row(context, turns) for context, turns in zip(contexts, cleaned, strict=True)]
        self.embeddings.trim()
        limit = self.embeddings.limit
        if limit is not None and len(self._clean) > limit:  # a serving process: the text caches stay bounded too
            self._clean.clear()
            self._sentiment.clear()
        return torch.stack(rows) if rows else torch.empty(0, self.dimension)

    def _cleaned(self, text: str) -> str:
        if text not in self._clean:
            self._clean[text] = preprocess(text)
        return self._clean[text]

    def _pair(self, context: list[Turn], cleaned: list[str]) -> str:
        return "\n".join(f"{turn['role']}: {text}" for turn, text in zip(context[-2:], cleaned[-2:], strict=True))

    def _row(self, context: list[Turn], cleaned: list[str]) -> torch.Tensor:
        dimension = self.embeddings.dimension
        parts, roles = [], []
        for slot in range(1, self.slots + 1):
            present = slot <= len(context)
            parts.append(self.embeddings[cleaned[-slot]] if present else torch.zeros(dimension))
            role = context[-slot]["role"] if present else None
            roles += [float(role == name) for name in ROLES] + [float(present)]
        if self.pair_text:
            parts.append(self.embeddings[self._pair(context, cleaned)] if context else torch.zeros(dimension))
        structured = self._structured(context, cleaned)
        return torch.cat([*parts, torch.tensor(roles + structured, dtype=torch.float32)])

    def _sentiment_of(self, text: str) -> float:
        if text not in self._sentiment:
            self._sentiment[text] = sentiment_analyse(text).score
        return self._sentiment[text]

    def _similarity(self, indices: list[int], cleaned: list[str]) -> tuple[float, float]:
        """(cosine of the last two turns at ``indices``, known); the embeddings are unit length."""
        if len(indices) < 2:
            return 0.0, 0.0
        first, second = self.embeddings[cleaned[indices[-1]]], self.embeddings[cleaned[indices[-2]]]
        return float(first @ second), 1.0

    def _structured(self, context: list[Turn], cleaned: list[str]) -> list[float]:
        count = len(context)
        customer = [i for i, turn in enumerate(context) if turn["role"] == "customer"]
        replies = [i for i, turn in enumerate(context) if turn["role"] != "customer"]
        moods = [self._sentiment_of(context[i]["text"]) for i in customer]
        recent = moods[::-1][:3]
        reply_moods = [self._sentiment_of(context[i]["text"]) for i in replies]
        failures = [bool(_FAILURE.search(cleaned[i])) for i in replies]
        last_reply = cleaned[replies[-1]] if replies else ""
        last_customer = cleaned[customer[-1]] if customer else ""
        reply_repeats, reply_repeat_known = self._similarity(replies, cleaned)
        customer_repeats, customer_repeat_known = self._similarity(customer, cleaned)
        waits, elapsed, times_known = _waits(context)
        return [
            math.log1p(count),
            math.log1p(len(customer)),
            len(customer) / count if count else 0.0,
            sum(turn["role"] == "agent" for turn in context) / count if count else 0.0,
            sum(turn["role"] == "bot" for turn in context) / count if count else 0.0,
            float(count == 0),
            *(recent + [0.0] * (3 - len(recent))),
            *([1.0] * len(recent) + [0.0] * (3 - len(recent))),
            recent[0] - recent[1] if len(recent) > 1 else 0.0,
            min(moods, default=0.0),
            sum(moods) / len(moods) if moods else 0.0,
            reply_moods[-1] if reply_moods else 0.0,
            float(bool(reply_moods)),
            min(reply_moods, default=0.0),
            float(failures[-1]) if failures else 0.0,
            math.log1p(sum(failures)),
            float(last_reply.rstrip().endswith("?")),
            reply_repeats,
            reply_repeat_known,
            customer_repeats,
            customer_repeat_known,
            math.log1p(len(last_reply.split())),
            math.log1p(len(last_customer.split())),
            float(any(turn["role"] == "agent" for turn in context)),
            float(any(turn.get("handoff") for turn in context)),
            math.log1p(sum(bool(turn.get("failed")) for turn in context)),
            math.log1p(waits[-1]) if waits else 0.0,
            math.log1p(max(waits)) if waits else 0.0,
            math.log1p(elapsed),
            times_known,
        ]


def _waits(context: list[Turn]) -> tuple[list[float], float, float]:
    """(seconds each reply to the customer took, seconds since the start, 1.0) when every turn has ``seconds``;
    else ([], 0.0, 0.0)."""
    if not context or any(turn.get("seconds") is None for turn in context):
        return [], 0.0, 0.0
    waits = [
        max(0.0, turn["seconds"] - previous["seconds"])
        for previous, turn in itertools.pairwise(context)
        if previous["role"] == "customer" and turn["role"] != "customer"
    ]
    return waits, max(0.0, context[-1]["seconds"] - context[0]["seconds"]), 1.0
