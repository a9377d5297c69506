"""Writes of the recommendations app: interactions (from the host site, the widget, the inbox, a file)."""

import re
import uuid
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from apps.conversations.models import Conversation
from apps.conversations.services import PostedMessage, agent_message_post
from apps.customers.models import Customer
from apps.knowledge.models import Article
from apps.recommendations.models import Interaction, Product, item_ids
from apps.recommendations.serving import recommendations_for

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
    """Records that ``items`` (keys of items just ranked for ``customer``, so known to exist) were shown to them:
    what the click-through rate divides by. One insert, no lookups."""
    rows = []
    for key in items:
        article_id, product_id = item_ids(key)
        rows.append(
            Interaction(
                customer=customer,
                article_id=article_id,
                product_id=product_id,
                action=Interaction.Action.SHOWN,
                source=source,
                conversation=conversation,
            )
        )
    Interaction.objects.bulk_create(rows)
    return len(rows)


# --- In the chat: the widget's panel and the agents' "Suggest to customer" --------------------------------------

WIDGET_ITEMS = 3


def recommendations_widget(*, conversation_id: int, k: int = WIDGET_ITEMS) -> list[dict[str, str]]:
    """What the widget shows its customer ("You may find these helpful"), recorded as shown; the intents of the
    chat so far steer them."""
    conversation = Conversation.objects.select_related("customer").get(pk=conversation_id)
    found = recommendations_for(customer=conversation.customer, k=k)
    recommendations_shown(
        customer=conversation.customer,
        items=[item.item for item in found],
        source=Interaction.Source.WIDGET,
        conversation=conversation,
    )
    return [{"item": r.item, "kind": r.kind, "title": r.title, "url": r.url, "summary": r.summary} for r in found]


def recommendation_click(*, conversation_id: int, item: str) -> Interaction:
    """The widget's customer opened a recommended item."""
    conversation = Conversation.objects.select_related("customer").get(pk=conversation_id)
    interaction, _ = interaction_record(
        customer=conversation.customer,
        item=item,
        action=Interaction.Action.CLICK,
        source=Interaction.Source.WIDGET,
        conversation=conversation,
    )
    return interaction


@transaction.atomic
def recommendation_send(
    *, conversation: Conversation, agent: AbstractBaseUser, item: str, client_id: uuid.UUID
) -> PostedMessage:
    """An agent suggests ``item`` to the customer: a reply naming it with its link, and a "sent" interaction
    (once per client_id: a resent frame is acknowledged, not sent twice)."""
    article, product = item_resolve(item)
    if product is not None and not product.active:
        raise ValidationError(f"{product.name} is no longer offered")
    if article is not None and not article.published:
        raise ValidationError(f"{article.title} is not published")
    title = article.title if article is not None else product.name
    url = reverse("web:help-article", args=[article.slug]) if article is not None else product.url
    text = f"You may find this helpful: {title}" + (f"\n{url}" if url else "")
    posted = agent_message_post(conversation=conversation, agent=agent, text=text, client_id=client_id, note=False)
    if posted.created:
        Interaction.objects.create(
            customer_id=conversation.customer_id,
            article=article,
            product=product,
            action=Interaction.Action.SENT,
            source=Interaction.Source.INBOX,
            conversation=conversation,
        )
    return posted
