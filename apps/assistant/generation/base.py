"""The types reply generation speaks in, shared by every backend."""

from dataclasses import dataclass

EXTRACTIVE, LOCAL, OPENAI = "extractive", "local", "openai"
BACKENDS = (EXTRACTIVE, LOCAL, OPENAI)


@dataclass(frozen=True)
class GroundingPassage:
    title: str
    url: str  # the public article URL the answer links to
    text: str  # the passage text (Markdown-ish)


@dataclass(frozen=True)
class GeneratedReply:
    text: str
    backend: str  # the backend whose text is returned: "extractive", "local" or "openai"
    requested_backend: str  # what was asked for
    fallback_reason: str = ""  # why the requested backend's text was not used ("" when it was)


class GenerationError(Exception):
    """A backend could not produce text; the message says why and becomes the reply's fallback_reason."""
