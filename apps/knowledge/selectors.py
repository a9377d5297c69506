import re
from datetime import datetime
from functools import reduce
from operator import or_

import markdown
import nh3
from django.db.models import Count, Max, Q, QuerySet

from apps.knowledge.models import Article, Passage

# Markdown renders to HTML; nh3 then keeps only these tags, so an article can never carry a script.
_ALLOWED_TAGS = {
    "p",
    "br",
    "h2",
    "h3",
    "h4",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
}
# Words too common to tell articles apart in the keyword search.
_STOP_WORDS = frozenset(
    {
        *("the", "and", "for", "you", "your", "are", "was", "has", "have", "had", "not", "can", "how", "what"),
        *("why", "when", "where", "which", "who", "with", "this", "that", "from", "does", "did", "get", "got"),
        *("its", "it's", "any", "all", "but", "out", "use"),
    }
)
_KEYWORD_CANDIDATES = 200


def article_render_html(*, article: Article) -> str:
    html = markdown.markdown(article.body, extensions=["tables", "sane_lists"])
    return nh3.clean(html, tags=_ALLOWED_TAGS, attributes={"a": {"href", "title"}}, link_rel="noopener nofollow")


def article_list_published(*, locale: str = "en") -> QuerySet[Article]:
    return Article.objects.filter(published=True, locale=locale)


def article_search_keywords(*, query: str, locale: str = "en", limit: int = 5) -> list[Article]:
    """Published articles containing words of ``query`` (three letters or more, common words left out), most
    words matched first, a title match counting twice: the search that needs no model."""
    words = sorted({word for word in re.findall(r"\w{3,}", query.lower()) if word not in _STOP_WORDS})
    if not words:
        return []
    matches = reduce(or_, (Q(title__icontains=word) | Q(body__icontains=word) for word in words))
    candidates = article_list_published(locale=locale).filter(matches).only("title", "slug", "body")

    def matched(article: Article) -> int:
        title, body = article.title.lower(), article.body.lower()
        return sum(2 * (word in title) + (word in body) for word in words)

    return sorted(candidates[:_KEYWORD_CANDIDATES], key=lambda article: (-matched(article), article.title))[:limit]


def passages_published_signature() -> tuple[int, int | None, datetime | None]:
    """(count, highest id, latest article edit) of published passages: one query that changes whenever the
    published passages do, since article_save replaces an edited article's passages (new ids) and an
    unpublished or deleted article takes its passages out of the count."""
    totals = Passage.objects.filter(article__published=True).aggregate(
        count=Count("id"), last_id=Max("id"), last_edit=Max("article__updated_at")
    )
    return totals["count"], totals["last_id"], totals["last_edit"]


def passages_unembedded(*, encoder: str, published_only: bool = True) -> QuerySet[Passage]:
    """Passages with no embedding, or one by another encoder, with their article's title (their context)."""
    passages = Passage.objects.filter(Q(embedding__isnull=True) | ~Q(encoder=encoder))
    if published_only:
        passages = passages.filter(article__published=True)
    return passages.select_related("article").only("heading", "text", "article__title").order_by("pk")


def passage_vectors_published(*, encoder: str) -> QuerySet:
    """(passage id, article id, embedding bytes) of the published passages embedded by ``encoder``."""
    return (
        Passage.objects.filter(article__published=True, encoder=encoder, embedding__isnull=False)
        .order_by("pk")
        .values_list("pk", "article_id", "embedding")
    )


def article_published_labels() -> QuerySet:
    """(article id, locale, intents) of every published article: what the index filters and boosts by."""
    return Article.objects.filter(published=True).values_list("pk", "locale", "intents")


def passages_published_by_id(*, passage_ids: list[int]) -> dict[int, Passage]:
    passages = Passage.objects.filter(pk__in=passage_ids, article__published=True).select_related("article")
    return {passage.pk: passage for passage in passages.defer("embedding")}
