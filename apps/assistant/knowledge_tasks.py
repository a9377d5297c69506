"""Celery tasks of knowledge retrieval. ``analyse_search`` starts with ``analyse_`` so it runs on the
``inference`` queue, where the encoder and the passage index are loaded (CELERY_TASK_ROUTES); web processes
send it by name (apps/knowledge/search.py) and never import this module. apps/assistant/tasks.py imports it so
workers register it."""

from dataclasses import asdict
from typing import Any

from celery import shared_task

from apps.assistant.retrieval import passages_search
from apps.knowledge.search import SEARCH_TASK


# Not acks_late: a search nobody waits for any more is not worth running twice after a worker dies.
@shared_task(name=SEARCH_TASK, acks_late=False)
def analyse_search(
    query: str, k: int = 3, locale: str = "en", intents: list[str] | None = None
) -> list[dict[str, Any]]:
    """The passages_search hits for ``query``, as JSON-safe dicts (PassageHit's fields)."""
    return [asdict(hit) for hit in passages_search(query, k=k, locale=locale, intents=intents)]
