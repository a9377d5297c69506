from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import linebreaksbr, truncatechars
from django.urls import reverse
from django.utils.html import format_html

from apps.knowledge.models import Article, ArticleRevision
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
    list_display = ("title", "slug", "locale", "published", "version", "intents", "updated_at", "site_link")
    list_filter = ("published", "locale", "updated_at")
    search_fields = ("title", "slug", "body")
    date_hierarchy = "updated_at"
    inlines = (ArticleRevisionInline,)

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
