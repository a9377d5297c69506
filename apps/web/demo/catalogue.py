"""The demo's source material: the data files under ``data/`` and the BANKING77 utterances, read into typed,
validated records so a bad line fails loudly at load instead of seeding nonsense."""

import csv
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from apps.tickets.models import Priority

DATA_DIR = Path(__file__).resolve().parent / "data"
SAMPLE_UTTERANCES = DATA_DIR / "banking77_sample.csv"
_MARKDOWN_BOLD = re.compile(r"\*\*(.+?)\*\*")
_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")


@dataclass(frozen=True)
class IntentProfile:
    """How the desk treats one BANKING77 intent: who handles it and what a person would answer."""

    intent: str
    team_slug: str
    priority: str
    handoff_rate: float  # share of chats with this intent that end up with an agent
    agent_reply: str

    @property
    def label(self) -> str:
        """``Refund_not_showing_up`` -> ``Refund not showing up``."""
        return self.intent.replace("_", " ").rstrip("?").capitalize()


@dataclass(frozen=True)
class ArticleSpec:
    title: str
    slug: str
    tags: tuple[str, ...]
    intents: tuple[str, ...]
    body: str

    @property
    def lead(self) -> str:
        """The first paragraph as plain text: every article opens with its short answer, which the bot quotes."""
        first = self.body.strip().split("\n\n", 1)[0]
        return _MARKDOWN_LINK.sub(r"\1", _MARKDOWN_BOLD.sub(r"\1", first))


@dataclass(frozen=True)
class ProductSpec:
    slug: str
    name: str
    category: str
    description: str


@dataclass(frozen=True)
class CannedReplySpec:
    shortcut: str
    title: str
    text: str
    team_slug: str | None


@dataclass(frozen=True)
class NamePool:
    country: str
    locale: str
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]


@dataclass(frozen=True)
class UtteranceBank:
    """Customer queries labelled with their intent, in file order."""

    source: Path
    rows: tuple[tuple[str, str], ...]  # (text, intent)
    by_intent: dict[str, tuple[str, ...]]


def _read_json(name: str):
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


@cache
def intent_profiles() -> dict[str, IntentProfile]:
    profiles = {}
    for intent, raw in _read_json("intents.json").items():
        profile = IntentProfile(
            intent=intent,
            team_slug=raw["team"],
            priority=raw["priority"],
            handoff_rate=float(raw["handoff"]),
            agent_reply=raw["agent_reply"],
        )
        if profile.priority not in Priority.values or not 0 <= profile.handoff_rate <= 1:
            raise ValueError(f"intents.json: bad priority or handoff rate for {intent!r}: {raw}")
        profiles[intent] = profile
    return profiles


@cache
def article_specs() -> tuple[ArticleSpec, ...]:
    specs = []
    lines = (DATA_DIR / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        raw = json.loads(line)
        spec = ArticleSpec(
            title=raw["title"],
            slug=raw["slug"],
            tags=tuple(raw["tags"]),
            intents=tuple(raw["intents"]),
            body=raw["body"],
        )
        unknown = set(spec.intents) - set(intent_profiles())
        if unknown:
            raise ValueError(f"articles.jsonl line {number} ({spec.slug}) names unknown intents {sorted(unknown)}")
        specs.append(spec)
    return tuple(specs)


@cache
def article_for_intent() -> dict[str, ArticleSpec]:
    """The article the bot cites for each intent: the most specific one (fewest intents) that covers it."""
    chosen: dict[str, ArticleSpec] = {}
    for spec in article_specs():
        for intent in spec.intents:
            if intent not in chosen or len(spec.intents) < len(chosen[intent].intents):
                chosen[intent] = spec
    uncovered = set(intent_profiles()) - set(chosen)
    if uncovered:
        raise ValueError(f"No article in articles.jsonl covers the intents {sorted(uncovered)}")
    return chosen


def product_specs() -> list[ProductSpec]:
    return [ProductSpec(**raw) for raw in _read_json("products.json")]


def canned_reply_specs() -> list[CannedReplySpec]:
    return [
        CannedReplySpec(shortcut=raw["shortcut"], title=raw["title"], text=raw["text"], team_slug=raw["team"])
        for raw in _read_json("canned_replies.json")
    ]


def name_pools() -> list[NamePool]:
    return [
        NamePool(country=country, locale=raw["locale"], first_names=tuple(raw["first"]), last_names=tuple(raw["last"]))
        for country, raw in _read_json("names.json").items()
    ]


def utterances_load(*, shared_data_dir: Path) -> UtteranceBank:
    """BANKING77's training utterances from the shared data folder, else the 5-per-intent sample shipped here."""
    path = shared_data_dir / "banking77" / "train.csv"
    if not path.is_file():
        path = SAMPLE_UTTERANCES
    return _utterances_read(path, modified_ns=path.stat().st_mtime_ns)


@cache
def _utterances_read(path: Path, *, modified_ns: int) -> UtteranceBank:
    """Parsed once per version of the file (``modified_ns`` is part of the cache key): tests and a shell
    seed repeatedly, and 10,000 rows take a quarter of a second."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not {"text", "category"} <= set(reader.fieldnames or ()):
            raise ValueError(f"{path} needs the columns text,category; it has {reader.fieldnames}")
        rows = tuple((row["text"].strip(), row["category"]) for row in reader if row["text"].strip())
    unknown = {intent for _, intent in rows} - set(intent_profiles())
    if unknown:
        raise ValueError(f"{path} has intents with no profile in intents.json: {sorted(unknown)}")
    if not rows:
        raise ValueError(f"{path} holds no utterances")
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in rows:
        by_intent[intent].append(text)
    grouped = {intent: tuple(texts) for intent, texts in by_intent.items()}
    return UtteranceBank(source=path, rows=rows, by_intent=grouped)
