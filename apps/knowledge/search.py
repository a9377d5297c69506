"""The help centre's search, for web processes: the assistant's passage index answers through a Celery task
sent by name, so a web process never loads torch; when no worker answers in time, a keyword search of the
database does.

Embedded (eager Celery) the task runs here, in this process, like every other task."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from apps.knowledge.passages import text_snippet
from apps.knowledge.selectors import article_search_keywords
from helpdesk.celery import app as celery_app

logger = logging.getLogger(__name__)

SEARCH_TASK = "apps.assistant.tasks.analyse_search"  # analyse_*: the inference queue, beside the encoder
MAX_QUERY_CHARS = 200


@dataclass(frozen=True)
class SearchResult:
    title: str
    url: str
    heading: str
    snippet: str  # plain text: templates escape it like any other string


@dataclass(frozen=True)
class HelpSearch:
    query: str
    results: list[SearchResult]
    keyword_fallback: bool  # True when the passage index did not answer and the keyword search did


def help_centre_search(*, query: str, locale: str = "en", k: int = 5) -> HelpSearch:
    """The best passages for ``query`` from the passage index, else the best keyword matches."""
    query = " ".join(query.split())[:MAX_QUERY_CHARS]
    try:
        hits = _passage_hits(query=query, locale=locale, k=k)
    # The help centre must answer whatever happens on the model side: a broker down, a busy or missing
    # worker (Celery's TimeoutError), or a model that fails to load all fall back to the keyword search.
    except Exception:
        logger.warning("help-centre search for %r fell back to keywords", query, exc_info=True)
        return HelpSearch(query=query, results=_keyword_results(query=query, locale=locale, k=k), keyword_fallback=True)
    results = [
        SearchResult(
            title=hit["article_title"],
            url=hit["article_url"],
            heading=hit["heading"],
            snippet=text_snippet(hit["text"]),
        )
        for hit in hits
    ]
    return HelpSearch(query=query, results=results, keyword_fallback=False)


def _passage_hits(*, query: str, locale: str, k: int) -> list[dict]:
    kwargs = {"k": k, "locale": locale}
    if celery_app.conf.task_always_eager:
        celery_app.loader.import_default_modules()
        return celery_app.tasks[SEARCH_TASK].apply(args=(query,), kwargs=kwargs).get()
    timeout = settings.HELPDESK_SEARCH_TIMEOUT
    # expires: a search still queued when the page has given up on it is dropped, not run for nobody.
    result = celery_app.send_task(SEARCH_TASK, args=(query,), kwargs=kwargs, expires=timeout)
    try:
        return result.get(timeout=timeout)
    finally:
        result.forget()


def _keyword_results(*, query: str, locale: str, k: int) -> list[SearchResult]:
    return [
        SearchResult(
            title=article.title,
            url=reverse("web:help-article", kwargs={"slug": article.slug}),
            heading="",
            snippet=text_snippet(article.body),
        )
        for article in article_search_keywords(query=query, locale=locale, limit=k)
    ]
