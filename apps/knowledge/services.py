from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.text import slugify

from apps.knowledge.models import Article, ArticleRevision


@transaction.atomic
def article_save(
    *,
    title: str,
    body: str,
    locale: str = "en",
    slug: str = "",
    tags: list[str] | None = None,
    intents: list[str] | None = None,
    published: bool = True,
    editor: AbstractBaseUser | None = None,
) -> Article:
    """Create or edit the article at (locale, slug); an edit of title or body bumps the version and keeps a
    revision of it."""
    slug = slug or slugify(title)
    article = Article.objects.select_for_update().filter(locale=locale, slug=slug).first()
    if article is None:
        article = Article(locale=locale, slug=slug, version=1)
    elif (article.title, article.body) != (title, body):
        article.version += 1
    article.title, article.body, article.published = title, body, published
    article.tags = list(tags or [])
    article.intents = list(intents or [])
    article.full_clean()
    article.save()
    ArticleRevision.objects.get_or_create(
        article=article,
        version=article.version,
        defaults={"title": title, "body": body, "edited_by": editor},
    )
    return article
