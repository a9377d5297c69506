from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.recommendations.importing import InteractionFileError, interactions_import, interactions_read


class Command(BaseCommand):
    help = (
        "Import what customers did with articles and products from a CSV with the header "
        "customer,item,action,occurred_at[,external_id]: customer is the host site's id (Customer.external_id), "
        "item is article:<id or slug> or product:<id or slug>, action is view, helpful, not_helpful, purchase, "
        "click..., occurred_at an ISO 8601 time. All or nothing: a bad line stops the import and is named. Rows "
        "with an external_id already imported are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            new, known = interactions_import(rows=interactions_read(path), file_name=path.name)
        except InteractionFileError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Imported {new} interaction(s); {known} already known.")
