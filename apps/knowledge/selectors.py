import markdown
import nh3
from django.db.models import QuerySet

from apps.knowledge.models import Article

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


def article_render_html(*, article: Article) -> str:
    html = markdown.markdown(article.body, extensions=["tables", "sane_lists"])
    return nh3.clean(html, tags=_ALLOWED_TAGS, attributes={"a": {"href", "title"}}, link_rel="noopener nofollow")


def article_list_published(*, locale: str = "en") -> QuerySet[Article]:
    return Article.objects.filter(published=True, locale=locale)
