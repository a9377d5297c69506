"""Splitting an article's Markdown into passages: the units the bot retrieves and quotes. Pure text functions, no
database and no torch.

A passage is one section's text (the section named by its heading), about MIN_WORDS to MAX_WORDS words long:
paragraphs, lists and tables are packed together up to MAX_WORDS, a block longer than that is cut at line and
then sentence ends, and a piece shorter than MIN_WORDS joins its neighbour in the same section. Sections never
merge across a heading, however short: the bot answers with one passage, and its heading must say what all of
it is about (a 20-word "Change your PIN" section is a good answer on its own).
"""

import math
import re
from dataclasses import dataclass

MIN_WORDS = 40
MAX_WORDS = 120
# A short piece merges into its neighbour only while the result stays under this, so merging never makes a
# passage much longer than MAX_WORDS.
MERGED_MAX_WORDS = MAX_WORDS + MIN_WORDS

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_EMPHASIS = re.compile(r"(\*\*|__|`)")


@dataclass(frozen=True)
class PassageDraft:
    heading: str
    text: str  # Markdown, as written in the article

    @property
    def words(self) -> int:
        return word_count(self.text)


def word_count(text: str) -> int:
    return len(text.split())


def markdown_plain(text: str) -> str:
    """``text`` without Markdown markup (heading marks, emphasis, link targets, list markers, table rules and
    pipes): what a model reads and what a snippet shows."""
    lines = []
    for line in text.splitlines():
        if _TABLE_RULE.match(line) or _FENCE.match(line):
            continue
        heading = _HEADING.match(line)
        line = heading.group(2) if heading else _LIST_MARKER.sub("", _LINK.sub(r"\1", line))
        line = _EMPHASIS.sub("", line).replace("|", " ")
        lines.append(" ".join(line.split()))
    return "\n".join(line for line in lines if line)


def text_snippet(text: str, *, max_chars: int = 240) -> str:
    """The start of ``text`` as plain text on one line, cut at a word end with an ellipsis when longer."""
    plain = " ".join(markdown_plain(text).split())
    if len(plain) <= max_chars:
        return plain
    # One character more than fits, so a word ending exactly at max_chars is kept.
    return plain[: max_chars + 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def passage_context(*, title: str, heading: str, text: str) -> str:
    """The text a passage is embedded from: the article title and the heading give a short passage its
    subject ("Track your card: 1. Open the app…" alone says nothing about which card)."""
    return "\n".join(part for part in (title, heading, markdown_plain(text)) if part)


def passages_split(*, body: str) -> list[PassageDraft]:
    """The passages of an article ``body`` (Markdown), in reading order."""
    drafts: list[PassageDraft] = []
    for heading, blocks in _sections(body):
        drafts.extend(PassageDraft(heading, text) for text in _merge_short(_pack(_cut_long(blocks))))
    return drafts


def _sections(body: str) -> list[tuple[str, list[str]]]:
    """(heading, blocks) per section; blocks are separated by blank lines, a fenced code block is one block.
    A heading with no text of its own (a heading straight above a sub-heading) prefixes the next one."""
    sections: list[tuple[str, list[str]]] = []
    heading, blocks, block, in_fence = "", [], [], False
    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if (match or (not in_fence and not line.strip())) and block:
            blocks.append("\n".join(block).strip())
            block = []
        if match:
            if blocks:
                sections.append((heading, blocks))
            heading = match.group(2) if blocks or not heading else f"{heading} / {match.group(2)}"
            blocks = []
        elif in_fence or line.strip():
            block.append(line.rstrip())
    if block:
        blocks.append("\n".join(block).strip())
    if blocks:
        sections.append((heading, blocks))
    return sections


def _cut_long(blocks: list[str]) -> list[tuple[str, str]]:
    """(piece, separator) pairs, no piece over MAX_WORDS: a long block is cut at line ends (lists, tables),
    else at sentence ends, else every MAX_WORDS words. The separator joins a piece to the one before it."""
    pieces: list[tuple[str, str]] = []
    for block in blocks:
        pieces.extend(_cut_block(block, "\n\n"))
    return pieces


def _cut_block(block: str, separator: str) -> list[tuple[str, str]]:
    if word_count(block) <= MAX_WORDS:
        return [(block, separator)]
    lines = block.splitlines()
    if len(lines) > 1:
        parts, joiner = lines, "\n"
    else:
        parts, joiner = _SENTENCE_END.split(block), " "
        if len(parts) == 1:
            words = block.split()
            parts = [" ".join(words[start : start + MAX_WORDS]) for start in range(0, len(words), MAX_WORDS)]
    cut = []
    for index, part in enumerate(parts):
        cut.extend(_cut_block(part, separator if index == 0 else joiner))
    return cut


def _pack(pieces: list[tuple[str, str]]) -> list[str]:
    """Pieces joined into passages of about equal length: as many passages as MAX_WORDS requires, each
    filled up to the section's average so the last one is not a scrap."""
    if not pieces:
        return []
    total = sum(word_count(piece) for piece, _ in pieces)
    target = total / math.ceil(total / MAX_WORDS)
    passages: list[str] = []
    current, current_words = "", 0
    for piece, separator in pieces:
        words = word_count(piece)
        if current and (current_words >= target or current_words + words > MAX_WORDS):
            passages.append(current)
            current, current_words = "", 0
        current = f"{current}{separator}{piece}" if current else piece
        current_words += words
    passages.append(current)
    return passages


def _merge_short(passages: list[str]) -> list[str]:
    merged: list[str] = []
    for text in passages:
        short = merged and min(word_count(text), word_count(merged[-1])) < MIN_WORDS
        if short and word_count(merged[-1]) + word_count(text) <= MERGED_MAX_WORDS:
            merged[-1] = f"{merged[-1]}\n\n{text}"
        else:
            merged.append(text)
    return merged
