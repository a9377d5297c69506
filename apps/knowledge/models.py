from django.conf import settings
from django.db import models


class Article(models.Model):
    """A help-centre article in Markdown; every saved edit is kept as an ArticleRevision."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200)
    body = models.TextField(help_text="Markdown; rendered with raw HTML removed.")
    locale = models.CharField(max_length=16, default="en")
    tags = models.JSONField(default=list, blank=True)
    # Intent labels this article answers, e.g. ["card_arrival", "card_delivery_estimate"].
    intents = models.JSONField(default=list, blank=True)
    published = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [models.UniqueConstraint(fields=["locale", "slug"], name="article_unique_slug_per_locale")]
        indexes = [models.Index(fields=["published", "locale"], name="article_published_idx")]

    def __str__(self) -> str:
        return self.title


class ArticleRevision(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["article", "-version"]
        constraints = [models.UniqueConstraint(fields=["article", "version"], name="revision_unique_version")]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.version}"


class Passage(models.Model):
    """A section-sized piece of a published article, the unit the bot retrieves. Rebuilt by article_save; the
    assistant's index fills in the embedding (apps/assistant/retrieval.py, ``manage.py index_kb``)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="passages")
    position = models.PositiveIntegerField()
    heading = models.CharField(max_length=300, blank=True)
    text = models.TextField(help_text="Markdown, as written in the article.")
    # float32 bytes of the L2-normalised vector of passage_context(); null until the index embeds it.
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    # Which encoder the embedding came from: an embedding by another encoder is recomputed, never compared.
    encoder = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["article", "position"]
        constraints = [models.UniqueConstraint(fields=["article", "position"], name="passage_unique_position")]

    def __str__(self) -> str:
        return f"{self.article_id} #{self.position} {self.heading}".rstrip()
