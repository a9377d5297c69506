from collections import Counter
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.assistant.examples import LabelledFileError, labelled_csv_read
from apps.assistant.jobs import MODEL_NAMES, SENTIMENT_LABELS, labels_check
from apps.assistant.models import ModelKind, TrainingExample
from apps.assistant.services import LabelledText, training_examples_import


class Command(BaseCommand):
    help = (
        "Import labelled examples from a CSV with a text,label header (BANKING77's text,category works too): "
        f"intents, or with --kind sentiment the labels {', '.join(SENTIMENT_LABELS)}. All or nothing: a bad "
        "row stops the import and names its line. Known examples are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV file with columns text,label")
        parser.add_argument(
            "--kind",
            default=ModelKind.INTENT,
            choices=sorted(MODEL_NAMES),
            help="The model the examples train (default %(default)s).",
        )
        parser.add_argument(
            "--per-label",
            type=int,
            default=0,
            help="Import at most this many rows of each label, in file order (make demo's quick start); 0 = all.",
        )
        parser.add_argument(
            "--source",
            default=TrainingExample.Source.IMPORT,
            choices=TrainingExample.Source.values,
            help="Where the examples come from (default %(default)s).",
        )

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No file at {path}")
        try:
            examples = labelled_csv_read(path)
            labels_check(kind=options["kind"], examples=examples)
        except ValidationError as error:
            raise CommandError(f"{path}: {'; '.join(error.messages)}; nothing imported") from error
        except LabelledFileError as error:
            raise CommandError(f"{path}: {error}; nothing imported") from error
        if options["per_label"] > 0:
            examples = _first_per_label(examples, options["per_label"])
        new, duplicate = training_examples_import(kind=options["kind"], examples=examples, source=options["source"])
        labels = len({example.label for example in examples})
        self.stdout.write(f"{path.name}: {len(examples)} rows, {labels} labels: {new} new, {duplicate} duplicate")


def _first_per_label(examples: list[LabelledText], limit: int) -> list[LabelledText]:
    taken: Counter[str] = Counter()
    kept = []
    for example in examples:
        if taken[example.label] < limit:
            taken[example.label] += 1
            kept.append(example)
    return kept
