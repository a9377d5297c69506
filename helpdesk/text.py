"""Text a database can store: what the boundaries (websocket frames, import files, the API's JSON fields) check
before they keep it; and text a spreadsheet opens without running it (CSV exports)."""

import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_is_storable(text: str) -> bool:
    """False for text holding NUL (PostgreSQL stores it neither in text nor in jsonb) or an unpaired surrogate
    (what JSON's ``\\ud800`` escape decodes to: it has no UTF-8, so no database takes it). A pair of surrogate
    escapes decodes to one character and is fine."""
    return _UNSTORABLE.search(text) is None


def json_is_storable(value: Any) -> bool:
    """text_is_storable for every string of a decoded JSON value, object keys included, at any depth."""
    pending = [value]
    while pending:  # no recursion: json.loads nests as deep as the recursion limit allows
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend([*item.keys(), *item.values()])
        elif isinstance(item, list | tuple):
            pending.extend(item)
        elif isinstance(item, str) and not text_is_storable(item):
            return False
    return True


# A spreadsheet runs a cell that starts like a formula; customers write the text. Numbers stay numbers.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def spreadsheet_safe(cell: str) -> str:
    """``cell`` for a CSV export: text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell
