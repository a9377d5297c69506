import time

from django.core.management.base import BaseCommand, CommandParser

from apps.reports.services import conversation_facts_refresh_stale


class Command(BaseCommand):
    help = (
        "Write the reports' facts of closed conversations that have none or changed since; --all rewrites "
        "every closed conversation's facts (after a change of TIME_ZONE or of how a figure is computed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="Refresh every closed conversation's facts.")

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        written = conversation_facts_refresh_stale(everything=options["all"])
        self.stdout.write(f"Refreshed the facts of {written} conversations in {time.perf_counter() - started:.1f} s.")
