"""Training the recommender (torch): BPR matrix factorisation of implicit feedback, item and intent embeddings
from the assistant's encoder, popularity with recency, and the offline figures of a time-based split.
apps/assistant/recommending.py serves the result without torch."""

import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import numpy as np
import torch
from torch import nn

from apps.assistant.ml.config import RecommenderTrainingConfig
from apps.assistant.ml.encoder import Encoder
from apps.assistant.recommending import ACTION_WEIGHTS, Event, RecommenderData, RecommenderModel, ndcg_at, recall_at

K = 10
MIN_STEPS = 300


Progress = Callable[[float, str], None]


def train_recommender(
    data: RecommenderData, encoder: Encoder, config: RecommenderTrainingConfig, progress: Progress | None = None
) -> tuple[RecommenderModel, dict[str, Any]]:
    """The model trained on every interaction, and the offline figures of one trained on the earliest
    (1 - test_share) of them and asked about the rest."""
    report = progress or (lambda fraction, note: None)
    started = time.monotonic()
    report(0.0, f"embedding {len(data.items)} items and {len(data.intent_texts)} intents")
    items = sorted(data.items)
    item_vectors = _embed(encoder, [data.items[key] for key in items])
    intents = sorted(data.intent_texts)
    intent_vectors = _centroids(encoder, [data.intent_texts[intent] for intent in intents])
    positives = sorted((e for e in data.events if e.action in ACTION_WEIGHTS and e.item in data.items), key=_when)
    if len(positives) < 2:
        raise ValueError(f"The recommender needs at least 2 positive interactions; found {len(positives)}")
    cut = positives[int(len(positives) * (1 - config.test_share))].occurred_at
    earlier = [e for e in positives if e.occurred_at < cut]
    later = [e for e in positives if e.occurred_at >= cut]
    base = {"items": items, "intents": intents, "item_vectors": item_vectors, "intent_vectors": intent_vectors}
    report(0.2, f"training on {len(earlier)} interactions before {cut:%Y-%m-%d} for the offline figures")
    metrics = {}
    if earlier and later:
        evaluated = _fit(earlier, base, config)
        metrics = _offline_figures(evaluated, earlier, later, data.customer_intents, config)
    report(0.6, f"training on all {len(positives)} interactions")
    model = _fit(positives, base, config)
    metrics.update(
        interactions=len(positives),
        customers=len(model.customers),
        items=len(items),
        training_seconds=round(time.monotonic() - started, 1),
        config=asdict(config),
    )
    report(1.0, "done")
    return model, metrics


def _when(event: Event) -> datetime:
    return event.occurred_at


def _embed(encoder: Encoder, texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, encoder.dimension), dtype=np.float32)
    return encoder.embed(texts).numpy().astype(np.float32)


def _centroids(encoder: Encoder, groups: list[list[str]]) -> np.ndarray:
    rows = []
    for texts in groups:
        mean = _embed(encoder, texts).mean(axis=0)
        rows.append(mean / max(float(np.linalg.norm(mean)), 1e-9))
    return np.asarray(rows, dtype=np.float32).reshape(len(groups), encoder.dimension)


# --- Fitting -----------------------------------------------------------------------------------------------


def _fit(events: list[Event], base: dict[str, Any], config: RecommenderTrainingConfig) -> RecommenderModel:
    items: list[str] = base["items"]
    item_row = {key: row for row, key in enumerate(items)}
    customers = sorted({event.customer_id for event in events})
    customer_row = {customer: row for row, customer in enumerate(customers)}
    weighted: Counter[tuple[int, int]] = Counter()
    for event in events:
        weighted[(customer_row[event.customer_id], item_row[event.item])] += ACTION_WEIGHTS[event.action]
    customer_factors, item_factors, item_bias = bpr_fit(weighted, len(customers), len(items), config)
    return RecommenderModel(
        items=items,
        customers=customers,
        intents=base["intents"],
        item_factors=item_factors,
        item_bias=item_bias,
        customer_factors=customer_factors,
        item_vectors=base["item_vectors"],
        intent_vectors=base["intent_vectors"],
        popularity=_popularity(events, item_row, config.popularity_half_life_days),
        weights=dict(config.weights),
    )


def bpr_fit(
    weighted: Counter[tuple[int, int]], n_customers: int, n_items: int, config: RecommenderTrainingConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bayesian personalised ranking (Rendle et al. 2009): for a (customer, item) pair drawn in proportion to its
    weight and an item drawn at random, push the pair's score above the random item's. Returns the customers'
    factors, the items' factors and the items' biases."""
    generator = torch.Generator().manual_seed(config.seed)
    pairs = torch.tensor(list(weighted), dtype=torch.long)
    draw = torch.tensor(list(weighted.values()), dtype=torch.float)
    customer_factors = nn.Parameter(torch.randn(n_customers, config.factors, generator=generator) * 0.1)
    item_factors = nn.Parameter(torch.randn(n_items, config.factors, generator=generator) * 0.1)
    item_bias = nn.Parameter(torch.zeros(n_items))
    optimiser = torch.optim.Adam([customer_factors, item_factors, item_bias], lr=config.learning_rate)
    # A small history still gets enough updates to learn from: at least MIN_STEPS batches.
    steps = max(MIN_STEPS, math.ceil(config.epochs * len(pairs) / config.batch_size))
    for _ in range(steps):
        chosen = pairs[torch.multinomial(draw, config.batch_size, replacement=True, generator=generator)]
        customer, positive = chosen[:, 0], chosen[:, 1]
        negative = torch.randint(0, n_items, (config.batch_size,), generator=generator)
        user = customer_factors[customer]
        margin = (user * (item_factors[positive] - item_factors[negative])).sum(-1)
        margin = margin + item_bias[positive] - item_bias[negative]
        penalty = user.pow(2).sum() + item_factors[positive].pow(2).sum() + item_factors[negative].pow(2).sum()
        loss = -nn.functional.logsigmoid(margin).mean() + config.regularisation * penalty / config.batch_size
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return (
        customer_factors.detach().numpy().astype(np.float32),
        item_factors.detach().numpy().astype(np.float32),
        item_bias.detach().numpy().astype(np.float32),
    )


def _popularity(events: list[Event], item_row: dict[str, int], half_life_days: float) -> np.ndarray:
    scores = np.zeros(len(item_row), dtype=np.float64)
    newest = max(event.occurred_at for event in events)
    for event in events:
        age_days = (newest - event.occurred_at).total_seconds() / 86400
        scores[item_row[event.item]] += ACTION_WEIGHTS[event.action] * 0.5 ** (age_days / half_life_days)
    top = scores.max()
    return (scores / top if top > 0 else scores).astype(np.float32)


# --- Offline figures ---------------------------------------------------------------------------------------

BLENDS = {
    "model": None,  # every signal the customer has
    "popularity": ("popularity",),
    "content": ("content",),
    "collaborative": ("collaborative",),
}


def customer_history(events: Sequence[Event], limit: int) -> dict[int, list[str]]:
    """Each customer's items, most recent first, each once."""
    history: dict[int, list[str]] = defaultdict(list)
    for event in sorted(events, key=_when, reverse=True):
        if event.item not in history[event.customer_id] and len(history[event.customer_id]) < limit:
            history[event.customer_id].append(event.item)
    return history


def _offline_figures(
    model: RecommenderModel,
    earlier: list[Event],
    later: list[Event],
    customer_intents: dict[int, list[tuple[datetime, str]]],
    config: RecommenderTrainingConfig,
) -> dict[str, Any]:
    """recall@10 and NDCG@10 of each blend over the customers who used, after the cut, items they had not used
    before; what they had is excluded from their ranking, as when serving."""
    cut = later[0].occurred_at
    had: dict[int, set[str]] = defaultdict(set)
    for event in earlier:
        had[event.customer_id].add(event.item)
    wanted: dict[int, set[str]] = defaultdict(set)
    for event in later:
        if event.item not in had[event.customer_id]:
            wanted[event.customer_id].add(event.item)
    recent = customer_history(earlier, config.history)
    sums = {name: [0.0, 0.0] for name in BLENDS}
    customers = sorted(wanted)
    for customer in customers:
        intents = [intent for at, intent in customer_intents.get(customer, []) if at < cut][-5:]
        for name, signals in BLENDS.items():
            ranked = model.rank(
                customer_id=customer,
                intents=intents,
                history=recent.get(customer, []),
                exclude=had[customer],
                k=K,
                signals=signals,
            )
            keys = [key for key, _ in ranked]
            sums[name][0] += recall_at(keys, wanted[customer], K)
            sums[name][1] += ndcg_at(keys, wanted[customer], K)
    count = len(customers) or 1
    figures: dict[str, Any] = {"test_customers": len(customers), "test_interactions": len(later)}
    for name, (recall, ndcg) in sums.items():
        prefix = "" if name == "model" else f"{name}_"
        figures[f"{prefix}recall_at_10"] = recall / count
        figures[f"{prefix}ndcg_at_10"] = ndcg / count
    return figures
