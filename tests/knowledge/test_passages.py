"""Articles split into passages by article_save: headings, paragraph packing, merging, rebuilds."""

import pytest

from apps.knowledge.models import Passage
from apps.knowledge.passages import MAX_WORDS, markdown_plain, passage_context, passages_split, text_snippet
from apps.knowledge.services import article_save

CARD_DELIVERY = """We post cards the next working day. Standard delivery takes 3-5 working days.

## Track your card
1. Open the app and go to **Cards**.
2. Tap the card, then **Track delivery**.

## While you wait
You can use a [virtual card](/help/virtual-cards/) straight away.
"""


def _words(count: int, word: str = "word") -> str:
    return " ".join([word] * count)


def _drafts(body: str) -> list[tuple[str, str]]:
    return [(draft.heading, draft.text) for draft in passages_split(body=body)]


def test_each_section_is_a_passage_with_its_heading():
    assert _drafts(CARD_DELIVERY) == [
        ("", "We post cards the next working day. Standard delivery takes 3-5 working days."),
        ("Track your card", "1. Open the app and go to **Cards**.\n2. Tap the card, then **Track delivery**."),
        ("While you wait", "You can use a [virtual card](/help/virtual-cards/) straight away."),
    ]


def test_short_paragraphs_of_a_section_merge_and_long_ones_stay_apart():
    body = f"## Fees\n\n{_words(10, 'a')}\n\n{_words(10, 'b')}\n\n{_words(100, 'c')}\n\n{_words(90, 'd')}"

    assert _drafts(body) == [
        ("Fees", f"{_words(10, 'a')}\n\n{_words(10, 'b')}\n\n{_words(100, 'c')}"),
        ("Fees", _words(90, "d")),
    ]


def test_a_long_paragraph_is_cut_at_sentence_ends_into_balanced_passages():
    sentence = _words(30, "word") + "."
    body = " ".join([sentence] * 6)  # 180 words: two passages of 90

    drafts = passages_split(body=body)

    assert [draft.words for draft in drafts] == [90, 90]
    assert drafts[0].text == " ".join([sentence] * 3)
    assert all(draft.words <= MAX_WORDS for draft in drafts)


def test_a_long_list_is_cut_between_items():
    items = [f"- {_words(19, f'item{n}')}" for n in range(8)]  # 8 items of 20 words (the dash counts)

    drafts = passages_split(body="## Steps\n" + "\n".join(items))

    assert [(draft.heading, draft.words) for draft in drafts] == [("Steps", 80), ("Steps", 80)]
    assert drafts[1].text == "\n".join(items[4:])


def test_a_sentence_longer_than_a_passage_is_cut_by_words():
    assert [draft.words for draft in passages_split(body=_words(250))] == [120, 130]


def test_a_heading_without_text_prefixes_the_next_one_and_code_blocks_stay_whole():
    body = "# Cards\n## Freeze\n```\nline one\n\n# not a heading\n```\n\nThen tap Freeze."

    assert _drafts(body) == [("Cards / Freeze", "```\nline one\n\n# not a heading\n```\n\nThen tap Freeze.")]


def test_passages_are_embedded_with_the_title_and_heading_as_context_without_markup():
    text = "| Option | Price |\n|---|---|\n| **Express** | [£4.99](/fees/) |\n- `Tap` here"

    assert markdown_plain(text) == "Option Price\nExpress £4.99\nTap here"
    assert passage_context(title="Card delivery", heading="Options", text=text) == (
        "Card delivery\nOptions\nOption Price\nExpress £4.99\nTap here"
    )
    assert passage_context(title="Card delivery", heading="", text="Soon.") == "Card delivery\nSoon."


def test_a_snippet_is_plain_text_cut_at_a_word():
    assert text_snippet("**Cards** arrive in five working days", max_chars=20) == "Cards arrive in five…"
    assert text_snippet("Short.", max_chars=20) == "Short."


@pytest.mark.django_db
def test_saving_an_article_stores_its_passages_without_embeddings():
    article = article_save(title="When will my card arrive?", body=CARD_DELIVERY, intents=["card_arrival"])

    assert list(article.passages.values_list("position", "heading", "embedding", "encoder")) == [
        (0, "", None, ""),
        (1, "Track your card", None, ""),
        (2, "While you wait", None, ""),
    ]


@pytest.mark.django_db
def test_editing_the_body_rebuilds_the_passages_and_keeps_unchanged_embeddings():
    article = article_save(title="Card", body="## One\nFirst text.\n\n## Two\nSecond text.")
    article.passages.update(embedding=b"\x00" * 8, encoder="tiny#1")

    article_save(title="Card", body="## One\nFirst text.\n\n## Two\nSecond text, edited.")

    assert list(article.passages.values_list("heading", "text", "embedding", "encoder")) == [
        ("One", "First text.", b"\x00" * 8, "tiny#1"),
        ("Two", "Second text, edited.", None, ""),
    ]


@pytest.mark.django_db
def test_a_new_title_changes_every_passages_context_so_none_keeps_its_embedding():
    article = article_save(title="Card", body="First text.", slug="card")
    article.passages.update(embedding=b"\x00" * 8, encoder="tiny#1")

    article_save(title="Cards", body="First text.", slug="card")

    assert list(article.passages.values_list("text", "embedding")) == [("First text.", None)]


@pytest.mark.django_db
def test_unpublishing_rebuilds_the_passages_and_an_unchanged_save_leaves_them_alone():
    article = article_save(title="Card", body="First text.")
    first_id = article.passages.get().pk

    article_save(title="Card", body="First text.")
    assert article.passages.get().pk == first_id

    article_save(title="Card", body="First text.", published=False)
    assert article.passages.get().pk != first_id

    article_save(title="Card", body="First text.", published=False, intents=["card_arrival"])
    assert Passage.objects.count() == 1
