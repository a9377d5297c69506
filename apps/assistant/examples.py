"""Labelled examples: reading them from files, and the fixed held-out split every version is measured on.

The held-out split is fixed by each text's hash: a text is held out or not forever, whatever else is added, so
the metrics of versions trained months apart are measured on the same ground (plus whatever new held-out
texts arrived), and no held-out text ever leaks into a later training set. Training's own validation split
(early stopping, calibration, the out-of-scope rule) is carved out of the training part by train_intent_model.
No torch here: web processes read files and start jobs with this module.
"""

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from apps.assistant.models import TrainingExample
from apps.assistant.services import LabelledText
from helpdesk.text import text_is_storable

HELD_OUT_PERCENT = 10
# Changing the salt would reshuffle every text between training and held out: don't.
_HELD_OUT_SALT = "held-out:v1:"


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    text_sha256: str


# --- Files -------------------------------------------------------------------------------------------------


class LabelledFileError(ValueError):
    """A labelled-text file that cannot be read; the message names the line."""


_LABEL_COLUMNS = ("label", "category")  # category: BANKING77's header
_LABEL_MAX = TrainingExample._meta.get_field("label").max_length


class NotUtf8Text(ValueError):
    """A file whose bytes are not UTF-8; ``line`` is where the first bad byte is (from 1)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: not UTF-8 text ({reason})")
        self.line, self.reason = line, reason


def text_file_read(path: Path) -> str:
    """The file's text (UTF-8, a leading BOM dropped, line endings kept), or NotUtf8Text naming the line of the
    first byte that is not UTF-8. The whole file is decoded at once: a stream decodes it in chunks, and the
    error's position would be the chunk's, not the file's."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = error.object[: error.start].decode("utf-8", errors="replace")
        line = before.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
        raise NotUtf8Text(line, error.reason) from error


def labelled_csv_read(path: Path) -> list[LabelledText]:
    """The rows of a ``text,label`` CSV (or BANKING77's ``text,category``), with ``file:line`` as source_ref.

    Raises LabelledFileError naming the first bad line; nothing is returned unless every row is good."""
    try:
        text = text_file_read(path)
    except NotUtf8Text as error:
        raise LabelledFileError(f"line {error.line}: {path.name} is not UTF-8 text ({error.reason})") from error
    return labelled_csv_parse(io.StringIO(text, newline=""), path.name)


def labelled_csv_parse(lines: Iterable[str], file_name: str) -> list[LabelledText]:
    """labelled_csv_read on an open text stream (e.g. an upload), ``file_name`` naming it in source_ref."""
    reader = csv.reader(lines)
    try:
        return _rows(reader, file_name)
    except UnicodeDecodeError as error:
        raise LabelledFileError(f"{file_name} is not UTF-8 text ({error.reason} at byte {error.start})") from error
    except csv.Error as error:  # e.g. a field over csv's size limit: the line the reader stopped on
        raise LabelledFileError(f"line {reader.line_num}: {error}") from error


def _rows(reader, file_name: str) -> list[LabelledText]:
    header = [column.strip().casefold() for column in next(reader, [])]
    label_column = next((name for name in _LABEL_COLUMNS if name in header), None)
    if "text" not in header or label_column is None:
        raise LabelledFileError(f"line 1: the header must be text,label (or text,category), got {','.join(header)}")
    text_at, label_at = header.index("text"), header.index(label_column)
    rows, line = [], reader.line_num + 1
    for record in reader:
        # A quoted text may span lines: the record starts where the previous one ended.
        if not any(cell.strip() for cell in record):
            line = reader.line_num + 1
            continue
        if len(record) != len(header):
            raise LabelledFileError(f"line {line}: expected {len(header)} columns, got {len(record)}")
        text, label = record[text_at], record[label_at].strip()
        if not text.strip():
            raise LabelledFileError(f"line {line}: empty text")
        if not label:
            raise LabelledFileError(f"line {line}: empty label")
        if len(label) > _LABEL_MAX:
            raise LabelledFileError(f"line {line}: label longer than {_LABEL_MAX} characters")
        if not (text_is_storable(text) and text_is_storable(label)):
            raise LabelledFileError(f"line {line}: a NUL character in the text or label")
        rows.append(LabelledText(text=text, label=label, source_ref=f"{file_name}:{line}"))
        line = reader.line_num + 1
    if not rows:
        raise LabelledFileError(f"{file_name} has no rows under its header")
    return rows


# --- Data --------------------------------------------------------------------------------------------------


def labelled_examples(
    *, kind: str, status: str = TrainingExample.Status.ACCEPTED, accepted_before: datetime | None = None
) -> list[Example]:
    """The positive examples of ``kind`` with ``status``, in a stable order (so a retrain on the same data is the
    same). Negatives ("not this label") never train: they wait for a review to give the right label.
    ``accepted_before``: only those whose status was set by then (what a version trained then could see)."""
    rows = TrainingExample.objects.filter(kind=kind, status=status, signal=TrainingExample.Signal.POSITIVE)
    if accepted_before is not None:
        rows = rows.filter(status_changed_at__lte=accepted_before)
    ordered = rows.order_by("text_sha256", "label").values_list("text", "label", "text_sha256")
    return [Example(text, label, text_sha256) for text, label, text_sha256 in ordered]


def is_held_out(text_sha256: str) -> bool:
    bucket = int(hashlib.sha256((_HELD_OUT_SALT + text_sha256).encode()).hexdigest()[:8], 16) % 100
    return bucket < HELD_OUT_PERCENT


def examples_split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    """(training, held out), by each text's hash."""
    held_out = [example for example in examples if is_held_out(example.text_sha256)]
    training = [example for example in examples if not is_held_out(example.text_sha256)]
    return training, held_out


def data_fingerprint(examples: list[Example]) -> str:
    digest = hashlib.sha256()
    for text_sha256, label in sorted((example.text_sha256, example.label) for example in examples):
        digest.update(f"{text_sha256}\t{label}\n".encode())
    return digest.hexdigest()
