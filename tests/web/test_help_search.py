"""The help centre's search: the assistant's passage index through its Celery task, a keyword search of the
database when no worker answers, and everything the visitor typed escaped."""

import pytest
from celery.exceptions import TimeoutError as CeleryTimeoutError
from kombu.exceptions import OperationalError

from apps.assistant.retrieval import knowledge_index
from apps.knowledge.search import SEARCH_TASK
from apps.knowledge.selectors import article_search_keywords
from apps.knowledge.services import article_save
from helpdesk.celery import app as celery_app
from tests.assistant.conftest import tiny_encoder, tiny_encoder_path  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tiny_encoder")]

FALLBACK_NOTE = "Smart search is busy right now, so these are plain keyword matches."


@pytest.fixture(autouse=True)
def fresh_knowledge_index():
    knowledge_index.reset()
    yield
    knowledge_index.reset()


@pytest.fixture
def kb():
    article_save(
        title="Card arrival",
        slug="card-arrival",
        intents=["card_arrival"],
        body="## Still waiting\n\nmy card has still not arrived please help\n\n## Track\n\nwhere is my new card",
    )
    article_save(title="Transfers", slug="transfers", body="## Pending\n\nmy transfer is still pending")
    article_save(title="Draft refunds", slug="draft", body="refund of a declined payment", published=False)


class _Unanswered:
    """What send_task returns when no worker answers in time."""

    def __init__(self, sent: list) -> None:
        self.sent = sent

    def get(self, timeout: float):
        self.sent.append(("get", timeout))
        raise CeleryTimeoutError("The operation timed out.")

    def forget(self) -> None:
        self.sent.append(("forget",))


@pytest.fixture
def with_workers():
    """Celery as with REDIS_URL: tasks go to workers (send_task is replaced by each test)."""
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


def test_a_search_shows_the_best_passages_linked_to_their_articles(client, kb):
    html = client.get("/help/", {"q": "my card has still not arrived"}).content.decode()

    assert "Results for “my card has still not arrived”" in html
    assert '<li><a href="/help/card-arrival/">Card arrival</a> <span class="muted">Still waiting</span>' in html
    assert "<p>my card has still not arrived please help</p>" in html
    assert FALLBACK_NOTE not in html
    assert "Draft refunds" not in html


def test_the_query_and_the_results_are_escaped(client):
    article_save(title="<b>Fees</b>", slug="fees", body="## <i>Cards</i>\n\nno fee on a card <script>x</script>")

    html = client.get("/help/", {"q": "<script>alert(1)</script> fee"}).content.decode()

    assert "Results for “&lt;script&gt;alert(1)&lt;/script&gt; fee”" in html
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt; fee"' in html
    assert (
        '<a href="/help/fees/">&lt;b&gt;Fees&lt;/b&gt;</a> <span class="muted">&lt;i&gt;Cards&lt;/i&gt;</span>' in html
    )
    assert "<p>no fee on a card &lt;script&gt;x&lt;/script&gt;</p>" in html
    assert "<script>alert" not in html
    assert "<script>x" not in html


def test_without_a_query_the_page_lists_the_articles_and_searches_nothing(client, kb, monkeypatch):
    monkeypatch.setattr(knowledge_index, "search", lambda *args, **kwargs: pytest.fail("searched"))

    html = client.get("/help/", {"q": "  "}).content.decode()

    assert "Results for" not in html
    assert '<a href="/help/transfers/">Transfers</a>' in html


def test_a_worker_that_does_not_answer_in_time_gives_keyword_results(client, kb, with_workers, monkeypatch, settings):
    settings.HELPDESK_SEARCH_TIMEOUT = 0.5
    sent = []

    def send_task(name, args, kwargs, expires):
        sent.append((name, args, kwargs, expires))
        return _Unanswered(sent)

    monkeypatch.setattr(celery_app, "send_task", send_task)

    html = client.get("/help/", {"q": "is my card arriving"}).content.decode()

    assert sent == [(SEARCH_TASK, ("is my card arriving",), {"k": 5, "locale": "en"}, 0.5), ("get", 0.5), ("forget",)]
    assert FALLBACK_NOTE in html
    assert '<li><a href="/help/card-arrival/">Card arrival</a>\n      <p>Still waiting' in html
    assert "Transfers</a>\n      <p>" not in html


def test_a_broker_that_is_down_gives_keyword_results(client, kb, with_workers, monkeypatch):
    def send_task(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(celery_app, "send_task", send_task)

    html = client.get("/help/", {"q": "pending transfer"}).content.decode()

    assert FALLBACK_NOTE in html
    assert '<a href="/help/transfers/">Transfers</a>\n      <p>Pending my transfer is still pending</p>' in html


def test_a_worker_that_answers_is_shown_as_it_answered(client, with_workers, monkeypatch):
    hit = {
        "passage_id": 7,
        "article_id": 3,
        "article_title": "Card arrival",
        "article_slug": "card-arrival",
        "article_url": "/help/card-arrival/",
        "heading": "Track",
        "text": "Open **Cards** and tap [Track](/help/track/).",
        "score": 0.81,
        "article_intents": ["card_arrival"],
    }

    class Answered:
        def get(self, timeout):
            return [hit]

        def forget(self):
            pass

    monkeypatch.setattr(celery_app, "send_task", lambda *args, **kwargs: Answered())

    html = client.get("/help/", {"q": "track my card"}).content.decode()

    assert '<a href="/help/card-arrival/">Card arrival</a> <span class="muted">Track</span>' in html
    assert "<p>Open Cards and tap Track.</p>" in html
    assert FALLBACK_NOTE not in html


def test_the_keyword_search_ranks_title_matches_first_and_skips_drafts_and_common_words(kb):
    article_save(title="Card fees", slug="card-fees", body="What a card costs.")

    assert [article.slug for article in article_search_keywords(query="card not arrived")] == [
        "card-arrival",
        "card-fees",
    ]
    assert article_search_keywords(query="refund declined") == []  # only the unpublished draft has them
    assert article_search_keywords(query="how is it the") == []


def test_a_search_page_costs_a_fixed_number_of_queries(client, kb, django_assert_num_queries):
    client.get("/help/", {"q": "warm the index"})

    # The signature, the hits' passages with their articles, and the article list.
    with django_assert_num_queries(3):
        response = client.get("/help/", {"q": "my card has still not arrived"})

    assert response.status_code == 200
