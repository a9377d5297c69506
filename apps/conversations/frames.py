"""Reading the fields of a chat frame (README, "The chat protocol"): each reader returns the value or raises
FrameError, which the consumers answer with an error frame of its code while the socket stays open."""

import json
import uuid
from typing import Any

from apps.assistant.models import SuggestionUse
from apps.conversations.models import Message

SUGGESTION_ID_MAX_LENGTH = SuggestionUse._meta.get_field("suggestion_id").max_length


class FrameError(Exception):
    """A refused frame: answered with an error frame of this code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


def field_uuid(frame: dict[str, Any], name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(frame[name]))
    except (KeyError, ValueError) as exc:
        raise FrameError("invalid", f"'{name}' must be a UUID") from exc


def field_int(frame: dict[str, Any], name: str, *, default: int | None = None) -> int:
    value = frame.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FrameError("invalid", f"'{name}' must be a non-negative whole number")
    return value


def field_text(frame: dict[str, Any]) -> str:
    text = frame.get("text")
    if not isinstance(text, str) or not text.strip():
        raise FrameError("invalid", "'text' must be a non-empty string")
    if len(text) > Message.MAX_TEXT_LENGTH:
        raise FrameError(
            "too_long", f"A message may hold at most {Message.MAX_TEXT_LENGTH} characters; got {len(text)}."
        )
    return text


def frame_parsed(text_data: str | None) -> dict[str, Any] | None:
    """The frame as a JSON object; None for a binary frame and for text that is not one (not JSON, nested past
    the parser's recursion limit, an integer past Python's digit limit, any other JSON value)."""
    if text_data is None:
        return None
    try:
        frame = json.loads(text_data)
    except (ValueError, RecursionError):
        return None
    return frame if isinstance(frame, dict) else None


def field_suggestion(frame: dict[str, Any]) -> str | None:
    """The optional id of the suggested reply a message was built from."""
    suggestion = frame.get("suggestion")
    if suggestion is None or suggestion == "":
        return None
    if not isinstance(suggestion, str) or len(suggestion) > SUGGESTION_ID_MAX_LENGTH:
        raise FrameError(
            "invalid", f"'suggestion' must be a suggestion id of at most {SUGGESTION_ID_MAX_LENGTH} characters"
        )
    return suggestion
