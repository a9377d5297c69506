"""The recommender as it serves: numpy arrays and a blend, no torch, so a web process ranks in milliseconds.

Three signals score every item (an article or a product, named "article:12" / "product:7"):

- **collaborative**: BPR matrix factorisation of the customers' implicit feedback (views, "this helped",
  purchases, clicks), ``customer_factors @ item_factors.T + item_bias``; only for customers seen in training;
- **content**: cosine between the item's text embedding (the assistant's encoder) and the customer's profile, the
  mean of the embeddings of the intents of their recent conversations (each intent's centroid of training
  examples) and of the items they recently used; a brand-new customer with one question still gets one;
- **popularity**: recency-weighted interaction counts, the last fallback.

Each signal is min-max scaled over the candidates and blended with ``weights``; a signal a customer lacks gives
its weight to the others. Trained by apps/assistant/ml/recommender.py in a worker."""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from apps.assistant.ml.config import RECOMMENDER_WEIGHTS

ARRAYS_FILE, META_FILE = "recommender.npz", "recommender.json"
# How much each action says the customer wants the item; the others (shown, not helpful, sent) say nothing.
ACTION_WEIGHTS = {"view": 1.0, "click": 1.0, "helpful": 2.0, "purchase": 3.0}
DEFAULT_WEIGHTS = RECOMMENDER_WEIGHTS
ARRAYS = ("item_factors", "item_bias", "customer_factors", "item_vectors", "intent_vectors", "popularity")


@dataclass
class RecommenderModel:
    items: list[str]
    customers: list[int]
    intents: list[str]
    item_factors: np.ndarray  # (items, factors)
    item_bias: np.ndarray  # (items,)
    customer_factors: np.ndarray  # (customers, factors)
    item_vectors: np.ndarray  # (items, dimension), unit length
    intent_vectors: np.ndarray  # (intents, dimension), unit length
    popularity: np.ndarray  # (items,), 0..1
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))

    def __post_init__(self) -> None:
        self._item_row = {key: row for row, key in enumerate(self.items)}
        self._customer_row = {customer: row for row, customer in enumerate(self.customers)}
        self._intent_row = {intent: row for row, intent in enumerate(self.intents)}

    # --- Files ---------------------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {name: np.asarray(getattr(self, name), dtype=np.float32) for name in ARRAYS}
        np.savez(folder / ARRAYS_FILE, **arrays)
        meta = {"items": self.items, "customers": self.customers, "intents": self.intents, "weights": self.weights}
        (folder / META_FILE).write_text(json.dumps(meta))

    @classmethod
    def load(cls, folder: Path) -> "RecommenderModel":
        meta = json.loads((folder / META_FILE).read_text())
        with np.load(folder / ARRAYS_FILE) as arrays:
            loaded = {name: arrays[name] for name in ARRAYS}
        return cls(
            items=meta["items"], customers=meta["customers"], intents=meta["intents"], weights=meta["weights"], **loaded
        )

    # --- Scoring -------------------------------------------------------------------------------------------

    def knows_customer(self, customer_id: int) -> bool:
        return customer_id in self._customer_row

    def profile(self, *, intents: Sequence[str] = (), history: Sequence[str] = ()) -> np.ndarray | None:
        """The content profile: mean of the known intents' and history items' embeddings, unit length."""
        rows = [self.intent_vectors[self._intent_row[i]] for i in intents if i in self._intent_row]
        rows += [self.item_vectors[self._item_row[key]] for key in history if key in self._item_row]
        if not rows:
            return None
        mean = np.mean(rows, axis=0)
        norm = float(np.linalg.norm(mean))
        return mean / norm if norm > 0 else None

    def signals(
        self, *, customer_id: int | None, intents: Sequence[str] = (), history: Sequence[str] = ()
    ) -> dict[str, np.ndarray]:
        """Each signal the customer has, one score per item."""
        found = {"popularity": self.popularity}
        row = self._customer_row.get(customer_id) if customer_id is not None else None
        if row is not None:
            found["collaborative"] = self.item_factors @ self.customer_factors[row] + self.item_bias
        profile = self.profile(intents=intents, history=history)
        if profile is not None:
            found["content"] = self.item_vectors @ profile
        return found

    def rank(
        self,
        *,
        customer_id: int | None,
        intents: Sequence[str] = (),
        history: Sequence[str] = (),
        exclude: Iterable[str] = (),
        allowed: Iterable[str] | None = None,
        k: int = 10,
        signals: Sequence[str] | None = None,
    ) -> list[tuple[str, float]]:
        """The ``k`` best items as (key, blended score), best first, never one in ``exclude`` and, when given,
        only those in ``allowed``. ``signals`` limits the blend (e.g. ("popularity",) for the baseline)."""
        found = self.signals(customer_id=customer_id, intents=intents, history=history)
        if signals is not None:
            found = {name: values for name, values in found.items() if name in signals}
        mask = np.ones(len(self.items), dtype=bool)
        if allowed is not None:
            mask[:] = False
            mask[[self._item_row[key] for key in allowed if key in self._item_row]] = True
        mask[[self._item_row[key] for key in exclude if key in self._item_row]] = False
        candidates = np.flatnonzero(mask)
        if not len(candidates) or not found:
            return []
        # A chosen subset of signals (a baseline) counts each equally: a signal weighted 0 in the blend still ranks.
        weights = {name: 1.0 if signals is not None else self.weights.get(name, 0.0) for name in found}
        total = sum(weights.values()) or 1.0
        blended = np.zeros(len(candidates), dtype=np.float64)
        for name, values in found.items():
            blended += weights[name] / total * _min_max(values[candidates])
        order = np.argsort(-blended, kind="stable")[:k]
        return [(self.items[candidates[i]], float(blended[i])) for i in order]


def _min_max(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values, dtype=np.float64)


# --- Training data (apps/assistant/ml/recommender.py learns from it) ---------------------------------------


@dataclass(frozen=True)
class Event:
    customer_id: int
    item: str  # "article:12", "product:7"
    action: str
    occurred_at: datetime


@dataclass(frozen=True)
class RecommenderData:
    events: list[Event]  # every interaction, any action
    items: dict[str, str]  # key -> text to embed
    intent_texts: dict[str, list[str]]  # intent -> example texts (its centroid)
    customer_intents: dict[int, list[tuple[datetime, str]]]  # the intents of each customer's messages, dated


# --- Offline figures ---------------------------------------------------------------------------------------


def recall_at(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


def ndcg_at(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    gains = sum(1 / np.log2(position + 2) for position, key in enumerate(ranked[:k]) if key in relevant)
    ideal = sum(1 / np.log2(position + 2) for position in range(min(k, len(relevant))))
    return float(gains / ideal) if ideal else 0.0
