"""What to show a customer next: the recommender's champion (numpy, loaded once per process and following the
registry) blended over the customer's history and the intents of their conversations, never an item they
already have, an unpublished article or an inactive product. Before any recommender is trained, the most used
items of the last year."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from apps.assistant.ml.config import OUT_OF_SCOPE
from apps.assistant.recommending import RecommenderModel
from apps.assistant.serving import ChampionCache
from apps.conversations.models import Message
from apps.customers.models import Customer
from apps.knowledge.models import Article
from apps.recommendations.models import Interaction, Product, item_ids, item_key
from apps.recommendations.selectors import items_recommendable

RECOMMENDER_MODEL_NAME = "recommender"
recommender_champion = ChampionCache(RECOMMENDER_MODEL_NAME, loader=RecommenderModel.load)

POSITIVE = (Interaction.Action.VIEW, Interaction.Action.CLICK, Interaction.Action.HELPFUL, Interaction.Action.PURCHASE)
HISTORY = 20  # recent items in the content profile
INTENTS = 5  # recent conversation intents in the content profile
POPULAR_WINDOW = timedelta(days=365)
SUMMARY_CHARS = 140


@dataclass(frozen=True)
class Recommendation:
    item: str  # "article:12", "product:7"
    kind: str  # "article" or "product"
    title: str
    url: str
    summary: str
    score: float
    why: str  # "for you" (their history), "related" (what they asked about), "popular"


def recommendations_for(*, customer: Customer, intent: str = "", k: int = 5) -> list[Recommendation]:
    """The ``k`` items to show ``customer`` now; ``intent``: what they are asking about in the current chat."""
    allowed = items_recommendable()
    owned = items_owned(customer)
    intents = [*customer_recent_intents(customer), *([intent] if intent else [])]
    model = recommender_champion.current().model
    if model is None:
        return _hydrated(items_popular(exclude=owned, allowed=allowed, k=k), why="popular")
    history = customer_recent_items(customer)
    ranked = model.rank(customer_id=customer.pk, intents=intents, history=history, exclude=owned, allowed=allowed, k=k)
    if model.knows_customer(customer.pk):
        why = "for you"
    elif model.profile(intents=intents, history=history) is not None:
        why = "related"
    else:
        why = "popular"
    return _hydrated(ranked, why=why)


def items_owned(customer: Customer) -> set[str]:
    """What the customer already has or knows: every item they bought, read, viewed or clicked (the offline
    figures score the recommender the same way)."""
    rows = Interaction.objects.filter(customer=customer, action__in=POSITIVE).values_list("article_id", "product_id")
    return {item_key(article_id=a, product_id=p) for a, p in rows.order_by().distinct()}


def customer_recent_items(customer: Customer) -> list[str]:
    rows = (
        Interaction.objects.filter(customer=customer, action__in=POSITIVE)
        .order_by("-occurred_at")
        .values_list("article_id", "product_id")[: HISTORY * 3]
    )
    return list(dict.fromkeys(item_key(article_id=a, product_id=p) for a, p in rows))[:HISTORY]


def customer_recent_intents(customer: Customer) -> list[str]:
    rows = (
        Message.objects.filter(conversation__customer=customer, role=Message.Role.CUSTOMER)
        .exclude(intent__in=("", OUT_OF_SCOPE))
        .order_by("-created_at")
        .values_list("intent", flat=True)[:INTENTS]
    )
    return list(reversed(rows))


def items_popular(*, exclude: set[str], allowed: set[str], k: int) -> list[tuple[str, float]]:
    rows = (
        Interaction.objects.filter(action__in=POSITIVE, occurred_at__gte=timezone.now() - POPULAR_WINDOW)
        .values("article_id", "product_id")
        .annotate(uses=Count("pk"))
        .order_by("-uses", "article_id", "product_id")
    )
    ranked = []
    for row in rows.iterator(chunk_size=500):
        key = item_key(article_id=row["article_id"], product_id=row["product_id"])
        if key in allowed and key not in exclude:
            ranked.append((key, float(row["uses"])))
            if len(ranked) == k:
                break
    return ranked


def _hydrated(ranked: list[tuple[str, float]], *, why: str) -> list[Recommendation]:
    keyed = [(item_ids(key), key, score) for key, score in ranked]
    articles = Article.objects.in_bulk([article_id for (article_id, _), _, _ in keyed if article_id is not None])
    products = Product.objects.in_bulk([product_id for (_, product_id), _, _ in keyed if product_id is not None])
    found = []
    for (article_id, product_id), key, score in keyed:
        if article_id in articles:
            article = articles[article_id]
            url = reverse("web:help-article", args=[article.slug])
            found.append(Recommendation(key, "article", article.title, url, _summary(article.body), score, why))
        elif product_id in products:
            product = products[product_id]
            summary = _summary(product.description)
            found.append(Recommendation(key, "product", product.name, product.url, summary, score, why))
    return found


def _summary(text: str) -> str:
    plain = " ".join(part.lstrip("#*->` ") for part in text.split())
    return Truncator(plain).chars(SUMMARY_CHARS)
