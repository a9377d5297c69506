"""Reading articles from Markdown files (with optional front matter) and JSONL, for ``manage.py import_kb``.

Everything is read and checked before anything is written: a bad file or line is reported as FILE:LINE with
what is wrong, and then nothing is imported."""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.utils.text import slugify

from apps.knowledge.models import Article
from apps.knowledge.services import article_save
from helpdesk.text import text_is_storable

MARKDOWN_SUFFIXES = (".md", ".markdown")
JSONL_SUFFIX = ".jsonl"
_FRONT_MATTER_KEYS = {"title", "slug", "intents", "tags", "locale", "published"}
_LIST_KEYS = {"tags", "intents"}
_JSONL_KEYS = _FRONT_MATTER_KEYS | {"body"}
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}
_TITLE_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$")
_MAX_TITLE = Article._meta.get_field("title").max_length
_MAX_LOCALE = Article._meta.get_field("locale").max_length


class KnowledgeImportError(Exception):
    """Every problem found, one "FILE:LINE: what is wrong" a line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ArticleSpec:
    source: str  # FILE:LINE the article starts at
    title: str
    body: str
    slug: str
    locale: str = "en"
    tags: list[str] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)
    published: bool = True


@dataclass(frozen=True)
class ImportCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class _Problem(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def kb_files(paths: Iterable[Path]) -> list[Path]:
    """The Markdown and JSONL files named, or found (recursively, sorted) in the folders named."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = (p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (*MARKDOWN_SUFFIXES, ".jsonl"))
            files.extend(sorted(found))
        else:
            files.append(path)
    return files


def kb_read(files: list[Path]) -> list[ArticleSpec]:
    """The articles in ``files``; raises KnowledgeImportError with every problem found, a duplicate slug included."""
    specs: list[ArticleSpec] = []
    problems: list[str] = []
    for path in files:
        try:
            specs.extend(_read_file(path))
        except KnowledgeImportError as exc:
            problems.extend(exc.problems)
    seen: dict[tuple[str, str], str] = {}
    for spec in specs:
        key = (spec.locale, spec.slug)
        if key in seen:
            problems.append(f"{spec.source}: slug {spec.slug!r} ({spec.locale}) is also used at {seen[key]}")
        seen.setdefault(key, spec.source)
    if problems:
        raise KnowledgeImportError(problems)
    return specs


@transaction.atomic
def kb_import(*, specs: list[ArticleSpec]) -> ImportCounts:
    """Saves ``specs`` through article_save, all or nothing; an article identical to the stored one is left
    alone (its version, revisions and passages stay)."""
    counts = ImportCounts()
    for spec in specs:
        existing = Article.objects.filter(locale=spec.locale, slug=spec.slug).first()
        if existing is not None and _same(existing, spec):
            counts = replace(counts, unchanged=counts.unchanged + 1)
            continue
        try:
            article_save(
                title=spec.title,
                body=spec.body,
                locale=spec.locale,
                slug=spec.slug,
                tags=spec.tags,
                intents=spec.intents,
                published=spec.published,
            )
        except ValidationError as exc:
            raise KnowledgeImportError([f"{spec.source}: {'; '.join(exc.messages)}"]) from exc
        if existing is None:
            counts = replace(counts, created=counts.created + 1)
        else:
            counts = replace(counts, updated=counts.updated + 1)
    return counts


def _same(article: Article, spec: ArticleSpec) -> bool:
    stored = (article.title, article.body, article.tags, article.intents, article.published)
    return stored == (spec.title, spec.body, spec.tags, spec.intents, spec.published)


def _read_file(path: Path) -> list[ArticleSpec]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        # Decoded whole, so exc.start is the file's offset: count the lines before it as _read_* number them.
        line = len((exc.object[: exc.start].decode("utf-8", errors="replace") + "_").splitlines())
        raise KnowledgeImportError([f"{path}:{line}: not UTF-8 text ({exc.reason})"]) from exc
    except OSError as exc:
        raise KnowledgeImportError([f"{path}:1: cannot be read ({exc})"]) from exc
    if path.suffix.lower() == JSONL_SUFFIX:
        return _read_jsonl(path, text)
    if path.suffix.lower() in MARKDOWN_SUFFIXES:
        try:
            return [_read_markdown(path, text)]
        except _Problem as exc:
            raise KnowledgeImportError([f"{path}:{exc.line}: {exc}"]) from exc
    raise KnowledgeImportError([f"{path}:1: not a Markdown (.md) or JSONL (.jsonl) file"])


def _read_jsonl(path: Path, text: str) -> list[ArticleSpec]:
    specs, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            specs.append(_spec_from_json(f"{path}:{number}", line))
        except ValueError as exc:
            problems.append(f"{path}:{number}: {exc}")
    if problems:
        raise KnowledgeImportError(problems)
    return specs


def _spec_from_json(source: str, line: str) -> ArticleSpec:
    try:
        fields = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(fields, dict):
        raise ValueError("each line is one JSON object with title and body")
    unknown = sorted(set(fields) - _JSONL_KEYS)
    if unknown:
        raise ValueError(f"unknown keys {', '.join(unknown)} (allowed: {', '.join(sorted(_JSONL_KEYS))})")
    for name in ("title", "body", "slug", "locale"):
        if name in fields and not isinstance(fields[name], str):
            raise ValueError(f"{name} must be a string")
    if "published" in fields and not isinstance(fields["published"], bool):
        raise ValueError("published must be true or false")
    return _spec(
        source=source,
        title=fields.get("title", ""),
        body=fields.get("body", ""),
        slug=fields.get("slug", ""),
        locale=fields.get("locale", "en"),
        tags=_string_list(fields.get("tags"), "tags"),
        intents=_string_list(fields.get("intents"), "intents"),
        published=fields.get("published", True),
    )


def _read_markdown(path: Path, text: str) -> ArticleSpec:
    meta, body, body_line = _front_matter(text)
    title = meta.get("title", "")
    if not title:
        title, body = _title_from_heading(body, body_line)
    try:
        return _spec(
            source=f"{path}:1",
            title=title,
            body=body.strip() + "\n",
            slug=meta.get("slug", ""),
            locale=meta.get("locale", "en"),
            tags=_meta_list(meta, "tags"),
            intents=_meta_list(meta, "intents"),
            published=_meta_bool(meta),
        )
    except ValueError as exc:
        lines = {**meta.get("_lines", {}), "body": body_line}
        raise _Problem(lines.get(_field_of(str(exc)), 1), str(exc)) from exc


def _front_matter(text: str) -> tuple[dict, str, int]:
    """(keys, body, line the body starts at) of a Markdown file: front matter is ``key: value`` lines between
    a first line ``---`` and the next ``---``; a list is ``[a, b]``, ``a, b`` or ``- a`` lines below its key."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text, 1
    meta: dict = {"_lines": {}}
    key = None
    for number, line in enumerate(lines[1:], start=2):
        stripped = line.strip()
        if stripped == "---":
            return meta, "\n".join(lines[number:]), number + 1
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("- "):
            if key not in _LIST_KEYS:
                raise _Problem(number, f"a `- item` line belongs under tags: or intents:, not {key or 'nothing'}")
            meta[key] = [*_as_list(meta[key]), _unquote(stripped[2:].strip())]
            continue
        name, colon, value = stripped.partition(":")
        name = name.strip()
        if not colon or name not in _FRONT_MATTER_KEYS:
            allowed = ", ".join(sorted(_FRONT_MATTER_KEYS))
            raise _Problem(number, f"front matter line {stripped!r} is not one of `{allowed}: value`")
        key, meta[name] = name, _unquote(value.strip())
        meta["_lines"][name] = number
    raise _Problem(1, "front matter opened with --- is never closed by a --- line")


def _title_from_heading(body: str, first_line: int) -> tuple[str, str]:
    """The first ``# `` heading as the title, and the body without it (the page shows the title already)."""
    lines = body.splitlines()
    for index, line in enumerate(lines):
        match = _TITLE_HEADING.match(line)
        if match:
            return match.group(1), "\n".join(lines[:index] + lines[index + 1 :])
    raise _Problem(first_line, "no title: add `title:` to the front matter or a `# Title` heading")


def _spec(*, source: str, title: str, body: str, slug: str, locale: str, tags, intents, published) -> ArticleSpec:
    texts = [("title", title), ("body", body), ("slug", slug), ("locale", locale)]
    for name, text in [*texts, *(("tags", tag) for tag in tags), *(("intents", intent) for intent in intents)]:
        if not text_is_storable(text):  # the name first: _field_of points a Markdown file's error at its line
            raise ValueError(f"{name} holds a NUL character or an unpaired surrogate")
    title = title.strip()
    if not title:
        raise ValueError("title is missing")
    if len(title) > _MAX_TITLE:
        raise ValueError(f"title is longer than {_MAX_TITLE} characters")
    if not body.strip():
        raise ValueError("body is empty")
    slug = slug.strip() or slugify(title)
    try:
        validate_slug(slug)
    except ValidationError as exc:
        raise ValueError(f"slug {slug!r} is not a slug (letters, digits, - and _)") from exc
    if not locale or len(locale) > _MAX_LOCALE:
        raise ValueError(f"locale {locale!r} must be 1 to {_MAX_LOCALE} characters")
    return ArticleSpec(source, title, body, slug, locale, tags, intents, published)


def _string_list(value, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ValueError(f'{name} must be a list of strings, e.g. ["card_arrival"]')
    return [item.strip() for item in value]


def _meta_list(meta: dict, name: str) -> list[str]:
    return [item for item in _as_list(meta.get(name, [])) if item]


def _as_list(value) -> list[str]:
    if isinstance(value, list):
        return value
    inner = value.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    return [_unquote(item.strip()) for item in inner.split(",") if item.strip()]


def _meta_bool(meta: dict) -> bool:
    raw = meta.get("published", "true")
    if not isinstance(raw, str) or raw.lower() not in _TRUE | _FALSE:
        raise ValueError(f"published must be true or false, not {raw!r}")
    return raw.lower() in _TRUE


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _field_of(message: str) -> str:
    """The front-matter key a validation message is about, to point at its line."""
    return next((name for name in _JSONL_KEYS if message.startswith(name)), "")
