"""The extractive backend: the best passage itself, trimmed to a clean answer. No model and no network, so it is
the default and the fallback of every other backend."""

import re
from dataclasses import dataclass

from apps.assistant.generation.base import GroundingPassage

MAX_ANSWER_CHARS = 450
ELLIPSIS = "…"

_HEADING = re.compile(r"^ {0,3}#{1,6}(\s|$)")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)\s*$")
_RULE = re.compile(r"^ {0,3}([-*_])( *\1){2,}\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_QUOTE = re.compile(r"^ {0,3}>\s?")
_BULLET = re.compile(r"^\s*[-*+]\s+")
_NUMBERED = re.compile(r"^\s*(\d{1,3})[.)]\s+")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_CODE = re.compile(r"`+([^`]*)`+")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
# A sentence ends at . ! or ? (maybe closed by a quote or bracket) before a capital; "e.g. the" stays whole.
_SENTENCE_BREAK = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'\u201d\u2019)\]]))\s+(?=[\"'\u201c\u2018(\[]?[A-Z])")


@dataclass(frozen=True)
class _Unit:
    text: str
    is_item: bool  # a list item keeps its own line and its marker


def extractive_answer(passage: GroundingPassage, max_chars: int = MAX_ANSWER_CHARS) -> str:
    """The passage as an answer: Markdown markers gone, whole sentences and list items up to ``max_chars``.

    Only a first sentence longer than the limit is cut, at a word, with an ellipsis. A passage with nothing but
    headings answers with its title."""
    units = _units(passage.text)
    if not units:
        return _inline(passage.title)
    kept: list[_Unit] = []
    for unit in units:
        if len(_joined([*kept, unit])) > max_chars:
            break
        kept.append(unit)
    if not kept:
        return _cut_at_word(units[0].text, max_chars)
    if len(kept) < len(units) and len(kept) > 1 and kept[-1].text.endswith(":"):
        kept.pop()  # an introduction ("To freeze your card:") whose list did not fit
    return _joined(kept)


def _units(markdown: str) -> list[_Unit]:
    """Sentences of the passage's paragraphs, its list items and table rows, in order; no headings, rules or
    code."""
    return _PassageReader().read(markdown)


class _PassageReader:
    """Reads Markdown line by line, keeping the paragraph, list item or table being read until it ends."""

    def __init__(self) -> None:
        self.units: list[_Unit] = []
        self.paragraph: list[str] = []
        self.table: list[str] = []
        self.in_fence = False

    def read(self, markdown: str) -> list[_Unit]:
        lines = markdown.splitlines()
        for index, raw in enumerate(lines):
            self._line(raw, following=lines[index + 1] if index + 1 < len(lines) else "")
        self._end_block()
        return self.units

    def _line(self, raw: str, following: str) -> None:
        line = _QUOTE.sub("", raw)
        if _FENCE.match(line):
            self.in_fence = not self.in_fence
        if self.in_fence or _FENCE.match(line) or _is_layout(line, following):
            self._end_block()
        elif _TABLE_ROW.match(line):
            self._end_paragraph()
            self.table.append(line)
        elif marker := _list_marker(line):
            self._end_block()
            item = _inline(line[_list_prefix_length(line) :])
            if item:
                self.units.append(_Unit(f"{marker} {item}", True))
        elif self.units and self.units[-1].is_item and raw[:1].isspace() and not self.paragraph and not self.table:
            self.units[-1] = _Unit(f"{self.units[-1].text} {_inline(line)}", True)  # an item's next line
        else:
            self._end_table()
            self.paragraph.append(line)

    def _end_block(self) -> None:
        self._end_paragraph()
        self._end_table()

    def _end_paragraph(self) -> None:
        text = _inline(" ".join(self.paragraph))
        self.units.extend(_Unit(sentence, False) for sentence in _SENTENCE_BREAK.split(text) if sentence)
        self.paragraph.clear()

    def _end_table(self) -> None:
        self.units.extend(_table_rows(self.table))
        self.table.clear()


def _is_layout(line: str, following: str) -> bool:
    """A heading, a rule or a blank line: it ends what was being read and says nothing itself."""
    is_heading = _HEADING.match(line) or (line.strip() and _SETEXT_UNDERLINE.match(following))
    return bool(is_heading or _RULE.match(line) or _SETEXT_UNDERLINE.match(line) or not line.strip())


def _table_rows(rows: list[str]) -> list[_Unit]:
    """Each body row as a list item that names its columns: "- Express — UK: 1-2 days; Price: £4.99"."""
    has_header = len(rows) > 1 and _TABLE_RULE.match(rows[1])
    cells = [
        [_inline(cell) for cell in row.strip().strip("|").split("|")] for row in rows if not _TABLE_RULE.match(row)
    ]
    if not has_header:
        return [_Unit("- " + "; ".join(cell for cell in row if cell), True) for row in cells if any(row)]
    header, *body = cells
    units = []
    for first, *rest in body:
        pairs = zip(header[1:], rest, strict=False)  # Markdown tolerates rows with fewer cells than the header
        named = "; ".join(f"{name}: {value}" if name else value for name, value in pairs if value)
        units.append(_Unit(f"- {first} \u2014 {named}" if named else f"- {first}", True))
    return units


def _list_marker(line: str) -> str:
    if _BULLET.match(line):
        return "-"
    numbered = _NUMBERED.match(line)
    return f"{numbered.group(1)}." if numbered else ""


def _list_prefix_length(line: str) -> int:
    match = _BULLET.match(line) or _NUMBERED.match(line)
    return match.end() if match else 0


def _inline(text: str) -> str:
    """Text without Markdown's inline markers (emphasis, code, links keep their words, images go) and with
    single spaces."""
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _TAG.sub("", text)
    return " ".join(text.split())


def _joined(units: list[_Unit]) -> str:
    pieces: list[str] = []
    for index, unit in enumerate(units):
        if index:
            pieces.append("\n" if unit.is_item or units[index - 1].is_item else " ")
        pieces.append(unit.text)
    return "".join(pieces)


def _cut_at_word(text: str, max_chars: int) -> str:
    head = text[: max_chars - len(ELLIPSIS)]
    if " " in head:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:-\u2013\u2014") + ELLIPSIS
