"""GDPR: everything held about a customer exported as JSON, a customer erased, and the retention policy that
anonymises closed conversations after ``HELPDESK_RETENTION_DAYS``. Each writes its audit row in its own
transaction. Aggregate figures (the reports' facts, model metrics, suggestion outcomes) are kept: they hold no
text of the customer's.
"""

import secrets
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.audit import Action, audit_record
from apps.assistant.models import TrainingExample
from apps.conversations.models import Conversation, Message, SatisfactionSurvey
from apps.customers.models import Customer
from apps.privacy.names import customer_names
from apps.privacy.redaction import pii_redact
from apps.reports.models import ConversationFact
from apps.tickets.models import Ticket, TicketChange

ERASED_TEXT = "[erased]"
EXPORT_FORMAT = "helpdesk-customer-export/1"


def _names(customer: Customer) -> list[str]:
    return customer_names(name=customer.name, email=customer.email)


# --- Export ------------------------------------------------------------------------------------------------


def customer_export(*, customer: Customer, actor: AbstractBaseUser | None, ip_address: str | None = None) -> dict:
    """Everything the desk holds about ``customer``, JSON-safe; the export is audited (counts, not content)."""
    conversations = list(
        Conversation.objects.filter(customer=customer).select_related("team", "survey").order_by("created_at")
    )
    messages = _messages_by_conversation(conversations)
    tickets = list(Ticket.objects.filter(customer=customer).prefetch_related("changes").order_by("created_at"))
    interactions = _interaction_records(customer)
    examples = _training_examples_of(messages)
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "customer": _customer_record(customer),
        "conversations": [_conversation_record(c, messages.get(c.pk, [])) for c in conversations],
        "tickets": [_ticket_record(ticket) for ticket in tickets],
        "training_examples": [
            {"kind": e.kind, "label": e.label, "text": e.text, "source": e.source, "status": e.status} for e in examples
        ],
        "interactions": interactions,
    }
    counts = {
        "conversations": len(conversations),
        "messages": sum(len(rows) for rows in messages.values()),
        "tickets": len(tickets),
        "training_examples": len(examples),
        "interactions": len(interactions),
    }
    audit_record(
        action=Action.CUSTOMER_EXPORT,
        actor=actor,
        target=customer,
        target_name=f"Customer #{customer.pk}",
        detail=counts,
        ip_address=ip_address,
    )
    return document


def _messages_by_conversation(conversations: list[Conversation]) -> dict[int, list[Message]]:
    grouped: dict[int, list[Message]] = {}
    rows = Message.objects.filter(conversation__in=conversations).order_by("conversation_id", "seq")
    for message in rows:
        grouped.setdefault(message.conversation_id, []).append(message)
    return grouped


def _training_examples_of(messages: dict[int, list[Message]]) -> list[TrainingExample]:
    refs = [f"message:{m.pk}" for rows in messages.values() for m in rows]
    return list(TrainingExample.objects.filter(source_ref__in=refs).order_by("pk")) if refs else []


def _customer_record(customer: Customer) -> dict[str, Any]:
    fields = ("id", "external_id", "name", "email", "locale", "attributes", "consent_marketing")
    record = {name: getattr(customer, name) for name in fields}
    record["consent_model_training"] = customer.consent_model_training
    record["created_at"] = customer.created_at.isoformat()
    record["erased_at"] = customer.erased_at.isoformat() if customer.erased_at else None
    return record


def _conversation_record(conversation: Conversation, messages: list[Message]) -> dict[str, Any]:
    survey = getattr(conversation, "survey", None)
    return {
        "id": conversation.pk,
        "channel": conversation.channel,
        "state": conversation.state,
        "team": conversation.team.name if conversation.team else None,
        "created_at": conversation.created_at.isoformat(),
        "closed_at": conversation.closed_at.isoformat() if conversation.closed_at else None,
        "predicted_satisfaction": conversation.predicted_satisfaction,
        "messages": [
            {
                "seq": m.seq,
                "role": m.role,
                "text": m.text,
                "created_at": m.created_at.isoformat(),
                "intent": m.intent,
                "sentiment": m.sentiment,
                "predicted_satisfaction": m.predicted_satisfaction,
                "decision": m.decision,
            }
            for m in messages
        ],
        "survey": {"rating": survey.rating, "comment": survey.comment} if survey else None,
    }


def _ticket_record(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.pk,
        "subject": ticket.subject,
        "description": ticket.description,
        "status": ticket.status,
        "priority": ticket.priority,
        "created_at": ticket.created_at.isoformat(),
        "changes": [
            {"field": c.field, "old": c.old_value, "new": c.new_value, "comment": c.comment}
            for c in ticket.changes.all()
        ],
    }


# --- Erasure -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErasureSummary:
    conversations: int
    messages_erased: int  # the customer's own messages, text replaced
    messages_redacted: int  # agents' and the bot's replies, PII removed
    tickets: int
    training_examples_deleted: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@transaction.atomic
def customer_erase(
    *, customer: Customer, actor: AbstractBaseUser | None, ip_address: str | None = None
) -> ErasureSummary:
    """The right to erasure: the customer anonymised, their own messages' text replaced, the desk's replies to
    them redacted of their PII, ticket texts and survey comments likewise, training examples made from their
    messages deleted, every widget token of theirs revoked. Ratings, timings and counts stay for the reports.
    Locks the customer row; erasing twice is harmless."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    names = _names(customer)
    conversations = list(Conversation.objects.select_for_update().filter(customer=customer))
    message_ids = list(Message.objects.filter(conversation__in=conversations).values_list("pk", flat=True))
    deleted, _ = TrainingExample.objects.filter(source_ref__in=[f"message:{pk}" for pk in message_ids]).delete()
    erased = Message.objects.filter(conversation__in=conversations, role=Message.Role.CUSTOMER).update(
        text=ERASED_TEXT, annotations={}
    )
    redacted = _messages_redact(
        Message.objects.filter(conversation__in=conversations).exclude(role=Message.Role.CUSTOMER), names
    )
    for conversation in conversations:
        _conversation_forget(conversation)
    SatisfactionSurvey.objects.filter(conversation__in=conversations).update(comment="")
    ConversationFact.objects.filter(conversation__in=conversations).update(comment="")
    tickets = _tickets_redact(customer, names)
    _customer_anonymise(customer)
    summary = ErasureSummary(len(conversations), erased, redacted, tickets, deleted)
    audit_record(
        action=Action.CUSTOMER_ERASE,
        actor=actor,
        target=customer,
        target_name=f"Customer #{customer.pk}",
        detail=summary.as_dict(),
        ip_address=ip_address,
    )
    return summary


def _messages_redact(messages, names: list[str]) -> int:
    changed = []
    for message in messages.only("pk", "text"):
        redacted = pii_redact(message.text, names=names)
        if redacted != message.text:
            message.text = redacted
            changed.append(message)
    Message.objects.bulk_update(changed, ["text"], batch_size=500)
    return len(changed)


def _conversation_forget(conversation: Conversation) -> None:
    # A new widget key revokes every token issued for it; bot_state holds card endings and order numbers.
    conversation.widget_key = secrets.token_hex(16)
    conversation.bot_state = {}
    conversation.reply_by_email = False
    conversation.anonymised_at = timezone.now()
    conversation.save(update_fields=["widget_key", "bot_state", "reply_by_email", "anonymised_at", "updated_at"])


def _tickets_redact(customer: Customer, names: list[str]) -> int:
    tickets = list(Ticket.objects.filter(customer=customer))
    for ticket in tickets:
        ticket.subject = pii_redact(ticket.subject, names=names)
        ticket.description = ERASED_TEXT if ticket.description else ""
    Ticket.objects.bulk_update(tickets, ["subject", "description"])
    changes = list(TicketChange.objects.filter(ticket__in=tickets))
    for change in changes:
        change.old_value = pii_redact(change.old_value, names=names)
        change.new_value = pii_redact(change.new_value, names=names)
        change.comment = pii_redact(change.comment, names=names)
    TicketChange.objects.bulk_update(changes, ["old_value", "new_value", "comment"], batch_size=500)
    return len(tickets)


def _customer_anonymise(customer: Customer) -> None:
    customer.name = ""
    customer.email = ""
    customer.external_id = None
    customer.attributes = {}
    customer.consent_marketing = False
    customer.consent_model_training = False
    customer.erased_at = customer.erased_at or timezone.now()
    customer.save()


# --- Retention ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionSummary:
    conversations: int
    messages_redacted: int
    customers_anonymised: int


def retention_apply(*, now=None, batch: int = 500) -> RetentionSummary:
    """Closed conversations older than HELPDESK_RETENTION_DAYS (0: keep forever) are anonymised: the PII in
    every message, survey comment and bot memory removed, tokens revoked. A customer none of whose
    conversations or open tickets remain inside the period is anonymised too. Idempotent (anonymised ones are
    skipped); audited once per run that changed something."""
    days = settings.HELPDESK_RETENTION_DAYS
    if days <= 0:
        return RetentionSummary(0, 0, 0)
    cutoff = (now or timezone.now()) - timedelta(days=days)
    due = Conversation.objects.filter(state=Conversation.State.CLOSED, closed_at__lt=cutoff, anonymised_at=None)
    conversations = redacted = 0
    for conversation_id in list(due.values_list("pk", flat=True)[:batch]):
        redacted += _conversation_anonymise(conversation_id)
        conversations += 1
    customers = _customers_past_retention(cutoff)
    summary = RetentionSummary(conversations, redacted, customers)
    if conversations or customers:
        audit_record(action=Action.RETENTION_RUN, actor=None, detail={"days": days, **asdict(summary)})
    return summary


@transaction.atomic
def _conversation_anonymise(conversation_id: int) -> int:
    conversation = Conversation.objects.select_for_update().select_related("customer").get(pk=conversation_id)
    if conversation.anonymised_at is not None:
        return 0
    names = _names(conversation.customer)
    redacted = _messages_redact(Message.objects.filter(conversation=conversation), names)
    survey = SatisfactionSurvey.objects.filter(conversation=conversation).first()
    if survey is not None and survey.comment:
        survey.comment = pii_redact(survey.comment, names=names)
        survey.save(update_fields=["comment"])
        ConversationFact.objects.filter(conversation=conversation).update(comment=survey.comment)
    _conversation_forget(conversation)
    return redacted


def _customers_past_retention(cutoff) -> int:
    recent = Q(conversations__anonymised_at=None) | Q(conversations__created_at__gte=cutoff)
    open_tickets = Q(tickets__closed_at=None) | Q(tickets__closed_at__gte=cutoff)
    stale = (
        Customer.objects.filter(erased_at=None, created_at__lt=cutoff, conversations__isnull=False)
        .exclude(recent)
        .exclude(Q(tickets__isnull=False) & open_tickets)
        .distinct()
    )
    count = 0
    for customer in stale:
        with transaction.atomic():
            _customer_anonymise(Customer.objects.select_for_update().get(pk=customer.pk))
        count += 1
    return count


def _interaction_records(customer: Customer) -> list[dict]:
    rows = customer.interactions.select_related("article", "product").order_by("occurred_at", "pk")
    return [
        {
            "item": interaction.item_key,
            "title": interaction.article.title if interaction.article else interaction.product.name,
            "action": interaction.action,
            "source": interaction.source,
            "occurred_at": interaction.occurred_at.isoformat(),
        }
        for interaction in rows
    ]
