"""The import commands fuzzed with generated files: each one either imports or raises CommandError naming the
file and the line; never another exception, never a half import, never text no database can store."""

import csv
import io
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from hypothesis import event, given, settings
from hypothesis import strategies as st

from apps.assistant.models import RatedDialogue, TrainingExample
from apps.knowledge.models import Article, ArticleRevision, Passage
from tests.fuzz import FUZZ

pytestmark = pytest.mark.django_db

# A line number in an error: "FILE:12: ..." or "line 12: ...".
LINE_NUMBER = re.compile(r"(?::|\bline )(\d+)\b")
# Problems of the whole file, which no single line has.
WHOLE_FILE_PROBLEMS = re.compile(
    r"has no rows under its header|holds no (dialogues|conversations)|cannot tell the format"
)
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# --- Text and bytes ----------------------------------------------------------------------------------------

# Every character but lone surrogates (a file's UTF-8 cannot hold them; JSON escapes can, see below).
any_text = st.text(max_size=30)
# What breaks parsers and databases: separators, quotes, NUL, line breaks of every kind, BOMs, RTL marks.
ODD_PIECES = [",", '"', "\t", "\x00", "\r", "\n", "\u2028", "\ufeff", "\u202e", "---", "# ", "- ", ":", "[", "]", "'"]
odd_text = st.lists(any_text | st.sampled_from(ODD_PIECES), max_size=6).map("".join)
huge_text = st.builds(lambda char, size: char * size, st.sampled_from("xé"), st.integers(131_073, 140_000))
plain_text = st.text(alphabet=st.characters(categories=["L", "N"]) | st.just(" "), min_size=1, max_size=20).filter(
    str.strip
)
BAD_BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\xe2\x82", b"\x80\x80", b"\xf4\x90\x80\x80"]


@st.composite
def file_bytes(draw: st.DrawFn, lines: st.SearchStrategy[list[str]]) -> bytes:
    """``lines`` joined by any line ending, mostly in UTF-8, now and then in another encoding or with bytes
    that are no UTF-8 at all."""
    text = draw(st.sampled_from(["\n", "\r\n", "\r"])).join(draw(lines))
    if draw(st.booleans()):
        text += "\n"
    # Booleans, not integers or sampled_from: those favour their first values and would break most files.
    rarely = st.tuples(st.booleans(), st.booleans(), st.booleans()).map(all)
    encoding = draw(st.sampled_from(["utf-8-sig", "utf-16", "latin-1"])) if draw(rarely) else "utf-8"
    raw = text.encode(encoding, errors="replace")
    if draw(rarely):
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from(BAD_BYTES)) + raw[at:]
    return raw


random_bytes = st.binary(max_size=200)


def _good_or(good: st.SearchStrategy, *bad: st.SearchStrategy) -> st.SearchStrategy:
    """``good`` three times in four, else one of ``bad`` (one_of alone picks the bad branches far more often),
    so that a file of several records is often good enough to be imported."""
    return st.builds(
        lambda spoil, spoil_too, kept, spoilt: spoilt if spoil and spoil_too else kept,
        st.booleans(),
        st.booleans(),
        good,
        st.one_of(*bad),
    )


# A field of a record: mostly plain words, else anything at all.
field_text = _good_or(plain_text, odd_text, huge_text, st.sampled_from(["", " ", "x" * 201]))


def _csv_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


# --- The property ------------------------------------------------------------------------------------------


def _rows() -> dict[str, int]:
    return {
        "examples": TrainingExample.objects.count(),
        "articles": Article.objects.count(),
        "revisions": ArticleRevision.objects.count(),
        "passages": Passage.objects.count(),
        "dialogues": RatedDialogue.objects.count(),
    }


def _line_count(content: bytes) -> int:
    """At least as many lines as any reader may number: csv and open() split at \\n, \\r and \\r\\n,
    str.splitlines also at \\v, \\f, \\x1c-\\x1e, \\x85, \\u2028 and \\u2029."""
    text = content.decode("utf-8", errors="replace")
    return max(content.count(b"\n") + content.count(b"\r"), len(text.splitlines())) + 1


def _import_or_refuse(command: str, files: dict[str, bytes], *options: str) -> CommandError | None:
    """Runs ``command`` on ``files`` (name → content) in a fresh folder. A refusal must be a CommandError that
    names a file given and, unless the whole file is the problem, a line of it; and must store nothing."""
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder) / name for name in files]
        for path, content in zip(paths, files.values(), strict=True):
            path.write_bytes(content)
        before = _rows()
        try:
            call_command(command, *map(str, paths), *options, stdout=io.StringIO(), stderr=io.StringIO())
        except CommandError as refused:
            message = str(refused)
            assert any(name in message for name in files), message
            if not WHOLE_FILE_PROBLEMS.search(message):
                numbers = [int(number) for number in LINE_NUMBER.findall(message)]
                assert numbers, f"no line number in {message!r}"
                longest = max(map(_line_count, files.values()))
                assert all(1 <= number <= longest for number in numbers), message
            assert _rows() == before, message
            event("refused")
            return refused
    event("imported")
    return None


def _stored_strings(values: list[Any]) -> list[str]:
    found, pending = [], list(values)
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend([*value.keys(), *value.values()])
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str):
            found.append(value)
    return found


def _assert_nothing_unstorable(query: Callable[[], list[Any]]) -> None:
    assert [text for text in _stored_strings(query()) if UNSTORABLE.search(text)] == []


# --- import_intents ----------------------------------------------------------------------------------------

LABELS = ["card_arrival", "lost_card", "positive", "negative", "neutral"]
label_text = _good_or(st.sampled_from(LABELS), field_text)
intent_header = _good_or(st.sampled_from(["text,label", "text,category"]), st.sampled_from(["label,text", "text", ""]))
intent_row = _good_or(st.tuples(field_text, label_text).map(list), st.lists(field_text, max_size=3)).map(_csv_line)
intents_csv = file_bytes(
    st.builds(lambda header, rows: [header, *rows], intent_header, st.lists(intent_row | st.just(""), max_size=6))
)


@settings(FUZZ, max_examples=80)
@given(content=_good_or(intents_csv, random_bytes), kind=st.sampled_from(["intent", "sentiment"]))
def test_import_intents_imports_or_names_the_file_and_line(content, kind):
    refused = _import_or_refuse("import_intents", {"intents.csv": content}, "--kind", kind)

    if refused is None:
        _assert_nothing_unstorable(lambda: list(TrainingExample.objects.values_list("text", "label")))
        assert not TrainingExample.objects.filter(label="").exists()


# --- import_kb ---------------------------------------------------------------------------------------------

front_matter_line = _good_or(
    st.builds(lambda key, value: f"{key}: {value}", st.sampled_from(["title", "slug", "tags", "intents"]), field_text),
    st.builds(lambda value: f"published: {value}", st.sampled_from(["yes", "no", "maybe", ""])),
    st.builds(lambda item: f"  - {item}", field_text),
    st.builds(lambda key, value: key + value, st.sampled_from(["author: ", "Title: ", ": ", "locale: "]), field_text),
)
body_line = _good_or(field_text, st.sampled_from(["# Title", "## Part", "", "#", "---"]))
markdown_lines = st.builds(
    lambda opened, meta, closed, body: (["---", *meta, *(["---"] if closed else [])] if opened else []) + body,
    st.booleans(),
    st.lists(front_matter_line, max_size=4),
    _good_or(st.just(True), st.just(False)),
    st.lists(body_line, min_size=1, max_size=6),
)
# JSON strings may carry escapes a UTF-8 file cannot hold raw: \u0000 and lone surrogates.
json_strings = _good_or(field_text, st.sampled_from(["\x00", "\ud800", "a\udfffb"]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | json_strings,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(json_strings, children, max_size=3),
    max_leaves=6,
)
article_fields = st.fixed_dictionaries(
    {"title": _good_or(json_strings, json_values), "body": _good_or(json_strings, json_values)},
    optional={
        "slug": _good_or(st.sampled_from(["a-slug", "b_slug"]), json_strings),
        "locale": _good_or(st.sampled_from(["en", "fr"]), json_strings),
        "intents": _good_or(st.lists(json_strings, max_size=3), json_values),
        "tags": _good_or(st.lists(json_strings, max_size=3), json_values),
        "published": _good_or(st.booleans(), json_values),
        "author": json_values,
    },
)
jsonl_line = _good_or(article_fields.map(json.dumps), json_values.map(json.dumps), odd_text)
kb_file = _good_or(
    st.tuples(st.sampled_from([".md", ".markdown"]), file_bytes(markdown_lines)),
    st.tuples(st.just(".jsonl"), file_bytes(st.lists(jsonl_line, min_size=1, max_size=4))),
    st.tuples(st.sampled_from([".md", ".jsonl", ".txt"]), random_bytes),
)


@settings(FUZZ, max_examples=80)
@given(files=st.lists(kb_file, min_size=1, max_size=3))
def test_import_kb_imports_or_names_the_file_and_line(files):
    named = {f"article{number}{suffix}": content for number, (suffix, content) in enumerate(files)}

    refused = _import_or_refuse("import_kb", named)

    if refused is None:
        _assert_nothing_unstorable(
            lambda: list(Article.objects.values_list("title", "body", "slug", "tags", "intents"))
        )
        assert not Article.objects.filter(title="").exists()


# --- import_conversations ----------------------------------------------------------------------------------

chat_message = st.fixed_dictionaries(
    {"role": _good_or(st.sampled_from(["customer", "agent", "bot"]), json_values), "text": json_strings},
    optional={
        "rating": _good_or(st.integers(1, 5), st.integers(-1, 7), json_values),
        "seconds": _good_or(st.floats(0, 1e6), json_values),
        "handoff": _good_or(st.booleans(), json_values),
    },
)
conversation = st.fixed_dictionaries(
    {
        "id": _good_or(st.integers(1, 5), json_strings, st.just("x" * 201), json_values),
        "messages": _good_or(st.lists(chat_message, min_size=1, max_size=3), json_values),
    },
    optional={"csat": _good_or(st.integers(1, 5), st.integers(-1, 7), json_values)},
)
conversations_jsonl = file_bytes(
    st.lists(_good_or(conversation.map(json.dumps), json_values.map(json.dumps), odd_text), min_size=1, max_size=4)
)
uss_line = _good_or(
    st.builds(lambda text, ratings: f"USER\t{text}\tINFORM\t{ratings}", field_text, st.sampled_from(["3,4", "5", "9"])),
    st.builds(lambda text: f"SYSTEM\t{text}\tNOTIFY_SUCCESS\t", field_text),
    st.builds(lambda ratings: f"USER\tOVERALL\t\t{ratings}", st.sampled_from(["2,2,4", "x"])),
    st.lists(_good_or(field_text, st.sampled_from(["USER", "SYSTEM", "OVERALL"])), max_size=5).map("\t".join),
    st.just(""),
)
conversations_uss = file_bytes(st.lists(uss_line, min_size=1, max_size=8))


@settings(FUZZ, max_examples=80)
@given(
    name_and_content=st.one_of(
        st.tuples(st.sampled_from(["chats.jsonl", "chats.json"]), _good_or(conversations_jsonl, random_bytes)),
        st.tuples(st.just("sgd.txt"), _good_or(conversations_uss, random_bytes)),
        st.tuples(st.sampled_from(["chats.csv", "chats"]), random_bytes),
    )
)
def test_import_conversations_imports_or_names_the_file_and_line(name_and_content):
    name, content = name_and_content

    refused = _import_or_refuse("import_conversations", {name: content})

    if refused is None:
        _assert_nothing_unstorable(lambda: list(RatedDialogue.objects.values_list("external_id", "turns")))
        assert all(
            turn["text"].strip() for turns in RatedDialogue.objects.values_list("turns", flat=True) for turn in turns
        )


# --- Good files whose texts are anything: imported exactly, or refused at the line of a text no database stores

# Any text at all, NUL and (in JSON) lone surrogates included; one line each, so that a row is a line.
one_line_text = st.text(alphabet=st.characters(exclude_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"))
good_line = one_line_text.filter(lambda text: text.strip() and "\x00" not in text)
with_nul = st.builds("{}\x00{}".format, one_line_text, one_line_text)
with_surrogate = st.builds("{}\ud800{}".format, one_line_text, one_line_text)


def _good_texts_and_maybe(bad: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """Good texts, and about every other time one bad text among them."""
    return st.builds(
        lambda texts, spoil, at, text: [*texts[:at], text, *texts[at:]] if spoil else texts,
        st.lists(good_line, min_size=1, max_size=4),
        st.booleans(),
        st.integers(0, 4),
        bad,
    )


def _nothing_stored() -> None:
    """Examples share the test's transaction: each of these starts from empty tables."""
    for model in (TrainingExample, Article, RatedDialogue):
        model.objects.all().delete()


def _storable(texts: list[str]) -> bool:
    return all(text.strip() and not UNSTORABLE.search(text) for text in texts)


@settings(FUZZ, max_examples=50)
@given(texts=_good_texts_and_maybe(with_nul))
def test_import_intents_stores_every_good_text_as_written_or_refuses_the_file(texts):
    _nothing_stored()
    rows = [("text", "label"), *((text, LABELS[index % 2]) for index, text in enumerate(texts))]
    content = "\n".join(_csv_line(list(row)) for row in rows).encode()

    refused = _import_or_refuse("import_intents", {"intents.csv": content})

    stored = set(TrainingExample.objects.values_list("text", "label"))
    assert refused is None if _storable(texts) else refused is not None
    assert stored == (set(rows[1:]) if refused is None else set())


@settings(FUZZ, max_examples=50)
@given(bodies=_good_texts_and_maybe(with_nul | with_surrogate))
def test_import_kb_stores_every_good_body_as_written_or_refuses_the_file(bodies):
    _nothing_stored()
    lines = [json.dumps({"title": f"Article {index}", "body": body}) for index, body in enumerate(bodies)]

    refused = _import_or_refuse("import_kb", {"articles.jsonl": "\n".join(lines).encode()})

    stored = list(Article.objects.order_by("slug").values_list("body", flat=True))
    assert refused is None if _storable(bodies) else refused is not None
    assert stored == (bodies if refused is None else [])


@settings(FUZZ, max_examples=50)
@given(texts=_good_texts_and_maybe(with_nul | with_surrogate))
def test_import_conversations_stores_every_good_turn_or_refuses_the_file(texts):
    _nothing_stored()
    lines = [
        json.dumps({"id": index, "messages": [{"role": "customer", "text": text}]}) for index, text in enumerate(texts)
    ]

    refused = _import_or_refuse("import_conversations", {"chats.jsonl": "\n".join(lines).encode()})

    stored = list(RatedDialogue.objects.order_by("pk").values_list("turns", flat=True))
    assert refused is None if _storable(texts) else refused is not None
    assert stored == (
        [[{"role": "customer", "text": text.strip(), "rating": None}] for text in texts] if refused is None else []
    )
