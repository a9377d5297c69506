import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.web.demo.seed import DEFAULT_CONVERSATIONS, DEFAULT_CUSTOMERS, DEFAULT_SEED, SeedReport, demo_seed
from apps.web.demo.staff import DEMO_LOGINS


class Command(BaseCommand):
    help = (
        "Seed a realistic demo of Northwind Bank's help desk: teams, agents, KB articles for all 77 BANKING77 "
        "intents, products, customers, and past and live conversations with tickets and ratings. Safe to re-run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Random seed (default %(default)s).")
        parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS, help="Default %(default)s.")
        parser.add_argument("--conversations", type=int, default=DEFAULT_CONVERSATIONS, help="Default %(default)s.")
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Give the demo logins new random passwords and print them.",
        )

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        try:
            report = demo_seed(
                seed=options["seed"],
                customers=options["customers"],
                conversations=options["conversations"],
                reset_passwords=options["reset_passwords"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self._summary(report, seconds=time.perf_counter() - started, seed=options["seed"])
        self._logins(report)

    def _summary(self, report: SeedReport, *, seconds: float, seed: int) -> None:
        totals = report.totals
        statuses = ", ".join(f"{status} {count}" for status, count in report.ticket_statuses.items())
        source = report.utterance_source or "(conversations already seeded; left as they were)"
        lines = [
            f"Northwind Bank demo seeded in {seconds:.1f} s (seed {seed}).",
            f"  customers      {totals['customers']:>5}  ({report.customers_created} new)",
            f"  conversations  {totals['conversations']:>5}  ({report.conversations_created} new), "
            f"{totals['messages']} messages",
            f"  tickets        {totals['tickets']:>5}  ({statuses})",
            f"  surveys        {totals['surveys']:>5}",
            f"  articles {totals['articles']}, products {totals['products']}, canned replies "
            f"{totals['canned_replies']}, teams {totals['teams']}, SLA policies {totals['sla_policies']}, "
            f"agents {totals['agents']}, reviews {totals['reviews']}",
            f"  customer messages from {source}",
        ]
        self.stdout.write("\n".join(lines))

    def _logins(self, report: SeedReport) -> None:
        if not report.passwords:
            names = ", ".join(login.username for login in DEMO_LOGINS)
            self.stdout.write(
                f"Demo logins {names} already exist; run with --reset-passwords to set and print new passwords."
            )
            return
        self.stdout.write(self.style.WARNING("Demo logins (passwords are shown only this once):"))
        for login in DEMO_LOGINS:
            if login.username in report.passwords:
                self.stdout.write(f"  {login.username:<9} {report.passwords[login.username]}  ({login.role})")
