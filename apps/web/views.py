from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from apps.knowledge.models import Article
from apps.knowledge.search import help_centre_search
from apps.knowledge.selectors import article_list_published, article_render_html
from apps.recommendations.selectors import product_list_active


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The demo bank's home page, with the products it sells and the chat widget on it."""
    return render(request, "web/home.html", {"products": product_list_active()[:6]})


@require_GET
def help_centre(request: HttpRequest) -> HttpResponse:
    """The published articles; with ``?q=``, the passages that answer it best (the bot's own index)."""
    query = request.GET.get("q", "").strip()
    search = help_centre_search(query=query) if query else None
    return render(request, "web/help_centre.html", {"articles": article_list_published(), "search": search})


@require_GET
def help_article(request: HttpRequest, slug: str) -> HttpResponse:
    article = get_object_or_404(Article, slug=slug, published=True, locale="en")
    return render(
        request, "web/help_article.html", {"article": article, "body_html": article_render_html(article=article)}
    )


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: 200 when the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
