"""What a model's text must pass before a customer sees it. A failure is not an error: the bot answers with the
extractive passage instead and records the reason."""

import re
from dataclasses import dataclass

from apps.assistant.generation.base import GroundingPassage

MAX_REPLY_CHARS = 700

# "Assistant:", "**Bot:**", "Answer -" and the like, which small models write before their answer.
_ROLE_PREFIX = re.compile(
    r"^\s*[*_]*(assistant|bot|agent|support|ai|answer|response|reply)[*_]*(?::|\s+[-\u2013\u2014]\s)[*_]*\s*",
    re.IGNORECASE,
)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'`)\]]+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# 7 to 19 digits with spaces, dashes or brackets between them: phone and card numbers as people write them.
_DIGIT_RUN = re.compile(r"(?<![\w+(])\+?\(?\d(?:[ ()\-]{0,2}\d){6,18}(?!\w)")
_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,:]\d+)*")  # 5, 0.7, 1,000, 14:00
_LIST_NUMBER = re.compile(r"^\s*\d{1,2}[.)]\s", re.MULTILINE)
_UNFINISHED_TAIL = re.compile(r"(?<=[.!?])\s+[^.!?]*$")
# Words in a row that, said twice, make a loop; a brief answer has no reason to repeat so long a phrase.
REPEATED_WORDS = 8


@dataclass(frozen=True)
class CheckedText:
    text: str  # the text as it would be sent: role prefixes stripped, surrounding whitespace trimmed
    problem: str = ""  # why it must not be sent; "" when it passed


def generated_text_check(*, text: str, passages: list[GroundingPassage]) -> CheckedText:
    """A model's reply, checked against the passages it was given.

    Leading role prefixes ("Assistant:") are stripped, then the first failing rule names the problem:
    empty; longer than MAX_REPLY_CHARS; a link that is in no passage (its URL or its text), which the model
    made up; an email address, a phone number or a card-like number (13-19 digits, spaces or dashes allowed)
    that is in no passage, which echoes a customer's details or invents some; any other number that is in
    no passage (a made-up fee, limit or delay: small models invent them fluently); the same 8 words twice
    (a small model's loop)."""
    cleaned = _without_role_prefixes(text)
    source = "\n".join(f"{passage.url}\n{passage.text}" for passage in passages)
    problem = (
        ("empty" if not cleaned else "")
        or (f"too long ({len(cleaned)} characters, limit {MAX_REPLY_CHARS})" if len(cleaned) > MAX_REPLY_CHARS else "")
        or _invented_link(cleaned, source)
        or _echoed_detail(cleaned, source)
        or _invented_number(cleaned, source)
        or _repetition(cleaned)
    )
    return CheckedText(text=cleaned, problem=problem)


def _without_role_prefixes(text: str) -> str:
    previous = None
    while previous != text:
        previous, text = text, _ROLE_PREFIX.sub("", text, count=1)
    return text.strip()


def _url_key(url: str) -> str:
    # Neither the scheme, letter case nor a trailing slash makes another link.
    return re.sub(r"^https?://", "", url.rstrip("/").lower())


def _links(text: str) -> list[str]:
    # Sentence punctuation right after a link is not part of it.
    return [match.rstrip(".,;:!?") for match in _URL.findall(text)]


def _invented_link(text: str, source: str) -> str:
    known = {_url_key(link) for link in _links(source)}
    invented = [link for link in _links(text) if _url_key(link) not in known]
    return f"invented link: {invented[0]}" if invented else ""


def _echoed_detail(text: str, source: str) -> str:
    # The reason names the kind of detail, never the detail: it goes to the logs and the message's annotations.
    known_emails = {email.lower() for email in _EMAIL.findall(source)}
    for email in _EMAIL.findall(text):
        if email.lower() not in known_emails:
            return "email address not in the passages"
    # A number the passages hold is fine however it is spaced, and so is a part of one (a local form).
    known_numbers = "|".join(re.sub(r"\D", "", run) for run in _DIGIT_RUN.findall(source))
    for run in _DIGIT_RUN.findall(text):
        digits = re.sub(r"\D", "", run)
        if digits not in known_numbers:
            return f"{_number_kind(run, digits)} not in the passages"
    return ""


def _number_kind(run: str, digits: str) -> str:
    looks_like_phone = len(digits) < 13 or (len(digits) <= 15 and bool(re.search(r"[()+]", run)))
    return "phone number" if looks_like_phone else "card-like number"


def _invented_number(text: str, source: str) -> str:
    known = set(_NUMBER.findall(source))
    # Phone and card numbers were judged whole by _echoed_detail; list markers ("1. ") are layout.
    words = _LIST_NUMBER.sub("", _DIGIT_RUN.sub("", text))
    invented = [number for number in _NUMBER.findall(words) if number not in known]
    return f"number not in the passages: {invented[0]}" if invented else ""


def _repetition(text: str) -> str:
    words = re.findall(r"[\w'%£$€]+", text.lower())
    seen: set[tuple[str, ...]] = set()
    for start in range(len(words) - REPEATED_WORDS + 1):
        phrase = tuple(words[start : start + REPEATED_WORDS])
        if phrase in seen:
            return f"repeats itself: {' '.join(phrase)!r}"
        seen.add(phrase)
    return ""


def unfinished_sentence_cut(text: str) -> str:
    """``text`` without its last sentence when that one has no end: the model ran into its token limit. A
    text without any finished sentence is kept whole, for the checks to judge."""
    return _UNFINISHED_TAIL.sub("", text.rstrip())
