"""Knowledge-base retrieval in a worker process: the embeddings of every published passage as one normalised
matrix, searched with a matrix product (100k passages x 384 dimensions is 150 MB and a few milliseconds).

Each search first asks the database for the published passages' signature (one aggregate query) and rebuilds
the matrix when it changed, so an article edited, published or unpublished in the admin is searched by every
worker without a restart. Passages that have no embedding yet (article_save never computes one) are embedded
then, with the base encoder loaded once per process, and stored for the other workers.
"""

import hashlib
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
from django.urls import reverse

from apps.assistant.ml.config import encoder_path
from apps.assistant.ml.encoder import Encoder, encoder_load
from apps.assistant.ml.preprocess import preprocess, preprocess_many
from apps.knowledge.models import Passage
from apps.knowledge.passages import passage_context
from apps.knowledge.selectors import (
    article_published_labels,
    passage_vectors_published,
    passages_published_by_id,
    passages_published_signature,
    passages_unembedded,
)
from apps.knowledge.services import passage_embeddings_store

logger = logging.getLogger(__name__)

# The intent classifier is trained on labelled customer messages and reads the whole message; cosine
# similarity with a passage mostly rewards shared words. So when the classifier names an intent, the articles
# written for it get ahead of passages that merely share words, yet a much closer passage of another article
# still wins: the boost is added, not a filter.
INTENT_BOOST = 0.1
EMBED_BATCH = 256  # passages embedded and stored per round trip


@dataclass(frozen=True)
class PassageHit:
    """One retrieved passage. ``text`` is its Markdown; ``score`` is the cosine similarity to the query plus
    INTENT_BOOST when the article answers one of the intents given to the search (what hits are ranked by)."""

    passage_id: int
    article_id: int
    article_title: str
    article_slug: str
    article_url: str
    heading: str
    text: str
    score: float
    article_intents: list[str]


@dataclass(frozen=True)
class _Matrix:
    """What one rebuild loaded. Row i of ``vectors`` is passage ``passage_ids[i]``, of the article numbered
    ``article_rows[i]`` here; articles are numbered 0.. so a per-article adjustment is one index operation."""

    signature: tuple[int, int | None, datetime | None] | None = None
    encoder_name: str = ""
    vectors: torch.Tensor = field(default_factory=lambda: torch.empty(0, 0))
    passage_ids: list[int] = field(default_factory=list)
    article_rows: torch.Tensor = field(default_factory=lambda: torch.empty(0, dtype=torch.long))
    locale_masks: dict[str, torch.Tensor] = field(default_factory=dict)  # locale -> bool per article number
    intent_articles: dict[str, list[int]] = field(default_factory=dict)  # intent -> article numbers


def encoder_name(path: Path) -> str:
    """Names the encoder an embedding came from: its folder and a hash of its config.json, so a model replaced
    in place (another architecture or size) is told apart from the one before."""
    digest = hashlib.sha256((path / "config.json").read_bytes()).hexdigest()[:12]
    return f"{str(path)[-280:]}#{digest}"


class KnowledgeIndex:
    """The published passages of every locale, as embedded and loaded in this process."""

    def __init__(self) -> None:
        self.matrix = _Matrix()
        self._encoder: tuple[Encoder, str] | None = None
        self._lock = threading.RLock()

    def reset(self) -> None:
        """Forget the loaded matrix and encoder (tests: another database, another encoder)."""
        with self._lock:
            self.matrix, self._encoder = _Matrix(), None

    def encoder(self) -> tuple[Encoder, str]:
        """The base encoder named by HELPDESK_ENCODER_PATH and its name, loaded on first use and again only
        when the setting points elsewhere."""
        path = encoder_path()
        with self._lock:
            if self._encoder is None or self._encoder[0].path != path:
                self._encoder = (encoder_load(path), encoder_name(path))
            return self._encoder

    def search(self, query: str, *, k: int, locale: str, intents: list[str] | None) -> list[PassageHit]:
        text = preprocess(query)
        if not text or k < 1:
            return []
        matrix = self.current()
        if not matrix.passage_ids or locale not in matrix.locale_masks:
            return []
        scores = matrix.vectors @ self.encoder()[0].embed([text])[0]
        scores += self._article_adjustments(matrix, locale, intents or [])[matrix.article_rows]
        top = torch.topk(scores, min(k, len(matrix.passage_ids)))
        ranked = [
            (matrix.passage_ids[row], score)
            for row, score in zip(top.indices.tolist(), top.values.tolist(), strict=True)
            if math.isfinite(score)
        ]
        passages = passages_published_by_id(passage_ids=[passage_id for passage_id, _ in ranked])
        return [_hit(passages[passage_id], score) for passage_id, score in ranked if passage_id in passages]

    def encoder_name(self) -> str:
        """The current encoder's name without loading it (an empty index never loads the model)."""
        if self._encoder is not None and self._encoder[0].path == encoder_path():
            return self._encoder[1]
        return encoder_name(encoder_path())

    def current(self) -> _Matrix:
        """The matrix of the published passages as they are now: one query when nothing changed."""
        signature = passages_published_signature()
        name = self.encoder_name()
        if (signature, name) != (self.matrix.signature, self.matrix.encoder_name):
            with self._lock:
                if (signature, name) != (self.matrix.signature, self.matrix.encoder_name):
                    self.matrix = self._build(signature)
        return self.matrix

    def embed_missing(self, *, published_only: bool = True) -> int:
        """Embeds the passages that have no embedding by the current encoder and stores them; returns how many."""
        name = encoder_name(encoder_path())  # the model itself is loaded only if something is missing
        stored = 0
        while batch := list(passages_unembedded(encoder=name, published_only=published_only)[:EMBED_BATCH]):
            contexts = [passage_context(title=p.article.title, heading=p.heading, text=p.text) for p in batch]
            vectors = self.encoder()[0].embed(preprocess_many(contexts)).numpy().astype("<f4")
            embeddings = {passage.pk: vector.tobytes() for passage, vector in zip(batch, vectors, strict=True)}
            stored += passage_embeddings_store(embeddings=embeddings, encoder=name)
        return stored

    def _build(self, signature: tuple) -> _Matrix:
        if signature[0] == 0:  # no published passage: nothing to embed, no model to load
            return _Matrix(signature=signature, encoder_name=self.encoder_name())
        started = time.monotonic()
        encoder, name = self.encoder()
        embedded = self.embed_missing()
        labels = list(article_published_labels())
        numbers = {article_id: number for number, (article_id, _, _) in enumerate(labels)}
        blob_size = encoder.dimension * 4
        # Left out: a blob of another size (a truncated write) rather than failing every search, and a passage
        # of an article published between the two queries (the next search sees a new signature anyway).
        rows = [
            row for row in passage_vectors_published(encoder=name) if len(row[2]) == blob_size and row[1] in numbers
        ]
        vectors = np.frombuffer(b"".join(bytes(row[2]) for row in rows), dtype="<f4")
        intent_articles: dict[str, list[int]] = {}
        for number, (_, _, intents) in enumerate(labels):
            for intent in intents:
                intent_articles.setdefault(intent, []).append(number)
        article_locales = [locale for _, locale, _ in labels]
        matrix = _Matrix(
            signature=signature,
            encoder_name=name,
            vectors=torch.from_numpy(vectors.reshape(len(rows), encoder.dimension).copy()),
            passage_ids=[row[0] for row in rows],
            article_rows=torch.tensor([numbers[row[1]] for row in rows], dtype=torch.long),
            locale_masks={
                locale: torch.tensor([each == locale for each in article_locales]) for locale in set(article_locales)
            },
            intent_articles=intent_articles,
        )
        logger.info(
            "knowledge index: %d passages (%d newly embedded) in %.2f s",
            len(rows),
            embedded,
            time.monotonic() - started,
        )
        return matrix

    @staticmethod
    def _article_adjustments(matrix: _Matrix, locale: str, intents: list[str]) -> torch.Tensor:
        """Per article number: -inf for an article of another locale, INTENT_BOOST for one answering one of
        ``intents``, else 0."""
        adjustments = torch.where(matrix.locale_masks[locale], 0.0, -math.inf)
        boosted = sorted({number for intent in intents for number in matrix.intent_articles.get(intent, [])})
        adjustments[boosted] += INTENT_BOOST
        return adjustments


def _hit(passage: Passage, score: float) -> PassageHit:
    article = passage.article
    return PassageHit(
        passage_id=passage.pk,
        article_id=article.pk,
        article_title=article.title,
        article_slug=article.slug,
        article_url=reverse("web:help-article", kwargs={"slug": article.slug}),
        heading=passage.heading,
        text=passage.text,
        score=round(float(score), 6),
        article_intents=list(article.intents),
    )


knowledge_index = KnowledgeIndex()


def passages_search(
    query: str, *, k: int = 3, locale: str = "en", intents: list[str] | None = None
) -> list[PassageHit]:
    """The ``k`` published passages of ``locale`` closest to ``query``, best first."""
    return knowledge_index.search(query, k=k, locale=locale, intents=intents)


def passages_embed_missing(*, published_only: bool = False) -> int:
    """Embeds every passage without an embedding by the current encoder (``manage.py index_kb``)."""
    return knowledge_index.embed_missing(published_only=published_only)
