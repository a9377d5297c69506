"""Training data on its way out of the desk, and into the satisfaction model: redacted, the customer's name
included, read back by the import commands, and audited."""

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.accounts.models import AuditEvent
from apps.assistant.dialogues import conversation_turns, jsonl_parse
from apps.assistant.examples import labelled_csv_read
from apps.assistant.models import ModelKind, TrainingExample
from apps.assistant.services import example_text_sha256
from apps.assistant.suggestion_services import message_intent_correct
from apps.conversations.services import message_post, survey_submit

pytestmark = pytest.mark.django_db

RAW = "card 4111 1111 1111 1111 declined, I'm Carl"


def _stored_raw(text: str, label: str, status: str = TrainingExample.Status.ACCEPTED) -> TrainingExample:
    # As a row stored before redaction was configured: straight into the table.
    return TrainingExample.objects.create(
        kind=ModelKind.INTENT,
        text=text,
        label=label,
        text_sha256=example_text_sha256(text),
        source=TrainingExample.Source.IMPORT,
        status=status,
    )


def test_the_command_exports_accepted_examples_redacted_in_the_import_format(tmp_path):
    _stored_raw(RAW, "declined_card_payment")
    _stored_raw("where is my card", "card_arrival")
    _stored_raw("mail carl@example.com", "contact", status=TrainingExample.Status.PENDING)
    out = tmp_path / "intents.csv"

    call_command("export_training_data", "intent", "--out", str(out))

    rows = labelled_csv_read(out)
    assert [(row.text, row.label) for row in rows] == [
        ("card [CARD] declined, I'm Carl", "declined_card_payment"),
        ("where is my card", "card_arrival"),
    ]
    event = AuditEvent.objects.get(action=AuditEvent.Action.TRAINING_EXPORT)
    assert event.actor is None
    assert event.detail == {"kind": "intent", "rows": 2}


def test_rated_dialogues_come_out_with_the_customers_name_redacted_and_read_back(tmp_path, conversation):
    message_post(conversation=conversation, role="customer", text="I'm Carl Customer, card 4111 1111 1111 1111")
    message_post(conversation=conversation, role="bot", text="Thanks Carl, one moment.")
    survey_submit(conversation=conversation, rating=2)
    out = tmp_path / "dialogues.jsonl"

    call_command("export_training_data", "satisfaction", "--out", str(out))

    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    assert [message["text"] for message in record["messages"]] == [
        "I'm [NAME], card [CARD]",
        "Thanks [NAME], one moment.",
    ]
    assert record["csat"] == 2
    [dialogue] = jsonl_parse(out.read_text().splitlines(), "dialogues.jsonl")
    assert dialogue.external_id == f"survey:{conversation.pk}"
    assert AuditEvent.objects.get(action=AuditEvent.Action.TRAINING_EXPORT).detail == {
        "kind": "satisfaction",
        "rows": 1,
    }


def test_the_satisfaction_model_reads_a_live_conversation_without_the_customers_name(conversation):
    message_post(conversation=conversation, role="customer", text="carl here, mail carl@example.com")

    assert [turn["text"] for turn in conversation_turns(conversation_id=conversation.pk)] == [
        "[NAME] here, mail [EMAIL]"
    ]


def test_an_agents_intent_correction_stores_the_example_without_the_customers_name(conversation, agent_alice):
    message = message_post(
        conversation=conversation, role="customer", text="Carl Customer here, my card is lost"
    ).message

    message_intent_correct(message=message, intent="lost_or_stolen_card", agent=agent_alice)

    assert TrainingExample.objects.get(label="lost_or_stolen_card").text == "[NAME] here, my card is lost"


def test_an_ml_admin_exports_selected_examples_from_the_admin_and_is_audited(client, mladmin_mo):
    kept = _stored_raw(RAW, "declined_card_payment")
    _stored_raw("where is my card", "card_arrival")
    client.force_login(mladmin_mo)

    response = client.post(
        reverse("admin:assistant_trainingexample_changelist"),
        {"action": "export_csv", "_selected_action": [kept.pk]},
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = response.content.decode()
    assert list(csv.reader(io.StringIO(body))) == [
        ["text", "label"],
        ["card [CARD] declined, I'm Carl", "declined_card_payment"],
    ]
    event = AuditEvent.objects.get(action=AuditEvent.Action.TRAINING_EXPORT)
    assert event.actor == mladmin_mo
    assert event.detail == {"kind": "examples", "rows": 1}


@pytest.mark.parametrize("user_fixture", ["agent_alice", "manager_maria"])
def test_agents_and_managers_cannot_export_training_data(client, request, user_fixture):
    kept = _stored_raw(RAW, "declined_card_payment")
    client.force_login(request.getfixturevalue(user_fixture))

    response = client.post(
        reverse("admin:assistant_trainingexample_changelist"),
        {"action": "export_csv", "_selected_action": [kept.pk]},
    )

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.TRAINING_EXPORT).exists()
