"""manage.py import_kb: Markdown with front matter and JSONL, every problem named FILE:LINE, all or nothing."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.knowledge.models import Article, ArticleRevision
from apps.knowledge.services import article_save

pytestmark = pytest.mark.django_db

FRONT_MATTER_ARTICLE = """---
title: When will my card arrive?
slug: card-delivery
intents: [card_arrival, card_delivery_estimate]
tags:
  - cards
  - "delivery"
published: yes
---
We post cards the next working day.

## Track your card
Open **Cards** and tap Track delivery.
"""


def _import(*paths: Path) -> str:
    out = StringIO()
    call_command("import_kb", *map(str, paths), stdout=out)
    return out.getvalue().strip()


def _import_error(*paths: Path) -> str:
    with pytest.raises(CommandError) as raised:
        _import(*paths)
    return str(raised.value)


def _jsonl(path: Path, *rows) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def test_markdown_with_front_matter_is_imported(tmp_path):
    (tmp_path / "delivery.md").write_text(FRONT_MATTER_ARTICLE)

    assert _import(tmp_path) == "1 created, 0 updated, 0 unchanged (1 file)"

    article = Article.objects.get()
    assert (article.title, article.slug, article.locale, article.published) == (
        "When will my card arrive?",
        "card-delivery",
        "en",
        True,
    )
    assert (article.intents, article.tags) == (["card_arrival", "card_delivery_estimate"], ["cards", "delivery"])
    assert (
        article.body
        == "We post cards the next working day.\n\n## Track your card\nOpen **Cards** and tap Track delivery.\n"
    )
    assert list(article.passages.values_list("heading", flat=True)) == ["", "Track your card"]


def test_markdown_without_front_matter_takes_its_title_from_the_first_heading(tmp_path):
    (tmp_path / "fees.md").write_text("# Our fees\n\nNo fees on card payments.\n")

    _import(tmp_path / "fees.md")

    article = Article.objects.get()
    assert (article.title, article.slug, article.body, article.intents) == (
        "Our fees",
        "our-fees",
        "No fees on card payments.\n",
        [],
    )


def test_jsonl_is_imported_and_a_second_import_counts_updates_and_unchanged(tmp_path):
    rows = [
        {"title": "Fees", "body": "No fees.", "intents": ["card_fees"], "tags": ["fees"]},
        {"title": "PIN", "slug": "pin-help", "body": "Your PIN is in the app.", "published": False},
    ]
    path = _jsonl(tmp_path / "kb.jsonl", *rows)
    assert _import(path) == "2 created, 0 updated, 0 unchanged (1 file)"

    _jsonl(path, rows[0], {**rows[1], "body": "Your PIN is in the app: Cards, Show PIN."})
    assert _import(path) == "0 created, 1 updated, 1 unchanged (1 file)"

    assert list(Article.objects.values_list("slug", "published", "version")) == [
        ("fees", True, 1),
        ("pin-help", False, 2),
    ]
    assert ArticleRevision.objects.count() == 3


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"title": "Fees"', "kb.jsonl:2: not valid JSON (Expecting ',' delimiter at column 17)"),
        ('["Fees", "No fees."]', "kb.jsonl:2: each line is one JSON object with title and body"),
        ('{"title": "Fees"}', "kb.jsonl:2: body is empty"),
        ('{"body": "No fees."}', "kb.jsonl:2: title is missing"),
        (
            '{"title": "Fees", "body": "x", "intents": "card_fees"}',
            'kb.jsonl:2: intents must be a list of strings, e.g. ["card_arrival"]',
        ),
        ('{"title": "Fees", "body": "x", "published": "yes"}', "kb.jsonl:2: published must be true or false"),
        (
            '{"title": "Fees", "body": "x", "slug": "no spaces"}',
            "kb.jsonl:2: slug 'no spaces' is not a slug (letters, digits, - and _)",
        ),
        (
            '{"title": "Fees", "body": "x", "author": "me"}',
            "kb.jsonl:2: unknown keys author (allowed: body, intents, locale, published, slug, tags, title)",
        ),
        ('{"title": "Cards", "body": "x"}', "kb.jsonl:2: slug 'cards' (en) is also used at"),
    ],
)
def test_a_bad_jsonl_line_is_named_and_nothing_is_imported(tmp_path, line, problem):
    path = _jsonl(tmp_path / "kb.jsonl", {"title": "Cards", "body": "About cards."}, line)

    message = _import_error(path)

    assert message.startswith("Nothing imported:\n")
    assert f"{tmp_path}/{problem}" in message
    assert Article.objects.count() == 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("---\ntitle: Fees\nauthor: me\n---\nNo fees.", "fees.md:3: front matter line 'author: me' is not one of"),
        ("---\ntitle: Fees\n", "fees.md:1: front matter opened with --- is never closed by a --- line"),
        ("No fees at all.", "fees.md:1: no title: add `title:` to the front matter or a `# Title` heading"),
        (
            "---\ntitle: Fees\npublished: maybe\n---\nNo fees.",
            "fees.md:3: published must be true or false, not 'maybe'",
        ),
        ("---\ntitle: Fees\nslug: Fees and more!\n---\nNo fees.", "fees.md:3: slug 'Fees and more!' is not a slug"),
        (
            "---\ntitle: Fees\n- cards\n---\nNo fees.",
            "fees.md:3: a `- item` line belongs under tags: or intents:, not title",
        ),
        ("---\ntitle: Fees\n---\n\n", "fees.md:4: body is empty"),
        (
            "---\ntitle: Fees\nlocale: en-GB-oxford-x-private\n---\nx",
            "fees.md:3: locale 'en-GB-oxford-x-private' must be",
        ),
    ],
)
def test_a_bad_markdown_file_is_named_with_its_line_and_nothing_is_imported(tmp_path, text, problem):
    (tmp_path / "good.md").write_text("# Cards\n\nAbout cards.")
    (tmp_path / "fees.md").write_text(text)

    message = _import_error(tmp_path)

    assert f"{tmp_path}/{problem}" in message
    assert Article.objects.count() == 0


def test_every_problem_is_reported_at_once(tmp_path):
    path = _jsonl(tmp_path / "kb.jsonl", "{", {"title": "Fees", "body": "x"}, {"title": "PIN"})
    (tmp_path / "other.txt").write_text("not an article")

    message = _import_error(path, tmp_path / "other.txt", tmp_path / "missing.md")

    assert message.splitlines()[1:] == [
        f"{path}:1: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        f"{path}:3: body is empty",
        f"{tmp_path}/other.txt:1: not a Markdown (.md) or JSONL (.jsonl) file",
        f"{tmp_path}/missing.md:1: cannot be read ([Errno 2] No such file or directory: '{tmp_path}/missing.md')",
    ]


def test_a_failure_while_saving_rolls_back_the_articles_saved_before_it(tmp_path):
    article_save(title="Existing", body="Kept as it was.", slug="existing")
    path = _jsonl(
        tmp_path / "kb.jsonl",
        {"title": "Existing", "slug": "existing", "body": "Changed."},
        {"title": "New", "body": "Saved, then rolled back."},
        {"title": "Long slug", "body": "x", "slug": "a" * 201},  # a slug, but too long for the column
    )

    message = _import_error(path)

    assert message == f"Nothing imported:\n{path}:3: Ensure this value has at most 200 characters (it has 201)."
    assert list(Article.objects.values_list("slug", "body", "version")) == [("existing", "Kept as it was.", 1)]


def test_a_folder_without_articles_is_an_error(tmp_path):
    assert _import_error(tmp_path) == f"No .md or .jsonl files in {tmp_path}"
