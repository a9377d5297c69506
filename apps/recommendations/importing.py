"""Reading an interaction history from a CSV file (manage.py import_interactions): all or nothing, a bad line
named by its number."""

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.assistant.examples import NotUtf8Text, text_file_read
from apps.customers.models import Customer
from apps.recommendations.models import Interaction
from apps.recommendations.services import interaction_record

REQUIRED = ("customer", "item", "action", "occurred_at")


class InteractionFileError(ValueError):
    """A file that cannot be imported, with the line that stops it."""


@dataclass(frozen=True)
class InteractionRow:
    line: int
    customer: str  # the host site's customer id (Customer.external_id)
    item: str
    action: str
    occurred_at: datetime
    external_id: str


def interactions_read(path: Path) -> list[InteractionRow]:
    """The rows of a CSV with the header customer,item,action,occurred_at[,external_id]; InteractionFileError
    naming the file and line of the first bad one."""
    try:
        text = text_file_read(path)
    except NotUtf8Text as error:
        raise InteractionFileError(f"{path.name}:{error.line}: not UTF-8 text ({error.reason})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [name for name in REQUIRED if name not in (reader.fieldnames or [])]
    if missing:
        raise InteractionFileError(
            f"{path.name}:1: the header needs {', '.join(REQUIRED)}; missing {', '.join(missing)}"
        )
    rows = []
    for record in reader:
        line = reader.line_num
        rows.append(_row(record, f"{path.name}:{line}", line))
    if not rows:
        raise InteractionFileError(f"{path.name} holds no interactions")
    return rows


def _row(record: dict, where: str, line: int) -> InteractionRow:
    if None in record:
        raise InteractionFileError(f"{where}: more fields than the header names")
    values = {key: (value or "").strip() for key, value in record.items()}
    for name in REQUIRED:
        if not values.get(name):
            raise InteractionFileError(f"{where}: {name} is empty")
    if values["action"] not in Interaction.Action.values:
        raise InteractionFileError(f"{where}: action must be one of {', '.join(Interaction.Action.values)}")
    occurred_at = parse_datetime(values["occurred_at"]) if len(values["occurred_at"]) <= 40 else None
    if occurred_at is None:
        raise InteractionFileError(f"{where}: occurred_at must be an ISO 8601 date and time, e.g. 2026-03-01T14:05:00Z")
    if timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at, timezone.get_default_timezone())
    return InteractionRow(
        line, values["customer"], values["item"], values["action"], occurred_at, values.get("external_id", "")
    )


@transaction.atomic
def interactions_import(*, rows: list[InteractionRow], file_name: str) -> tuple[int, int]:
    """Stores ``rows`` (all or none); a row with an external_id already stored is skipped. Returns (new, known).
    InteractionFileError naming the line of an unknown customer or item."""
    customers = dict(
        Customer.objects.filter(external_id__in={row.customer for row in rows}).values_list("external_id", "pk")
    )
    by_pk = Customer.objects.in_bulk(set(customers.values()))
    new = known = 0
    for row in rows:
        if row.customer not in customers:
            raise InteractionFileError(f"{file_name}:{row.line}: no customer with the id {row.customer!r}")
        try:
            _, created = interaction_record(
                customer=by_pk[customers[row.customer]],
                item=row.item,
                action=row.action,
                source=Interaction.Source.IMPORT,
                external_id=row.external_id or None,
                occurred_at=row.occurred_at,
            )
        except ValidationError as error:
            raise InteractionFileError(f"{file_name}:{row.line}: {' '.join(error.messages)}") from None
        new, known = (new + 1, known) if created else (new, known + 1)
    return new, known
