from django import forms
from django.contrib import admin
from django.db.models import Count, ExpressionWrapper, Q, QuerySet
from django.db.models.fields import BooleanField
from django.http import HttpRequest
from django.template.defaultfilters import linebreaksbr, truncatechars
from django.urls import reverse
from django.utils.html import format_html

from apps.knowledge.models import Article, ArticleRevision, Passage
from apps.knowledge.passages import text_snippet
from apps.knowledge.services import article_save
from helpdesk.admin_base import ReadOnlyTabularInline


class ArticleRevisionInline(ReadOnlyTabularInline):
    """Every saved edit of the article, newest first; written by article_save, never edited."""

    model = ArticleRevision
    fields = ("version", "title", "body_excerpt", "edited_by", "created_at")
    readonly_fields = fields
    ordering = ("-version",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ArticleRevision]:
        return super().get_queryset(request).select_related("edited_by")

    @admin.display(description="body")
    def body_excerpt(self, revision: ArticleRevision) -> str:
        return format_html(
            "<details><summary>{}</summary><div>{}</div></details>",
            truncatechars(revision.body, 80),
            linebreaksbr(revision.body),
        )


class PassageInline(ReadOnlyTabularInline):
    """The passages the bot retrieves from, as article_save split them; embedded by the assistant's index."""

    model = Passage
    fields = ("position", "heading", "snippet", "embedded")
    readonly_fields = fields
    ordering = ("position",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Passage]:
        # The embedding itself (1.5 kB a passage) is never shown: only whether there is one.
        has_embedding = ExpressionWrapper(Q(embedding__isnull=False), output_field=BooleanField())
        return super().get_queryset(request).defer("embedding").annotate(has_embedding=has_embedding)

    @admin.display(description="text")
    def snippet(self, passage: Passage) -> str:
        return text_snippet(passage.text, max_chars=160)

    @admin.display(description="embedded", boolean=True)
    def embedded(self, passage: Passage) -> bool:
        return passage.has_embedding


def _list_of_strings(value, name: str) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise forms.ValidationError(f'{name} are a JSON list of strings, e.g. ["card_arrival"].')
    return value


class ArticleAdminForm(forms.ModelForm):
    class Meta:
        model = Article
        fields = ("title", "slug", "locale", "body", "tags", "intents", "published")

    def clean_tags(self):
        return _list_of_strings(self.cleaned_data.get("tags"), "Tags")

    def clean_intents(self):
        return _list_of_strings(self.cleaned_data.get("intents"), "Intents")


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleAdminForm
    list_display = (
        "title",
        "slug",
        "locale",
        "published",
        "version",
        "intents",
        "passage_count",
        "updated_at",
        "site_link",
    )
    list_filter = ("published", "locale", "updated_at")
    search_fields = ("title", "slug", "body")
    date_hierarchy = "updated_at"
    inlines = (PassageInline, ArticleRevisionInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Article]:
        return super().get_queryset(request).annotate(passage_count=Count("passages"))

    @admin.display(description="passages", ordering="passage_count")
    def passage_count(self, article: Article) -> int:
        return article.passage_count

    def get_fields(self, request: HttpRequest, obj: Article | None = None):
        fields = ["title", "slug", "locale", "body", "tags", "intents", "published"]
        return fields if obj is None else [*fields, "version", "created_at", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Article | None = None):
        # article_save finds the article by (locale, slug): changing either would make a new article.
        return () if obj is None else ("slug", "locale", "version", "created_at", "updated_at")

    def get_prepopulated_fields(self, request: HttpRequest, obj: Article | None = None):
        return {"slug": ("title",)} if obj is None else {}

    def view_on_site(self, article: Article) -> str | None:
        # The help centre serves published English articles only; anything else would be a 404.
        if not article.published or article.locale != "en":
            return None
        return reverse("web:help-article", kwargs={"slug": article.slug})

    @admin.display(description="on site")
    def site_link(self, article: Article) -> str | None:
        url = self.view_on_site(article)
        return format_html('<a href="{}">{}</a>', url, url) if url else None

    def save_model(self, request: HttpRequest, obj: Article, form: ArticleAdminForm, change: bool) -> None:
        """Write through article_save so an edit of title or body bumps the version and keeps a revision."""
        saved = article_save(
            title=obj.title,
            body=obj.body,
            locale=obj.locale,
            slug=obj.slug,
            tags=obj.tags,
            intents=obj.intents,
            published=obj.published,
            editor=request.user,
        )
        obj.pk = saved.pk
        obj.refresh_from_db()
