from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, QuerySet

from apps.knowledge.models import Article
from apps.recommendations.models import Interaction, Product, item_key

ARTICLE_TEXT_CHARS = 1500  # of the body, after the title: what the encoder reads of an article


def product_list_active() -> QuerySet[Product]:
    return Product.objects.filter(active=True).order_by("category", "name")


def interaction_rows() -> Iterator[tuple[int, str, str, datetime]]:
    """(customer id, item key, action, when) of every interaction, oldest first."""
    rows = Interaction.objects.order_by("occurred_at", "pk").values_list(
        "customer_id", "article_id", "product_id", "action", "occurred_at"
    )
    for customer_id, article_id, product_id, action, occurred_at in rows.iterator(chunk_size=5000):
        yield customer_id, item_key(article_id=article_id, product_id=product_id), action, occurred_at


def catalogue_texts() -> dict[str, str]:
    """Every item that may be recommended, published articles and products (active or not: the serving side
    filters), as the text the encoder embeds."""
    texts = {
        item_key(article_id=pk): f"{title}\n{body[:ARTICLE_TEXT_CHARS]}"
        for pk, title, body in Article.objects.filter(published=True).values_list("pk", "title", "body")
    }
    for pk, name, category, description in Product.objects.values_list("pk", "name", "category", "description"):
        texts[item_key(product_id=pk)] = f"{name} ({category})\n{description}"
    return texts


def items_recommendable() -> set[str]:
    """Keys of the items that may be shown today: published articles and active products."""
    articles = Article.objects.filter(published=True).values_list("pk", flat=True)
    products = Product.objects.filter(active=True).values_list("pk", flat=True)
    return {item_key(article_id=pk) for pk in articles} | {item_key(product_id=pk) for pk in products}


@dataclass(frozen=True)
class ClickThrough:
    shown: int
    clicked: int
    sent: int  # suggested by agents in the chat

    @property
    def rate(self) -> float | None:
        return self.clicked / self.shown if self.shown else None


def click_through(*, date_from: date | None = None, date_to: date | None = None) -> ClickThrough:
    """Recommendations shown to customers, clicked and sent by agents in a date range (inclusive, the desk's time
    zone): the click-through rate is clicked / shown."""
    rows = Interaction.objects.filter(
        action__in=(Interaction.Action.SHOWN, Interaction.Action.CLICK, Interaction.Action.SENT)
    )
    if date_from is not None:
        rows = rows.filter(occurred_at__date__gte=date_from)
    if date_to is not None:
        rows = rows.filter(occurred_at__date__lte=date_to)
    counts = dict(rows.values_list("action").annotate(count=Count("pk")).values_list("action", "count"))
    return ClickThrough(counts.get("shown", 0), counts.get("click", 0), counts.get("sent", 0))
