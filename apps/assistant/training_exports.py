"""Training data leaving the desk: labelled examples as CSV (the import format) and rated dialogues as JSONL
(the import format), every text passed through the redactor on its way out, even though examples are stored
redacted (rows stored before redaction was configured, or under an older redactor, are covered too).
Each export is audited."""

import csv
import json
from collections.abc import Iterable
from typing import TextIO

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from apps.accounts.audit import Action, audit_record
from apps.assistant.dialogues import rated_dialogues
from apps.assistant.ml.preprocess import redact
from apps.assistant.models import ModelKind, TrainingExample

# What a JSONL dialogue's message keeps (dialogues.jsonl_parse reads each back).
_TURN_KEYS = ("role", "text", "rating", "seconds", "handoff", "failed")


def training_examples_export(
    *, examples: QuerySet[TrainingExample], out: TextIO, actor: AbstractBaseUser | None, kind: str = ""
) -> int:
    """Writes ``examples`` as CSV with a text,label header (import_intents reads it back), in id order.
    Returns the number of rows; one audit row records who exported how many of which kind."""
    writer = csv.writer(out)
    writer.writerow(["text", "label"])
    count = 0
    for text, label in examples.order_by("pk").values_list("text", "label").iterator(chunk_size=2000):
        writer.writerow([redact(text), label])
        count += 1
    _audited(actor=actor, kind=kind or "examples", rows=count)
    return count


def rated_dialogues_export(*, out: TextIO, actor: AbstractBaseUser | None) -> int:
    """Writes every rated dialogue the satisfaction model trains on (imported ones and the desk's surveyed
    conversations) as JSONL, one ``{"id", "messages", "csat"}`` per line (import_conversations reads it
    back). Survey dialogues come out with the customer's name redacted too. Returns the number of dialogues."""
    count = 0
    for dialogue in rated_dialogues():
        record = {"id": dialogue.key, "messages": list(_turns_exported(dialogue.turns)), "csat": dialogue.csat}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    _audited(actor=actor, kind=ModelKind.SATISFACTION, rows=count)
    return count


def _turns_exported(turns: Iterable[dict]) -> Iterable[dict]:
    for turn in turns:
        kept = {key: turn[key] for key in _TURN_KEYS if turn.get(key) is not None}
        yield {**kept, "text": redact(turn["text"])}


def _audited(*, actor: AbstractBaseUser | None, kind: str, rows: int) -> None:
    audit_record(action=Action.TRAINING_EXPORT, actor=actor, target_name=kind, detail={"kind": kind, "rows": rows})
