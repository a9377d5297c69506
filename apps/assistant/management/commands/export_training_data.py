import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from apps.assistant.jobs import MODEL_NAMES
from apps.assistant.models import ModelKind, TrainingExample
from apps.assistant.training_exports import rated_dialogues_export, training_examples_export


class Command(BaseCommand):
    help = (
        "Export training data with every text redacted: a kind's accepted labelled examples as CSV (text,label; "
        "import_intents reads it), or with 'satisfaction' the rated dialogues as JSONL (import_conversations "
        "reads it). Audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "kind", choices=sorted([*MODEL_NAMES, ModelKind.SATISFACTION]), help="Which model's training data."
        )
        parser.add_argument("--out", type=Path, help="File to write (default: standard output).")
        parser.add_argument(
            "--status",
            default=TrainingExample.Status.ACCEPTED,
            choices=TrainingExample.Status.values,
            help="Examples in this review status (default %(default)s; not used for satisfaction).",
        )

    def handle(self, *args, **options) -> None:
        out = options["out"].open("w", encoding="utf-8", newline="") if options["out"] else sys.stdout
        try:
            if options["kind"] == ModelKind.SATISFACTION:
                count = rated_dialogues_export(out=out, actor=None)
            else:
                examples = TrainingExample.objects.filter(kind=options["kind"], status=options["status"])
                count = training_examples_export(examples=examples, out=out, actor=None, kind=options["kind"])
        finally:
            if out is not sys.stdout:
                out.close()
        self.stderr.write(f"Exported {count} {'dialogue' if options['kind'] == 'satisfaction' else 'example'}(s).")
