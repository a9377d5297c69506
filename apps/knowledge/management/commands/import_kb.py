from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.knowledge.importing import KnowledgeImportError, kb_files, kb_import, kb_read


class Command(BaseCommand):
    help = (
        "Import help-centre articles from Markdown files (optional front matter between --- lines: title, slug, "
        "intents, tags, locale, published; the title defaults to the first '# ' heading) or JSONL (one "
        'article a line: {"title", "body", "slug", "intents", "tags", "locale", "published"}). Folders are '
        "searched for .md and .jsonl files. All or nothing: any bad file or line is reported and nothing is saved."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="Markdown or JSONL files, or folders of them")

    def handle(self, *args, paths: list[Path], **options) -> None:
        files = kb_files(paths)
        if not files:
            raise CommandError(f"No .md or .jsonl files in {', '.join(map(str, paths))}")
        try:
            counts = kb_import(specs=kb_read(files))
        except KnowledgeImportError as exc:
            raise CommandError(f"Nothing imported:\n{exc}") from exc
        self.stdout.write(
            f"{counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged "
            f"({len(files)} file{'s' if len(files) != 1 else ''})"
        )
