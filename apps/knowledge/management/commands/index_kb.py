import time

from django.core.management.base import BaseCommand

# Loads torch: this command runs where the models run (a worker's machine, or the embedded default).
from apps.assistant.retrieval import passages_embed_missing
from apps.knowledge.models import Passage


class Command(BaseCommand):
    help = (
        "Embed every knowledge-base passage that has no embedding by the current encoder (HELPDESK_ENCODER_PATH "
        "or the bundled MiniLM), so the first search after a deployment or an import does not wait for it."
    )

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        embedded = passages_embed_missing()
        seconds = time.monotonic() - started
        self.stdout.write(f"{embedded} passages embedded in {seconds:.2f} s; {Passage.objects.count()} passages in all")
