import pytest

from apps.knowledge.services import article_save
from apps.recommendations.models import Product

pytestmark = pytest.mark.django_db


def test_home_page_shows_the_active_products(client):
    Product.objects.create(name="Everyday Card", slug="everyday-card", description="A debit card.", category="cards")
    Product.objects.create(name="Old Loan", slug="old-loan", description="Gone.", category="loans", active=False)

    response = client.get("/")

    assert response.status_code == 200
    assert b"Northwind Bank" in response.content
    assert b"Everyday Card" in response.content
    assert b"Old Loan" not in response.content


def test_help_article_renders_markdown_and_strips_scripts(client):
    article_save(
        title="Card arrival",
        body="## When\n\nCards arrive in **3-5 working days**.<script>alert('x')</script>"
        "\n\n[Track it](javascript:alert(1)) <img src=x onerror=alert(1)>",
        intents=["card_arrival"],
    )

    response = client.get("/help/card-arrival/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h2>When</h2>" in html
    assert "<strong>3-5 working days</strong>" in html
    assert "<script>alert" not in html
    assert "onerror" not in html
    assert "javascript:" not in html


def test_unpublished_article_is_not_found(client):
    article_save(title="Draft", body="Not yet", published=False)

    assert client.get("/help/draft/").status_code == 404
    assert b"Draft" not in client.get("/help/").content


def test_article_titles_are_escaped_in_the_help_centre(client):
    article_save(title="<b>Fees</b>", body="None", slug="fees")

    html = client.get("/help/").content.decode()

    assert "&lt;b&gt;Fees&lt;/b&gt;" in html
    assert "<b>Fees</b>" not in html


def test_editing_an_article_keeps_a_revision_per_version(admin_ada):
    article = article_save(title="Fees", body="No fees.", editor=admin_ada)
    article_save(title="Fees", body="No fees.", editor=admin_ada)
    article = article_save(title="Fees", body="A 1% fee on cash.", editor=admin_ada)

    assert article.version == 2
    assert list(article.revisions.values_list("version", "body")) == [(2, "A 1% fee on cash."), (1, "No fees.")]


def test_healthz_answers_from_the_database(client):
    assert client.get("/healthz").json() == {"status": "ok"}
