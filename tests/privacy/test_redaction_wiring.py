"""Where redaction runs: before a model sees text, before a training example is stored, on every log line, and
at rest when the deployment asks for it."""

import logging

import pytest

from apps.assistant.ml.preprocess import preprocess
from apps.assistant.models import ModelKind, TrainingExample
from apps.assistant.services import LabelledText, training_example_add, training_examples_import
from apps.conversations.models import Message
from apps.conversations.services import message_post

pytestmark = pytest.mark.django_db

CARD_TEXT = "my card 4111 1111 1111 1111 was declined, write to carl@example.com"


def test_models_see_redacted_text_by_default():
    assert preprocess(CARD_TEXT) == "my card [CARD] was declined, write to [EMAIL]"


def test_redaction_before_models_can_be_turned_off(settings):
    settings.HELPDESK_REDACTOR = ""

    assert preprocess(CARD_TEXT) == CARD_TEXT


def test_training_examples_are_stored_redacted():
    example, created = training_example_add(
        kind=ModelKind.INTENT, text=CARD_TEXT, label="declined_card_payment", source=TrainingExample.Source.FEEDBACK
    )
    training_examples_import(
        kind=ModelKind.INTENT,
        examples=[LabelledText(text="call me on +44 20 7946 0958", label="contact", source_ref="f.csv:2")],
        source=TrainingExample.Source.IMPORT,
    )

    assert created
    assert example.text == "my card [CARD] was declined, write to [EMAIL]"
    assert TrainingExample.objects.get(label="contact").text == "call me on [PHONE]"


def test_messages_are_kept_as_written_unless_redaction_at_rest_is_on(settings, conversation):
    kept = message_post(conversation=conversation, role="customer", text=CARD_TEXT).message
    settings.HELPDESK_REDACT_AT_REST = True
    redacted = message_post(conversation=conversation, role="customer", text="I am Carl Customer, " + CARD_TEXT)
    agent_reply = message_post(conversation=conversation, role="agent", text="Carl, we wrote to carl@example.com")

    assert Message.objects.get(pk=kept.pk).text == CARD_TEXT
    assert redacted.message.text == "I am [NAME], my card [CARD] was declined, write to [EMAIL]"
    assert Message.objects.get(pk=redacted.message.pk).text == redacted.message.text
    # Only what customers write is redacted at rest; agents' replies are the desk's own words.
    assert agent_reply.message.text == "Carl, we wrote to carl@example.com"


def test_no_log_line_carries_pii():
    # settings.LOGGING's console handler, on the root logger.
    [handler] = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    assert [type(f).__name__ for f in handler.filters] == ["RedactingLogFilter"]
    record = logging.LogRecord("helpdesk", logging.INFO, __file__, 1, "customer %s wrote %s", ("x", CARD_TEXT), None)

    for log_filter in handler.filters:
        log_filter.filter(record)

    assert record.getMessage() == "customer x wrote my card [CARD] was declined, write to [EMAIL]"
