import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.assistant.examples import LabelledFileError, labelled_csv_read
from apps.assistant.jobs import MODEL_NAMES
from apps.assistant.models import ModelVersion
from apps.assistant.registry import ArtifactError
from apps.assistant.selectors import model_version_get
from apps.assistant.training import model_version_evaluate

OOS_FIGURES = (
    ("in_scope_accuracy", "in-scope accuracy"),
    ("oos_recall", "out-of-scope recall"),
    ("oos_precision", "out-of-scope precision"),
)


class Command(BaseCommand):
    help = (
        "Evaluate a version (default: the champion) on a labelled CSV (text,label): accuracy, macro-F1, the "
        "per-intent report, and with oos examples in-scope accuracy and out-of-scope recall and precision."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        # --version picks the model version here, in place of Django's own "print Django's version".
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(MODEL_NAMES))
        parser.add_argument("--data", type=Path, required=True, help="CSV file with columns text,label")
        parser.add_argument("--version", type=int, help="Version number (default: the champion).")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, **options) -> None:
        model_name = MODEL_NAMES[options["kind"]]
        try:
            version = model_version_get(model_name=model_name, version=options["version"])
        except ModelVersion.DoesNotExist as error:
            which = f"v{options['version']}" if options["version"] else "champion"
            raise CommandError(f"The model {model_name!r} has no {which}") from error
        try:
            rows = labelled_csv_read(options["data"])
            report = model_version_evaluate(
                version=version, texts=[row.text for row in rows], labels=[row.label for row in rows]
            )
        except (LabelledFileError, ArtifactError, OSError) as error:
            raise CommandError(str(error)) from error
        report = {"model": model_name, "version": version.version, "data": str(options["data"]), **report}
        self.stdout.write(json.dumps(report, indent=2) if options["json"] else self._text(report))

    def _text(self, report: dict[str, Any]) -> str:
        figures = [
            ("accuracy", report["accuracy"]),
            ("macro-F1", report["macro_f1"]),
            ("top-1 accuracy, no oos rule", report["top1_accuracy"]),
            ("answered (not out of scope)", report["answered_share"]),
            *((title, report[key]) for key, title in OOS_FIGURES if key in report),
        ]
        lines = [f"{report['model']} v{report['version']} on {report['data']} ({report['n']} examples)"]
        lines += [f"  {title:<28} {value:.4f}" for title, value in figures]
        width = max(len("intent"), *(len(label) for label in report["per_label"]))
        lines += ["", f"{'intent':<{width}}  precision  recall     f1  support"]
        for label, figures in sorted(report["per_label"].items()):
            lines.append(
                f"{label:<{width}}  {figures['precision']:>9.3f}  {figures['recall']:>6.3f}  "
                f"{figures['f1']:>5.3f}  {figures['support']:>7}"
            )
        return "\n".join(lines)
