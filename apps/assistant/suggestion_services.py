"""What agents tell the assistant from the inbox: which suggested reply they sent (as is, edited, or none of
them) and the right intent of a customer's message, which becomes training data for ML admins to review.

Web side: the inbox's socket and the API call these, so nothing here imports torch (suggestions themselves are
made by workers, apps/assistant/suggestions.py, and stored on the message as ``annotations["suggestions"]``).
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.assistant.feedback import agent_corrections_status, feedback_suggestion_outcome
from apps.assistant.models import ModelKind, SuggestionUse, TrainingExample
from apps.assistant.services import training_example_add
from apps.conversations.events import message_annotated_broadcast_on_commit, user_display_name
from apps.conversations.models import Message
from apps.privacy.names import customer_names

# A reply may carry a suggestion shown for an earlier customer message (the customer wrote again after the
# agent inserted it); this many of the conversation's latest customer messages are searched for it.
SUGGESTION_LOOKBACK = 20
INTENT_LABEL_MAX_LENGTH = TrainingExample._meta.get_field("label").max_length


def _whitespace_normalised(text: str) -> str:
    return " ".join(text.split())


def _suggestions_of(message: Message) -> list[dict[str, Any]]:
    suggestions = (message.annotations or {}).get("suggestions")
    return [s for s in suggestions if isinstance(s, dict)] if isinstance(suggestions, list) else []


def _customer_messages_before(reply: Message) -> QuerySet[Message]:
    return Message.objects.filter(
        conversation_id=reply.conversation_id, role=Message.Role.CUSTOMER, seq__lt=reply.seq
    ).order_by("-seq")


def suggestion_use_record(*, reply: Message, agent: AbstractBaseUser, suggestion: str | None) -> SuggestionUse | None:
    """Record what ``agent`` did with the suggested replies when sending ``reply``: "used" when it carries
    ``suggestion`` (an id shown to the agent) with the suggestion's text (whitespace aside), "edited" when the
    text differs, and "ignored", once per customer message, when it carries none although the customer's last
    message had suggestions. Notes, unknown ids and messages without suggestions record nothing.

    Call in the transaction that stored ``reply``, holding its conversation's row lock (as
    conversations.services.agent_message_post does), so two replies cannot both count the same message."""
    if reply.role != Message.Role.AGENT:
        return None
    if suggestion:
        return _record_choice(reply, agent, suggestion)
    return _record_ignored(reply, agent)


def _record_choice(reply: Message, agent: AbstractBaseUser, suggestion_id: str) -> SuggestionUse | None:
    for message in _customer_messages_before(reply)[:SUGGESTION_LOOKBACK]:
        offered = next((s for s in _suggestions_of(message) if s.get("id") == suggestion_id), None)
        if offered is not None:
            break
    else:
        return None  # a stale or made-up id: the reply stands, there is nothing to count
    same_text = _whitespace_normalised(str(offered.get("text", ""))) == _whitespace_normalised(reply.text)
    # A message first answered without a suggestion and then with one counts once, as the suggestion used.
    use = SuggestionUse.objects.filter(message=message, outcome=SuggestionUse.Outcome.IGNORED).first()
    use = use or SuggestionUse(message=message)
    use.reply, use.agent, use.suggestion_id = reply, agent, suggestion_id
    use.source = offered.get("source") if offered.get("source") in SuggestionUse.Source.values else ""
    use.outcome = SuggestionUse.Outcome.USED if same_text else SuggestionUse.Outcome.EDITED
    use.save()
    feedback_suggestion_outcome(use=use)
    return use


def _record_ignored(reply: Message, agent: AbstractBaseUser) -> SuggestionUse | None:
    message = _customer_messages_before(reply).first()
    if message is None or not _suggestions_of(message) or SuggestionUse.objects.filter(message=message).exists():
        return None
    use = SuggestionUse.objects.create(message=message, agent=agent, outcome=SuggestionUse.Outcome.IGNORED)
    feedback_suggestion_outcome(use=use)
    return use


def _intent_label_checked(intent: str) -> str:
    label = " ".join(intent.split())
    if not label:
        raise ValidationError("The corrected intent needs a label.", code="invalid")
    if len(label) > INTENT_LABEL_MAX_LENGTH:
        raise ValidationError(
            f"An intent label may hold at most {INTENT_LABEL_MAX_LENGTH} characters; got {len(label)}.",
            code="too_long",
        )
    return label


@transaction.atomic
def message_intent_correct(*, message: Message, intent: str, agent: AbstractBaseUser) -> Message:
    """An agent says which intent ``message`` (a customer's) really has: kept on the message with who and when,
    added as a pending intent example for ML admins to review (once per text and label), and shown to every
    inbox once committed. Refuses other roles' messages and empty or over-long labels, storing nothing."""
    label = _intent_label_checked(intent)
    locked = Message.objects.select_for_update().get(pk=message.pk)
    if locked.role != Message.Role.CUSTOMER:
        role = f"{'an' if locked.role[0] in 'aeiou' else 'a'} {locked.role} message"
        raise ValidationError(f"Only a customer's message has an intent to correct; message {locked.pk} is {role}.")
    locked.annotations = {
        **(locked.annotations or {}),
        "corrected_intent": {
            "intent": label,
            "by": agent.pk,
            "by_name": user_display_name(agent),
            "at": timezone.now().isoformat(),
        },
    }
    locked.save(update_fields=["annotations"])
    training_example_add(
        kind=ModelKind.INTENT,
        text=locked.text,
        label=label,
        source=TrainingExample.Source.AGENT_CORRECTION,
        source_ref=f"message:{locked.pk}",
        status=agent_corrections_status(),
        names=customer_names(name=locked.conversation.customer.name, email=locked.conversation.customer.email),
    )
    message_annotated_broadcast_on_commit(locked)
    return locked
