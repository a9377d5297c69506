"""Rated dialogues, what the satisfaction model learns from: reading them from files (JSONL exports and the USS
data set's format), storing them, building them from the desk's surveys, and cutting them into samples.

A sample is one rating with the conversation that led to it: a rated customer turn is predicted from the turns
before it (the USS protocol), a conversation's overall rating (USS's OVERALL line, a JSONL ``csat``, a survey)
from the whole conversation, like the live prediction after the latest message. No torch here: web processes
import files and start jobs with this module.
"""

import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from apps.assistant.examples import NotUtf8Text, is_held_out, text_file_read
from apps.assistant.ml.preprocess import redact
from apps.assistant.models import RatedDialogue
from apps.conversations.models import Message, SatisfactionSurvey
from apps.privacy.names import customer_names
from helpdesk.text import text_is_storable

ROLES = ("customer", "agent", "bot")
RATINGS = (1, 2, 3, 4, 5)
USS_ROLES = {"USER": "customer", "SYSTEM": "bot"}
USS_OVERALL = "OVERALL"
FORMATS = ("jsonl", "uss")
_FORMAT_BY_SUFFIX = {".txt": "uss", ".jsonl": "jsonl", ".json": "jsonl"}
# Optional per-message facts a JSONL export may carry; the model uses them when present (ml/satisfaction.py).
_OPTIONAL_FLAGS = ("handoff", "failed")
# How many of a surveyed conversation's last customer turns its rating labels.
SURVEY_LABELLED_TURNS = 1
_EXTERNAL_ID_MAX = RatedDialogue._meta.get_field("external_id").max_length


class DialogueFileError(ValueError):
    """A dialogue file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class ParsedDialogue:
    external_id: str
    # {"role": "customer"|"agent"|"bot", "text": str, "rating": int|None}, plus when known "seconds" (since the
    # conversation started), "handoff" and "failed"; USS turns also keep "action" and the annotators' "ratings".
    turns: list[dict[str, Any]]
    csat: int | None
    line: int  # where it starts in its file


@dataclass(frozen=True)
class SatisfactionSample:
    dialogue: int  # index of the dialogue it comes from: splits keep a dialogue's samples together
    context: list[dict[str, Any]]
    label: int


@dataclass(frozen=True)
class TrainingDialogue:
    key: str  # "uss:SGD:17", "jsonl:abc", "survey:42": fixes the held-out split
    turns: list[dict[str, Any]]
    csat: int | None


# --- The USS label rule ------------------------------------------------------------------------------------


def uss_label(ratings: Iterable[int]) -> int:
    """The most frequent of the annotators' ratings; a tie goes to the lower rating (Sun et al. 2021)."""
    counts = Counter(ratings)
    if not counts:
        raise ValueError("no ratings")
    most = max(counts.values())
    return min(rating for rating, count in counts.items() if count == most)


# --- Files -------------------------------------------------------------------------------------------------


def dialogue_format_for(path: Path) -> str:
    """``uss`` for .txt, ``jsonl`` for .jsonl and .json; DialogueFileError for anything else."""
    found = _FORMAT_BY_SUFFIX.get(path.suffix.lower())
    if found is None:
        raise DialogueFileError(f"{path.name}: cannot tell the format from {path.suffix or 'no suffix'}; use --format")
    return found


def dialogues_read(path: Path, file_format: str | None = None) -> list[ParsedDialogue]:
    """Every dialogue of the file, or DialogueFileError naming FILE:LINE of the first bad line."""
    file_format = file_format or dialogue_format_for(path)
    parse = {"uss": uss_parse, "jsonl": jsonl_parse}[file_format]
    try:
        text = text_file_read(path)
    except NotUtf8Text as error:
        raise DialogueFileError(f"{path.name}:{error.line}: not UTF-8 text ({error.reason})") from error
    return parse(io.StringIO(text, newline=None), path.name)  # universal newlines, as open() reads them


def _numbered(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(lines, start=1):
        yield number, line.rstrip("\r\n")


def uss_parse(lines: Iterable[str], file_name: str) -> list[ParsedDialogue]:
    """``ROLE<TAB>TEXT<TAB>ACTION<TAB>SAT1,SAT2,...`` lines; a blank line ends a dialogue. A dialogue's id is
    ``<file stem>:<its number in the file>``; its ``USER OVERALL`` line, when there is one, is its csat."""
    stem = Path(file_name).stem
    dialogues: list[ParsedDialogue] = []
    turns: list[dict[str, Any]] = []
    csat: int | None = None
    start = 0

    def close() -> None:
        if turns:
            dialogues.append(ParsedDialogue(f"{stem}:{len(dialogues) + 1}", turns[:], csat, start))
        elif csat is not None:
            raise DialogueFileError(f"{file_name}:{start}: an OVERALL rating with no turns before it")

    for number, line in _numbered(lines):
        if not line.strip():
            close()
            turns, csat, start = [], None, 0
            continue
        start = start or number
        where = f"{file_name}:{number}"
        if not text_is_storable(line):
            raise DialogueFileError(f"{where}: a NUL character")
        fields = line.split("\t")
        if len(fields) != 4:
            raise DialogueFileError(
                f"{where}: expected 4 tab-separated fields (ROLE, TEXT, ACTION, RATINGS), got {len(fields)}"
            )
        role, text, action, ratings_field = (field.strip() for field in fields)
        if role not in USS_ROLES:
            raise DialogueFileError(f"{where}: the role must be USER or SYSTEM, not {role!r}")
        if not text:
            raise DialogueFileError(f"{where}: empty text")
        if role == "SYSTEM":
            turns.append({"role": "bot", "text": text, "rating": None, "action": action})
            continue
        ratings = _uss_ratings(ratings_field, where)
        if text == USS_OVERALL:
            if csat is not None:
                raise DialogueFileError(f"{where}: a second OVERALL line in one dialogue")
            csat = uss_label(ratings)
            continue
        turns.append(
            {"role": "customer", "text": text, "rating": uss_label(ratings), "ratings": ratings, "action": action}
        )
    close()
    if not dialogues:
        raise DialogueFileError(f"{file_name} holds no dialogues")
    return dialogues


def _uss_ratings(field: str, where: str) -> list[int]:
    try:
        ratings = [int(rating) for rating in field.split(",")]
    except ValueError:
        raise DialogueFileError(f"{where}: a USER line needs ratings like 3,4,3, got {field!r}") from None
    if any(rating not in RATINGS for rating in ratings):
        raise DialogueFileError(f"{where}: ratings go from 1 to 5, got {field}")
    return ratings


def jsonl_parse(lines: Iterable[str], file_name: str) -> list[ParsedDialogue]:
    """One conversation per line: ``{"id", "messages": [{"role", "text", "rating"?}], "csat"?}``."""
    dialogues: list[ParsedDialogue] = []
    seen: dict[str, int] = {}
    for number, line in _numbered(lines):
        if not line.strip():
            continue
        where = f"{file_name}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DialogueFileError(f"{where}: not JSON ({error.msg} at column {error.colno})") from None
        dialogue = _jsonl_dialogue(record, where, number)
        if dialogue.external_id in seen:
            raise DialogueFileError(
                f"{where}: id {dialogue.external_id!r} is already on line {seen[dialogue.external_id]}"
            )
        seen[dialogue.external_id] = number
        dialogues.append(dialogue)
    if not dialogues:
        raise DialogueFileError(f"{file_name} holds no conversations")
    return dialogues


def _jsonl_dialogue(record: Any, where: str, number: int) -> ParsedDialogue:
    if not isinstance(record, dict):
        raise DialogueFileError(f"{where}: expected an object with id and messages")
    identifier = record.get("id")
    if isinstance(identifier, bool) or not isinstance(identifier, str | int) or not str(identifier).strip():
        raise DialogueFileError(f"{where}: id must be a non-empty string or a number")
    if not text_is_storable(str(identifier)) or len(str(identifier).strip()) > _EXTERNAL_ID_MAX:
        raise DialogueFileError(
            f"{where}: id must be at most {_EXTERNAL_ID_MAX} characters, without NUL or unpaired surrogates"
        )
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        raise DialogueFileError(f"{where}: messages must be a non-empty list")
    turns = [_jsonl_turn(message, f"{where}: message {index}") for index, message in enumerate(messages, start=1)]
    csat = _rating(record.get("csat"), f"{where}: csat")
    return ParsedDialogue(str(identifier).strip(), turns, csat, number)


def _jsonl_turn(message: Any, where: str) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise DialogueFileError(f"{where} must be an object with role and text")
    role, text = message.get("role"), message.get("text")
    if role not in ROLES:
        raise DialogueFileError(f"{where}: role must be one of {', '.join(ROLES)}, not {role!r}")
    if not isinstance(text, str) or not text.strip():
        raise DialogueFileError(f"{where}: text must be a non-empty string")
    if not text_is_storable(text):
        raise DialogueFileError(f"{where}: text holds a NUL character or an unpaired surrogate")
    rating = _rating(message.get("rating"), f"{where}: rating")
    if rating is not None and role != "customer":
        raise DialogueFileError(f"{where}: only customer messages carry a rating")
    turn: dict[str, Any] = {"role": role, "text": text.strip(), "rating": rating}
    seconds = message.get("seconds")
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise DialogueFileError(f"{where}: seconds must be a number of seconds since the start, not {seconds!r}")
        turn["seconds"] = float(seconds)
    for flag in _OPTIONAL_FLAGS:
        if flag in message:
            if not isinstance(message[flag], bool):
                raise DialogueFileError(f"{where}: {flag} must be true or false")
            turn[flag] = message[flag]
    return turn


def _rating(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in RATINGS:
        raise DialogueFileError(f"{where} must be a whole number from 1 to 5, not {value!r}")
    return value


# --- Storage -----------------------------------------------------------------------------------------------


@transaction.atomic
def rated_dialogues_store(*, source: str, dialogues: list[ParsedDialogue]) -> tuple[int, int]:
    """Stores ``dialogues`` under ``source``; one already stored with the same (source, id) is replaced.
    Returns (new, updated). All or nothing."""
    ids = [dialogue.external_id for dialogue in dialogues]
    existing = dict(
        RatedDialogue.objects.select_for_update()
        .filter(source=source, external_id__in=ids)
        .values_list("external_id", "pk")
    )
    new = [
        RatedDialogue(source=source, external_id=d.external_id, turns=d.turns, csat=d.csat)
        for d in dialogues
        if d.external_id not in existing
    ]
    changed = [
        RatedDialogue(pk=existing[d.external_id], turns=d.turns, csat=d.csat)
        for d in dialogues
        if d.external_id in existing
    ]
    RatedDialogue.objects.bulk_create(new, batch_size=500)
    RatedDialogue.objects.bulk_update(changed, ["turns", "csat"], batch_size=500)
    return len(new), len(changed)


# --- Samples -----------------------------------------------------------------------------------------------


def conversation_context(turns: list[dict[str, Any]], index: int, *, include_turn: bool) -> list[dict[str, Any]]:
    """What the model reads to predict satisfaction at turn ``index``: the turns before it (the USS protocol,
    for training on rated turns) or, with ``include_turn``, up to and including it (live, after a message)."""
    return turns[: index + 1] if include_turn else turns[:index]


def satisfaction_samples(turns: list[dict[str, Any]], csat: int | None, dialogue: int = 0) -> list[SatisfactionSample]:
    """A sample per rated customer turn (from the turns before it) and one for the overall rating, if any (from
    the whole conversation), in conversation order."""
    samples = [
        SatisfactionSample(dialogue, conversation_context(turns, index, include_turn=False), turn["rating"])
        for index, turn in enumerate(turns)
        if turn["role"] == "customer" and turn.get("rating") is not None
    ]
    if csat is not None:
        samples.append(
            SatisfactionSample(dialogue, conversation_context(turns, len(turns) - 1, include_turn=True), csat)
        )
    return samples


def dialogues_samples(dialogues: Iterable[TrainingDialogue | ParsedDialogue]) -> list[SatisfactionSample]:
    return [
        sample
        for index, dialogue in enumerate(dialogues)
        for sample in satisfaction_samples(dialogue.turns, dialogue.csat, index)
    ]


def folds_contiguous(count: int, folds: int = 10) -> list[range]:
    """``folds`` contiguous parts of ``range(count)`` in order, as equal as can be (sizes differ by at most one,
    the larger first), so every item is in exactly one part. The USS protocol: fold k tests on part k."""
    if not 1 < folds <= count:
        raise ValueError(f"cannot cut {count} dialogues into {folds} folds")
    size, larger = divmod(count, folds)
    parts, start = [], 0
    for fold in range(folds):
        end = start + size + (1 if fold < larger else 0)
        parts.append(range(start, end))
        start = end
    return parts


# --- Training data from the database -----------------------------------------------------------------------


def rated_dialogues() -> list[TrainingDialogue]:
    """Every stored rated dialogue (imported ones) and every surveyed conversation of the desk, in a stable order."""
    stored = (
        RatedDialogue.objects.filter(source__in=(RatedDialogue.Source.USS, RatedDialogue.Source.JSONL))
        .order_by("source", "external_id")
        .values_list("source", "external_id", "turns", "csat")
    )
    imported = [TrainingDialogue(f"{source}:{identifier}", turns, csat) for source, identifier, turns, csat in stored]
    return imported + survey_dialogues()


def survey_dialogues() -> list[TrainingDialogue]:
    """Each surveyed conversation with at least one customer message, as a dialogue whose last customer turns
    (SURVEY_LABELLED_TURNS) and overall rating are the survey's rating."""
    ratings = dict(SatisfactionSurvey.objects.values_list("conversation_id", "rating"))
    by_conversation = _conversations_turns(Message.objects.filter(conversation_id__in=ratings))
    dialogues = []
    for conversation_id, turns in sorted(by_conversation.items()):
        customer = [turn for turn in turns if turn["role"] == "customer"]
        if not customer:
            continue
        for turn in customer[-SURVEY_LABELLED_TURNS:]:
            turn["rating"] = ratings[conversation_id]
        dialogues.append(TrainingDialogue(f"survey:{conversation_id}", turns, ratings[conversation_id]))
    return dialogues


def conversation_turns(*, conversation_id: int, up_to_seq: int | None = None) -> list[dict[str, Any]]:
    """A desk conversation as the satisfaction model reads it (inference.satisfaction_predict), up to and
    including message ``up_to_seq`` when given: the same turns it was trained on from surveyed conversations."""
    messages = Message.objects.filter(conversation_id=conversation_id)
    if up_to_seq is not None:
        messages = messages.filter(seq__lte=up_to_seq)
    return _conversations_turns(messages).get(conversation_id, [])


def _conversations_turns(messages) -> dict[int, list[dict[str, Any]]]:
    """{conversation id: turns} of ``messages``: customer, agent and bot lines (system lines and notes left out),
    each with its seconds since the conversation's first such line, and the handoffs the assistant decided.
    Texts are redacted, the customer's own name included, for training and prediction alike."""
    rows = (
        messages.filter(role__in=ROLES)
        .order_by("conversation_id", "seq")
        .values_list(
            "conversation_id", "role", "text", "decision", "created_at", "conversation__customer__name",
            "conversation__customer__email",
        )
    )  # fmt: skip
    by_conversation: dict[int, list[dict[str, Any]]] = {}
    started: dict[int, Any] = {}
    for conversation_id, role, text, decision, created_at, name, email in rows:
        start = started.setdefault(conversation_id, created_at)
        redacted = redact(text, names=customer_names(name=name, email=email))
        turn = {"role": role, "text": redacted, "rating": None, "seconds": (created_at - start).total_seconds()}
        if decision == Message.Decision.HANDOFF:
            turn["handoff"] = True
        by_conversation.setdefault(conversation_id, []).append(turn)
    return by_conversation


def dialogue_is_held_out(dialogue: TrainingDialogue) -> bool:
    """Fixed by the dialogue's key, like examples' texts: held out or not forever, whatever else arrives."""
    return is_held_out(hashlib.sha256(dialogue.key.encode()).hexdigest())


def dialogues_split(dialogues: list[TrainingDialogue]) -> tuple[list[TrainingDialogue], list[TrainingDialogue]]:
    """(training, held out)."""
    held_out = [dialogue for dialogue in dialogues if dialogue_is_held_out(dialogue)]
    return [dialogue for dialogue in dialogues if not dialogue_is_held_out(dialogue)], held_out


def dialogues_fingerprint(dialogues: list[TrainingDialogue]) -> str:
    digest = hashlib.sha256()
    for dialogue in sorted(dialogues, key=lambda dialogue: dialogue.key):
        digest.update(json.dumps(asdict(dialogue), sort_keys=True, default=str).encode())
    return digest.hexdigest()
