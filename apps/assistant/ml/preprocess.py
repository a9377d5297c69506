"""The one door every text passes through before a model sees it (training and inference alike)."""

import re
import unicodedata
from collections.abc import Callable, Sequence

from django.conf import settings
from django.utils.module_loading import import_string

MAX_CHARS = 1000
_SPACES = re.compile(r"\s+")


def _redactor() -> Callable[..., str] | None:
    # The privacy app's PII redaction plugs in here by dotted path (HELPDESK_REDACTOR): a callable
    # ``(text, *, names=()) -> str``, ``names`` being the customer's own names when the caller knows them.
    dotted = getattr(settings, "HELPDESK_REDACTOR", "")
    return import_string(dotted) if dotted else None


def redact(text: str, *, names: Sequence[str] = ()) -> str:
    """``text`` through the configured redactor (HELPDESK_REDACTOR), unchanged when none is set: what a
    training set stores or exports, so no example holds PII a model should never see. ``names``: the
    customer's own, when the text is theirs (a name is only PII when the redactor knows it)."""
    redactor = _redactor()
    return redactor(text, names=names) if redactor is not None else text


def preprocess(text: str) -> str:
    """Unicode-normalised, whitespace-collapsed, redacted and truncated text."""
    normalised = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    redact = _redactor()
    if redact is not None:
        normalised = redact(normalised)
    return normalised[:MAX_CHARS]


def preprocess_many(texts: list[str]) -> list[str]:
    return [preprocess(text) for text in texts]
