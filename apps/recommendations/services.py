"""Writes of the recommendations app: interactions (from the host site, the widget, the inbox, a file)."""

import re
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.conversations.models import Conversation
from apps.customers.models import Customer
from apps.knowledge.models import Article
from apps.recommendations.models import Interaction, Product

FUTURE_TOLERANCE = timedelta(minutes=5)  # clocks of the host site and the desk differ a little
_ITEM = re.compile(r"^(article|product):(?:(\d+)|([-\w]+))$")


def item_resolve(item: str) -> tuple[Article | None, Product | None]:
    """``item`` as "article:12", "article:<slug>", "product:7" or "product:<slug>"; ValidationError naming the
    item when it is malformed or unknown."""
    match = _ITEM.match(item.strip()) if isinstance(item, str) else None
    if match is None:
        raise ValidationError(
            f"item must look like article:12, article:<slug>, product:7 or product:<slug>; got {item!r}"
        )
    kind, pk, slug = match.groups()
    model = Article if kind == "article" else Product
    found = model.objects.filter(pk=int(pk)).first() if pk else model.objects.filter(slug=slug).order_by("pk").first()
    if found is None:
        raise ValidationError(f"no {kind} {item.split(':', 1)[1]!r}")
    return (found, None) if kind == "article" else (None, found)


def interaction_record(
    *,
    customer: Customer,
    item: str,
    action: str,
    source: str,
    conversation: Conversation | None = None,
    external_id: str | None = None,
    occurred_at: datetime | None = None,
) -> tuple[Interaction, bool]:
    """Stores what ``customer`` did with ``item``; an interaction already stored under ``external_id`` is
    returned as it is (a retried POST, a re-imported file). Returns (interaction, created)."""
    if action not in Interaction.Action.values:
        raise ValidationError(f"action must be one of {', '.join(Interaction.Action.values)}; got {action!r}")
    if occurred_at is not None and occurred_at > timezone.now() + FUTURE_TOLERANCE:
        raise ValidationError("occurred_at is in the future")
    article, product = item_resolve(item)
    if external_id:
        existing = Interaction.objects.filter(external_id=external_id).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            interaction = Interaction.objects.create(
                customer=customer,
                article=article,
                product=product,
                action=action,
                source=source,
                conversation=conversation,
                external_id=external_id or None,
                occurred_at=occurred_at or timezone.now(),
            )
    except IntegrityError:  # the same external_id stored by a concurrent request
        return Interaction.objects.get(external_id=external_id), False
    return interaction, True


def recommendations_shown(*, customer: Customer, items: list[str], source: str, conversation=None) -> int:
    """Records that ``items`` were shown to ``customer`` (what the click-through rate divides by)."""
    rows = []
    for item in items:
        article, product = item_resolve(item)
        rows.append(
            Interaction(
                customer=customer,
                article=article,
                product=product,
                action=Interaction.Action.SHOWN,
                source=source,
                conversation=conversation,
            )
        )
    Interaction.objects.bulk_create(rows)
    return len(rows)
