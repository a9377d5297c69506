from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.text import slugify

from apps.knowledge.models import Article, ArticleRevision, Passage
from apps.knowledge.passages import passage_context, passages_split


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
    revision of it. A change of title, body, published or intents rebuilds the article's passages (without
    embeddings: saving never loads a model; the assistant's index embeds them when it next searches)."""
    slug = slug or slugify(title)
    article = Article.objects.select_for_update().filter(locale=locale, slug=slug).first()
    before = None if article is None else (article.title, article.body, article.published, article.intents)
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
    if before != (article.title, article.body, article.published, article.intents):
        _passages_rebuild(article=article, previous_title=before[0] if before else "")
    return article


def _passages_rebuild(*, article: Article, previous_title: str) -> None:
    """Replaces the article's passages. A passage whose embedded text is unchanged keeps its embedding, so
    publishing, unpublishing or retagging an article, or editing one section, re-embeds nothing else."""
    kept = {
        passage_context(title=previous_title, heading=old.heading, text=old.text): (
            None if old.embedding is None else bytes(old.embedding),  # PostgreSQL hands back a memoryview
            old.encoder,
        )
        for old in article.passages.all()
    }
    article.passages.all().delete()
    passages = []
    for position, draft in enumerate(passages_split(body=article.body)):
        context = passage_context(title=article.title, heading=draft.heading, text=draft.text)
        embedding, encoder = kept.get(context, (None, ""))
        passages.append(
            Passage(
                article=article,
                position=position,
                heading=draft.heading[:300],
                text=draft.text,
                embedding=embedding,
                encoder=encoder,
            )
        )
    Passage.objects.bulk_create(passages)


def passage_embeddings_store(*, embeddings: dict[int, bytes], encoder: str) -> int:
    """Stores float32 embeddings by passage id, with the name of the ``encoder`` that computed them. A passage
    rebuilt (deleted) meanwhile is skipped. Returns how many were stored."""
    passages = list(Passage.objects.filter(pk__in=embeddings).only("pk"))
    for passage in passages:
        passage.embedding, passage.encoder = embeddings[passage.pk], encoder
    Passage.objects.bulk_update(passages, ["embedding", "encoder"], batch_size=500)
    return len(passages)
