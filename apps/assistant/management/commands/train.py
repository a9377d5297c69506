from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.assistant.jobs import TRAINED_MODEL_NAMES, model_champion_for_kind
from apps.assistant.models import ModelAlias, ModelKind
from apps.assistant.selectors import model_alias_version
from apps.assistant.training import model_version_train


class Command(BaseCommand):
    help = (
        "Train a new version of a model on its accepted training examples (satisfaction: on the imported rated "
        "dialogues and the surveyed conversations), in this process, and print its metrics on the held-out split. "
        "The first ready version becomes champion; later ones wait for a promotion."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(TRAINED_MODEL_NAMES))
        parser.add_argument(
            "--fast",
            action="store_true",
            help="Train a head on the frozen encoder instead of fine-tuning it (satisfaction: embed each turn alone, "
            "not also the last two together).",
        )
        parser.add_argument(
            "--if-no-champion",
            action="store_true",
            help="Do nothing when the model already has a champion (make demo's first-run training).",
        )

    def handle(self, *args, **options) -> None:
        self.verbosity = options["verbosity"]
        if options["if_no_champion"]:
            existing = model_champion_for_kind(kind=options["kind"])
            if existing is not None:
                self.stdout.write(f"{existing} is champion already: nothing to train.")
                return
        try:
            version = model_version_train(
                kind=options["kind"], fast=options["fast"], actor=None, progress=self._progress
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        champion = model_alias_version(model=version.model, alias=ModelAlias.Name.CHAMPION)
        metrics = version.metrics
        self.stdout.write(f"{version}: ready, trained on {version.training_size}. {version.notes}")
        if options["kind"] == ModelKind.RECOMMENDER and "ndcg_at_10" in metrics:
            self.stdout.write(
                f"latest interactions held out by time ({metrics['test_customers']} customers): recall@10 "
                f"{metrics['recall_at_10']:.4f}, NDCG@10 {metrics['ndcg_at_10']:.4f} (popularity "
                f"{metrics['popularity_ndcg_at_10']:.4f}, content {metrics['content_ndcg_at_10']:.4f})"
            )
        elif metrics.get("n") and options["kind"] == ModelKind.SATISFACTION:
            self.stdout.write(
                f"held-out ({metrics['n']} rated turns of {metrics['held_out_dialogues']} dialogues): "
                f"UAR {metrics['uar']:.4f}, kappa {metrics['kappa']:.4f}, rho {metrics['rho']:.4f}, "
                f"F1(<3) {metrics['f1_dissatisfied']:.4f}, MAE {metrics['mae']:.4f}"
            )
        elif metrics.get("n"):
            self.stdout.write(
                f"held-out ({metrics['n']} examples): accuracy {metrics['accuracy']:.4f}, "
                f"macro-F1 {metrics['macro_f1']:.4f}, top-1 {metrics['top1_accuracy']:.4f}"
            )
        else:
            self.stdout.write("No held-out examples yet: no metrics.")
        self.stdout.write(f"champion: {champion or 'none'}")

    def _progress(self, fraction: float, note: str) -> None:
        if self.verbosity >= 1:
            self.stderr.write(f"{fraction:4.0%} {note}")
