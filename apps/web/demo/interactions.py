"""The demo's interaction history, so recommendations have something to learn from on the first run: each demo
customer leans to one or two product categories, views products there (popular ones more), buys a few, and
reads the articles about what they asked in their conversations, over the last six months."""

import random
from collections import defaultdict
from datetime import datetime, timedelta

from apps.assistant.ml.config import OUT_OF_SCOPE
from apps.conversations.models import Message
from apps.customers.models import Customer
from apps.knowledge.models import Article
from apps.recommendations.models import Interaction, Product
from apps.web.demo.customers import EXTERNAL_ID_PREFIX

SPAN_DAYS = 180


def interactions_ensure(*, seed: int, now: datetime) -> int:
    """Plants the history once (nothing when a demo customer already has an interaction); returns how many."""
    customers = list(Customer.objects.filter(external_id__startswith=EXTERNAL_ID_PREFIX).order_by("pk"))
    if not customers or Interaction.objects.filter(customer__in=customers).exists():
        return 0
    rng = random.Random(seed)
    by_category: dict[str, list[Product]] = defaultdict(list)
    for product in Product.objects.filter(active=True).order_by("pk"):
        by_category[product.category].append(product)
    categories = sorted(by_category)
    articles_by_intent: dict[str, list[Article]] = defaultdict(list)
    for article in Article.objects.filter(published=True).order_by("pk"):
        for intent in article.intents:
            articles_by_intent[intent].append(article)
    asked = _intents_asked(customers)
    rows = []
    for customer in customers:
        liked = rng.sample(categories, k=min(len(categories), rng.choice((1, 2))))
        rows += _product_events(rng, customer, [p for c in liked for p in by_category[c]], now)
        for intent in asked.get(customer.pk, [])[:3]:
            for article in articles_by_intent.get(intent, [])[:1]:
                action = "helpful" if rng.random() < 0.4 else "view"
                rows.append(_event(customer, action, now - timedelta(days=rng.uniform(0, SPAN_DAYS)), article=article))
    Interaction.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _intents_asked(customers: list[Customer]) -> dict[int, list[str]]:
    rows = Message.objects.filter(conversation__customer__in=customers, role=Message.Role.CUSTOMER).exclude(
        intent__in=("", OUT_OF_SCOPE)
    )
    asked: dict[int, list[str]] = defaultdict(list)
    for customer_id, intent in rows.values_list("conversation__customer_id", "intent"):
        if intent not in asked[customer_id]:
            asked[customer_id].append(intent)
    return asked


def _product_events(rng: random.Random, customer: Customer, products: list[Product], now: datetime) -> list:
    if not products:
        return []
    # The first products of a category are its best sellers: weights 1, 1/2, 1/3... (Zipf).
    weights = [1 / (rank + 1) for rank in range(len(products))]
    rows, bought = [], set()
    for _ in range(rng.randint(3, 12)):
        product = rng.choices(products, weights=weights)[0]
        when = now - timedelta(days=rng.uniform(0, SPAN_DAYS))
        rows.append(_event(customer, "view", when, product=product))
        if product.pk not in bought and rng.random() < 0.15:  # a product is bought once
            bought.add(product.pk)
            rows.append(_event(customer, "purchase", when + timedelta(minutes=rng.uniform(1, 30)), product=product))
    return rows


def _event(customer: Customer, action: str, when: datetime, **item) -> Interaction:
    return Interaction(customer=customer, action=action, source=Interaction.Source.IMPORT, occurred_at=when, **item)
