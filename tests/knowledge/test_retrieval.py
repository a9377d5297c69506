"""Passage retrieval on a small fixture KB with the tiny random encoder: real embedding, storage and search."""

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from apps.assistant.knowledge_tasks import analyse_search
from apps.assistant.retrieval import INTENT_BOOST, PassageHit, encoder_name, knowledge_index, passages_search
from apps.knowledge.models import Article, Passage
from apps.knowledge.services import article_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def kb(tiny_encoder) -> dict[str, Article]:
    """Three published articles of two passages each, in the tiny encoder's vocabulary, and a draft."""
    specs = {
        "arrival": ("Card arrival", ["card_arrival"], "when will my new card arrive", "my card has still not arrived"),
        "lost": ("Lost card", ["lost_or_stolen_card"], "block my lost or stolen card", "freeze my card please"),
        "transfer": ("Transfer", ["pending_transfer"], "my transfer is still pending", "refund of a declined payment"),
    }
    articles = {
        key: article_save(title=title, slug=key, intents=intents, body=f"## Where\n\n{first}\n\n## Help\n\n{second}")
        for key, (title, intents, first, second) in specs.items()
    }
    articles["draft"] = article_save(title="Draft", slug="draft", body="hello speak to a human agent", published=False)
    return articles


def _titles(hits: list[PassageHit]) -> list[str]:
    return [hit.article_title for hit in hits]


def test_the_exact_text_of_a_passage_finds_that_passage_first(kb):
    published = Passage.objects.filter(article__published=True).order_by("pk")

    firsts = {passage.pk: passages_search(passage.text, k=1)[0].passage_id for passage in published}

    assert firsts == {passage.pk: passage.pk for passage in published}


def test_a_hit_carries_its_passage_article_and_public_link(kb):
    passage = kb["arrival"].passages.get(heading="Help")

    hit = passages_search("my card has still not arrived", k=1)[0]

    assert (hit.passage_id, hit.article_id, hit.article_title, hit.article_slug, hit.article_url) == (
        passage.pk,
        kb["arrival"].pk,
        "Card arrival",
        "arrival",
        "/help/arrival/",
    )
    assert (hit.heading, hit.text, hit.article_intents) == ("Help", "my card has still not arrived", ["card_arrival"])
    assert 0.5 < hit.score <= 1.0001


def test_hits_are_ranked_by_cosine_similarity_to_the_query(kb):
    hits = passages_search("my card has not arrived", k=6)

    vectors = {
        passage.pk: np.frombuffer(passage.embedding, dtype="<f4")
        for passage in Passage.objects.filter(article__published=True)
    }
    query = knowledge_index.encoder()[0].embed(["my card has not arrived"])[0].numpy()
    expected = sorted(vectors, key=lambda pk: -float(vectors[pk] @ query))
    assert [hit.passage_id for hit in hits] == expected
    assert [hit.score for hit in hits] == pytest.approx([float(vectors[pk] @ query) for pk in expected], abs=1e-5)


def test_the_intent_boost_lifts_the_articles_of_that_intent_without_excluding_others(kb):
    query = "my card is still pending"
    plain = passages_search(query, k=6)
    runner_up = next(hit for hit in plain if hit.article_title != plain[0].article_title)
    assert plain[0].score - runner_up.score < INTENT_BOOST  # the fixture makes the boost decide

    boosted = passages_search(query, k=6, intents=runner_up.article_intents)

    assert boosted[0].passage_id == runner_up.passage_id
    assert boosted[0].score == pytest.approx(runner_up.score + INTENT_BOOST, abs=1e-5)
    assert sorted(hit.passage_id for hit in boosted) == sorted(hit.passage_id for hit in plain)


def test_unpublished_articles_are_never_returned_even_for_their_exact_text(kb):
    hits = passages_search("hello speak to a human agent", k=10)

    assert len(hits) == 6
    assert "Draft" not in _titles(hits)
    assert kb["draft"].passages.get().embedding is None  # nothing embedded for a draft either


def test_the_index_refreshes_after_an_edit_without_a_restart_and_embeds_the_new_passages(kb, tiny_encoder):
    passages_search("block my card", k=1)

    article_save(title="Lost card", slug="lost", intents=["lost_or_stolen_card"], body="tell me a joke about football")
    new_passage = kb["lost"].passages.get()
    assert new_passage.embedding is None

    hit = passages_search("tell me a joke about football", k=1)[0]

    assert (hit.passage_id, hit.text) == (new_passage.pk, "tell me a joke about football")
    new_passage.refresh_from_db()
    assert (new_passage.encoder, len(new_passage.embedding)) == (encoder_name(tiny_encoder), 32 * 4)


def test_unpublishing_takes_an_article_out_of_the_next_search(kb):
    assert passages_search("block my lost or stolen card", k=1)[0].article_title == "Lost card"

    article_save(title="Lost card", slug="lost", body=kb["lost"].body, published=False)

    assert "Lost card" not in _titles(passages_search("block my lost or stolen card", k=6))


def test_every_search_embeds_what_is_missing_and_stores_it_for_other_workers(kb, tiny_encoder):
    passages_search("card", k=1)

    stored = Passage.objects.filter(article__published=True).values_list("encoder", flat=True)
    assert set(stored) == {encoder_name(tiny_encoder)}
    assert Passage.objects.filter(article__published=True, embedding__isnull=True).count() == 0


def test_an_embedding_by_another_encoder_is_recomputed(kb, tiny_encoder):
    Passage.objects.update(embedding=np.ones(32, dtype="<f4").tobytes(), encoder="other-model#123")

    passages_search("card", k=1)

    assert set(Passage.objects.filter(article__published=True).values_list("encoder", flat=True)) == {
        encoder_name(tiny_encoder)
    }


def test_a_search_with_nothing_changed_costs_two_queries(kb, django_assert_num_queries):
    passages_search("my card has not arrived", k=3)

    with django_assert_num_queries(2):  # the signature, then the hits' passages with their articles
        passages_search("where is my card", k=3)


def test_other_locales_and_empty_queries_find_nothing(kb):
    article_save(title="Carte", slug="carte", locale="fr", body="my card has still not arrived")

    assert "Carte" not in _titles(passages_search("my card has still not arrived", k=10))
    assert _titles(passages_search("my card has still not arrived", k=1, locale="fr")) == ["Carte"]
    assert passages_search("my card", locale="de") == []
    assert passages_search("   ") == []


def test_the_search_task_returns_json_safe_hits(kb):
    hits = analyse_search.delay("my card has still not arrived", k=2, intents=["card_arrival"]).get()

    assert json.loads(json.dumps(hits)) == hits
    assert [hit["article_slug"] for hit in hits] == ["arrival", "arrival"]
    assert set(hits[0]) == {
        "passage_id",
        "article_id",
        "article_title",
        "article_slug",
        "article_url",
        "heading",
        "text",
        "score",
        "article_intents",
    }


def test_index_kb_embeds_every_passage_missing_an_embedding(kb, tiny_encoder):
    out = StringIO()

    call_command("index_kb", stdout=out)

    assert out.getvalue().startswith("7 passages embedded in ")
    assert out.getvalue().rstrip().endswith("s; 7 passages in all")
    assert Passage.objects.filter(embedding__isnull=True).count() == 0
    out = StringIO()
    call_command("index_kb", stdout=out)
    assert out.getvalue().startswith("0 passages embedded in ")
