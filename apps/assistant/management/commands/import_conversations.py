from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.assistant.dialogues import (
    FORMATS,
    DialogueFileError,
    dialogue_format_for,
    dialogues_read,
    rated_dialogues_store,
)


class Command(BaseCommand):
    help = (
        "Import rated conversations for the satisfaction model: JSONL, one conversation a line "
        '({"id", "messages": [{"role": "customer"|"agent"|"bot", "text", "rating"?}], "csat"?}), or the USS '
        "data set's tab-separated format (USER/SYSTEM lines, annotators' ratings, a blank line between dialogues). "
        "The format follows the extension (.txt: USS, .jsonl/.json: JSONL) unless --format says. All or nothing: "
        "a bad line stops the import and names FILE:LINE. A conversation imported before (same source and id) is "
        "replaced."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=FORMATS, help="Default: from the file's extension.")

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No file at {path}")
        try:
            file_format = options["format"] or dialogue_format_for(path)
            dialogues = dialogues_read(path, file_format)
        except DialogueFileError as error:
            raise CommandError(f"{error}; nothing imported") from error
        new, updated = rated_dialogues_store(source=file_format, dialogues=dialogues)
        turns = sum(len(dialogue.turns) for dialogue in dialogues)
        rated = sum(turn["rating"] is not None for dialogue in dialogues for turn in dialogue.turns)
        overall = sum(dialogue.csat is not None for dialogue in dialogues)
        self.stdout.write(
            f"{path.name}: {len(dialogues)} conversations, {turns} turns, {rated} rated turns, {overall} overall "
            f"ratings: {new} new, {updated} updated"
        )
