"""What the recommender learns from, gathered from the desk's database (torch-free; the training in
ml/recommender.py reads it): interactions with items, the catalogue's texts, each intent's example texts for its
centroid, and the intents of every customer's messages."""

import hashlib
from collections import defaultdict
from datetime import datetime

from apps.assistant.examples import labelled_examples
from apps.assistant.ml.config import OUT_OF_SCOPE
from apps.assistant.models import ModelKind
from apps.assistant.recommending import Event, RecommenderData
from apps.conversations.models import Message
from apps.recommendations.selectors import catalogue_texts, interaction_rows

INTENT_TEXTS = 20  # accepted examples per intent in its centroid, besides its name


def recommender_training_data() -> RecommenderData:
    texts: dict[str, list[str]] = defaultdict(list)
    for example in labelled_examples(kind=ModelKind.INTENT):
        if len(texts[example.label]) < INTENT_TEXTS:
            texts[example.label].append(example.text)
    intent_texts = {label: [label.replace("_", " "), *examples] for label, examples in texts.items()}
    return RecommenderData(
        events=[Event(*row) for row in interaction_rows()],
        items=catalogue_texts(),
        intent_texts=intent_texts,
        customer_intents=customer_intents(),
    )


def customer_intents() -> dict[int, list[tuple[datetime, str]]]:
    """The intents the models read in each customer's messages, oldest first."""
    rows = (
        Message.objects.filter(role=Message.Role.CUSTOMER)
        .exclude(intent__in=("", OUT_OF_SCOPE))
        .order_by("created_at")
        .values_list("conversation__customer_id", "created_at", "intent")
    )
    found: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for customer_id, created_at, intent in rows.iterator(chunk_size=5000):
        found[customer_id].append((created_at, intent))
    return found


def recommender_data_fingerprint(data: RecommenderData) -> str:
    digest = hashlib.sha256()
    for event in data.events:
        digest.update(f"{event.customer_id}|{event.item}|{event.action}|{event.occurred_at.isoformat()}\n".encode())
    for key in sorted(data.items):
        digest.update(f"{key}|{data.items[key]}\n".encode())
    return digest.hexdigest()
