"""Suggested replies for agents (worker side): for a customer's message, the best few texts an agent could send,
from the knowledge base (apps/assistant/retrieval.py) and from what agents answered to similar messages in
closed conversations, ranked by cosine similarity.

The past replies are an index per process, like the champion and knowledge caches: every search asks the
database one cheap question (how many conversations are closed, and the latest close) and rebuilds only when
the answer changed. A rebuild embeds only questions it has not seen before, so closing one conversation costs
one small batch, not the whole history.
"""

import logging
import threading
from dataclasses import dataclass
from typing import Any

import torch
from django.db.models import Count, Max, OuterRef, Subquery

from apps.assistant.generation.base import GroundingPassage
from apps.assistant.generation.extractive import extractive_answer
from apps.assistant.ml.config import OUT_OF_SCOPE
from apps.assistant.ml.encoder import Encoder
from apps.assistant.ml.preprocess import preprocess, preprocess_many
from apps.assistant.retrieval import PassageHit, knowledge_index, passages_search
from apps.conversations.events import user_display_name
from apps.conversations.models import Conversation, Message

logger = logging.getLogger(__name__)

# The most recent question/answer pairs kept (20,000 MiniLM embeddings of 384 floats: about 30 MB per process).
PAST_REPLY_LIMIT = 20_000
# Below this cosine a text is more likely noise than help; the agent sees fewer cards rather than bad ones.
MIN_SCORE = 0.2
SNIPPET_CHARS = 450
KNOWLEDGE, PAST_REPLY = "knowledge", "past_reply"


@dataclass(frozen=True)
class PastReply:
    """An agent's reply (``reply_id``) to a customer's message in a closed conversation."""

    reply_id: int
    conversation_id: int
    text: str
    agent_name: str


def _encoder() -> tuple[Encoder, str]:
    """The base encoder and its name: the knowledge index's, loaded once per process for both."""
    return knowledge_index.encoder()


# --- Past agent replies ------------------------------------------------------------------------------------


def _closed_signature() -> tuple[Any, ...]:
    """Changes whenever a conversation closes (or a closed one is deleted): then the pairs may have changed."""
    closed = Conversation.objects.filter(state=Conversation.State.CLOSED).aggregate(
        count=Count("pk"), latest=Max("closed_at")
    )
    return closed["count"], closed["latest"], knowledge_index.encoder_name()


def _answered_questions(limit: int) -> list[tuple[int, str, PastReply]]:
    """(question id, question text, the first agent reply after it) for the ``limit`` latest agent replies in
    closed conversations. The question is the last customer message before the reply; notes, bot and system
    messages are never replies."""
    before = Message.objects.filter(
        conversation=OuterRef("conversation"), role=Message.Role.CUSTOMER, seq__lt=OuterRef("seq")
    ).order_by("-seq")
    replies = (
        Message.objects.filter(role=Message.Role.AGENT, conversation__state=Conversation.State.CLOSED)
        .annotate(question_id=Subquery(before.values("pk")[:1]), question_text=Subquery(before.values("text")[:1]))
        .filter(question_id__isnull=False)
        .select_related("author__agent_profile")
        .order_by("-created_at", "-pk")[:limit]
    )
    pairs: dict[int, tuple[int, str, PastReply]] = {}
    for reply in replies:
        # Newest first, so a question's earliest reply (the answer that followed it) is written last and stays.
        past = PastReply(reply.pk, reply.conversation_id, reply.text, user_display_name(reply.author))
        pairs[reply.question_id] = (reply.question_id, reply.question_text, past)
    return list(pairs.values())


class PastReplyIndex:
    """Embeddings of answered customer questions of closed conversations, each paired with the agent's reply."""

    def __init__(self, limit: int = PAST_REPLY_LIMIT) -> None:
        self.limit = limit
        self.signature: tuple[Any, ...] | None = None
        self.replies: list[PastReply] = []
        self.matrix = torch.empty(0, 0)
        self._vectors: dict[int, torch.Tensor] = {}  # question message id -> its embedding
        self._lock = threading.Lock()

    def search(self, text: str, *, k: int, exclude_conversation: int | None = None) -> list[tuple[PastReply, float]]:
        """The ``k`` replies whose questions are nearest ``text`` (cosine), best first."""
        self.refresh()
        replies, matrix = self.replies, self.matrix  # one consistent build, even if another thread rebuilds
        if not replies:
            return []
        scores = matrix @ _encoder()[0].embed([preprocess(text)])[0]
        found = []
        for index in torch.argsort(scores, descending=True).tolist():
            if replies[index].conversation_id != exclude_conversation:
                found.append((replies[index], float(scores[index])))
            if len(found) == k:
                break
        return found

    def refresh(self) -> None:
        signature = _closed_signature()
        if signature == self.signature:
            return
        with self._lock:
            if signature != self.signature:
                self._build(signature)

    def _build(self, signature: tuple[Any, ...]) -> None:
        if self.signature is None or self.signature[-1] != signature[-1]:
            self._vectors = {}  # another encoder: the old embeddings mean nothing to it
        pairs = _answered_questions(self.limit)
        new = [(question_id, text) for question_id, text, _ in pairs if question_id not in self._vectors]
        if new:
            embedded = _encoder()[0].embed(preprocess_many([text for _, text in new]))
            self._vectors.update(zip([question_id for question_id, _ in new], embedded, strict=True))
        self._vectors = {question_id: self._vectors[question_id] for question_id, _, _ in pairs}
        self.matrix = torch.stack(list(self._vectors.values())) if pairs else torch.empty(0, 0)
        self.replies = [past for _, _, past in pairs]
        self.signature = signature
        logger.info("past-reply index: %d pairs (%d embedded now)", len(pairs), len(new))


past_replies = PastReplyIndex()


# --- Suggestions -----------------------------------------------------------------------------------------


def _intent_of(message: Message) -> str:
    corrected = (message.annotations or {}).get("corrected_intent")
    intent = corrected.get("intent", "") if isinstance(corrected, dict) else message.intent
    return "" if intent == OUT_OF_SCOPE else intent


def _knowledge_suggestion(hit: PassageHit) -> dict[str, Any]:
    snippet = extractive_answer(
        GroundingPassage(title=hit.article_title, url=hit.article_url, text=hit.text), max_chars=SNIPPET_CHARS
    )
    return {
        "id": f"kb:{hit.passage_id}",
        "source": KNOWLEDGE,
        "text": snippet,
        "title": hit.article_title,
        "url": hit.article_url,
        "score": round(float(hit.score), 4),
    }


def _past_reply_suggestion(past: PastReply, score: float) -> dict[str, Any]:
    return {
        "id": f"reply:{past.reply_id}",
        "source": PAST_REPLY,
        "text": past.text,
        "title": f"Reply by {past.agent_name or 'a former agent'} in #{past.conversation_id}",
        "url": "",
        "score": round(score, 4),
    }


def _best(candidates: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """The ``k`` best-scoring candidates above MIN_SCORE, each text once (case and spacing aside)."""
    chosen, seen = [], set()
    for candidate in sorted(candidates, key=lambda c: c["score"], reverse=True):
        key = " ".join(candidate["text"].split()).casefold()
        if candidate["score"] < MIN_SCORE or not key or key in seen:
            continue
        seen.add(key)
        chosen.append(candidate)
        if len(chosen) == k:
            break
    return chosen


def suggestions_for(*, message: Message, k: int = 3) -> list[dict[str, Any]]:
    """Up to ``k`` replies an agent could send to the customer's ``message``, best first, as JSON-safe dicts:
    ``{"id": "kb:<passage id>" | "reply:<message id>", "source": "knowledge" | "past_reply", "text", "title",
    "url" (the article's, or ""), "score"}``. Knowledge passages are searched in the customer's locale and
    within the message's intent when it has one; past replies come from other, closed conversations."""
    conversation = Conversation.objects.select_related("customer").get(pk=message.conversation_id)
    intent = _intent_of(message)
    # Twice k from each source, so that duplicates and weak hits dropped by _best still leave k.
    hits = passages_search(
        message.text, k=2 * k, locale=conversation.customer.locale or "en", intents=[intent] if intent else None
    )
    candidates = [_knowledge_suggestion(hit) for hit in hits]
    candidates += [
        _past_reply_suggestion(past, score)
        for past, score in past_replies.search(message.text, k=2 * k, exclude_conversation=conversation.pk)
    ]
    return _best(candidates, k)
