import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.assistant.dialogues import FORMATS, DialogueFileError, dialogues_read
from apps.assistant.examples import LabelledFileError, labelled_csv_read
from apps.assistant.jobs import SATISFACTION_CONFIGS, TRAINED_MODEL_NAMES
from apps.assistant.models import ModelKind, ModelVersion
from apps.assistant.registry import ArtifactError
from apps.assistant.selectors import model_version_get
from apps.assistant.training import model_version_evaluate, satisfaction_cross_validate, satisfaction_version_evaluate

SATISFACTION_FIGURES = (
    ("uar", "UAR"),
    ("kappa", "Cohen's kappa"),
    ("rho", "Spearman's rho (expected score)"),
    ("f1_dissatisfied", "F1 of 'rating < 3'"),
    ("mae", "MAE (expected score)"),
)
OOS_FIGURES = (
    ("in_scope_accuracy", "in-scope accuracy"),
    ("oos_recall", "out-of-scope recall"),
    ("oos_precision", "out-of-scope precision"),
)


class Command(BaseCommand):
    help = (
        "Evaluate a version (default: the champion) on a labelled CSV (text,label): accuracy, macro-F1, the "
        "per-intent report, and with oos examples in-scope accuracy and out-of-scope recall and precision. "
        "Satisfaction: on a file of rated dialogues (USS or JSONL, as import_conversations reads): UAR, Cohen's "
        "kappa, Spearman's rho, F1 of 'rating < 3' and MAE; with --folds, no version is used: the USS paper's "
        "protocol trains and tests on the file's dialogues in order, cut into that many contiguous parts."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        # --version picks the model version here, in place of Django's own "print Django's version".
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(TRAINED_MODEL_NAMES))
        parser.add_argument(
            "--data", type=Path, required=True, help="CSV file with columns text,label (satisfaction: dialogues)"
        )
        parser.add_argument("--version", type=int, help="Version number (default: the champion).")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument(
            "--folds", type=int, help="Satisfaction: cross-validate on the file's dialogues (the paper's 10)."
        )
        parser.add_argument("--fast", action="store_true", help="Satisfaction, with --folds: the fast configuration.")
        parser.add_argument("--format", choices=FORMATS, help="Satisfaction: the file's format (default: its suffix).")

    def handle(self, *args, **options) -> None:
        self.verbosity = options["verbosity"]
        if options["kind"] == ModelKind.SATISFACTION:
            self._satisfaction(options)
            return
        if options["folds"]:
            raise CommandError("--folds cross-validates the satisfaction model only")
        model_name = TRAINED_MODEL_NAMES[options["kind"]]
        version = self._version(model_name, options["version"])
        try:
            rows = labelled_csv_read(options["data"])
            report = model_version_evaluate(
                version=version, texts=[row.text for row in rows], labels=[row.label for row in rows]
            )
        except (LabelledFileError, ArtifactError, OSError) as error:
            raise CommandError(str(error)) from error
        report = {"model": model_name, "version": version.version, "data": str(options["data"]), **report}
        self.stdout.write(json.dumps(report, indent=2) if options["json"] else self._text(report))

    def _version(self, model_name: str, number: int | None) -> ModelVersion:
        try:
            return model_version_get(model_name=model_name, version=number)
        except ModelVersion.DoesNotExist as error:
            which = f"v{number}" if number else "champion"
            raise CommandError(f"The model {model_name!r} has no {which}") from error

    def _satisfaction(self, options: dict[str, Any]) -> None:
        model_name = TRAINED_MODEL_NAMES[ModelKind.SATISFACTION]
        version = None if options["folds"] else self._version(model_name, options["version"])
        try:
            dialogues = dialogues_read(options["data"], options["format"])
            if version is not None:
                report = satisfaction_version_evaluate(version=version, dialogues=dialogues)
                report = {"model": model_name, "version": version.version, **report}
            else:
                report = self._cross_validate(dialogues, options)
        except (DialogueFileError, ArtifactError, OSError) as error:
            raise CommandError(str(error)) from error
        except ValueError as error:  # e.g. fewer dialogues than folds
            raise CommandError(f"{options['data']}: {error}") from error
        report = {**report, "data": str(options["data"]), "dialogues": len(dialogues)}
        self.stdout.write(json.dumps(report, indent=2) if options["json"] else self._satisfaction_text(report))

    def _cross_validate(self, dialogues, options: dict[str, Any]) -> dict[str, Any]:
        config = SATISFACTION_CONFIGS["fast" if options["fast"] else "full"]
        result = satisfaction_cross_validate(
            dialogues=dialogues, folds=options["folds"], config=config, progress=self._progress
        )
        return {
            "model": TRAINED_MODEL_NAMES[ModelKind.SATISFACTION],
            "folds": options["folds"],
            "pooled": result.pooled,
            "mean_of_folds": result.mean,
            "per_fold": result.folds,
            "training_seconds": round(result.seconds, 1),
        }

    def _progress(self, fraction: float, note: str) -> None:
        if self.verbosity >= 1:
            self.stderr.write(f"{fraction:4.0%} {note}")

    def _satisfaction_text(self, report: dict[str, Any]) -> str:
        if "folds" not in report:
            lines = [
                f"{report['model']} v{report['version']} on {report['data']} ({report['dialogues']} dialogues, "
                f"{report['n']} rated turns)"
            ]
            lines += [f"  {title:<32} {report[key]:.4f}" for key, title in SATISFACTION_FIGURES]
            return "\n".join(lines)
        pooled, mean = report["pooled"], report["mean_of_folds"]
        lines = [
            f"{report['model']}: {report['folds']}-fold cross-validation on {report['data']} ({report['dialogues']} "
            f"dialogues in file order, {pooled['n']} rated turns; trained in {report['training_seconds']:.0f} s)",
            f"  {'':<32} {'pooled':>8} {'mean of folds':>14}",
        ]
        lines += [f"  {title:<32} {pooled[key]:>8.4f} {mean[key]:>14.4f}" for key, title in SATISFACTION_FIGURES]
        lines.append(
            "pooled: every fold's test turns together, as the paper reports; mean of folds: each fold alone (its UAR "
            "over the ratings that fold has)."
        )
        return "\n".join(lines)

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
