"""The article admin shows the passages the bot retrieves from, read-only, and how many each article has."""

import re

import pytest

from apps.knowledge.services import article_save

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_article_page_lists_its_passages_read_only(client, admin_ada):
    article = article_save(title="Card arrival", body="Cards arrive in **five** days.\n\n## Track\n\nOpen Cards.")
    article.passages.filter(position=0).update(embedding=b"\x00" * 8, encoder="tiny#1")
    client.force_login(admin_ada)

    html = client.get(f"/admin/knowledge/article/{article.pk}/change/").content.decode()

    assert "Cards arrive in five days." in _text(html)
    assert 'name="passages-0-heading"' not in html  # shown, never edited
    assert html.count('src="/static/admin/img/icon-yes.svg"') == 1
    assert html.count('src="/static/admin/img/icon-no.svg"') == 1


def test_the_article_list_counts_passages_in_a_fixed_number_of_queries(client, admin_ada, django_assert_num_queries):
    article_save(title="One", body="First.\n\n## Two\n\nSecond.")
    article_save(title="Empty-ish", body="Only this.")
    client.force_login(admin_ada)
    client.get("/admin/knowledge/article/")

    with django_assert_num_queries(8):
        client.get("/admin/knowledge/article/")
    article_save(title="Three", body="Third.\n\n## More\n\nAnd more.\n\n## Most\n\nThe most.")
    with django_assert_num_queries(8):  # the count is annotated: no query per article
        html = client.get("/admin/knowledge/article/").content.decode()

    counts = re.findall(r'<td class="field-passage_count">(\d+)</td>', html)
    assert sorted(counts) == ["1", "2", "3"]
