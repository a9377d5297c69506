"""GDPR: export everything held about a customer, erase them keeping aggregate figures, every step audited and
refused to the roles that may not."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.accounts.models import AuditEvent
from apps.assistant.models import ModelKind, TrainingExample
from apps.assistant.services import training_example_add
from apps.conversations.models import Conversation, Message, SatisfactionSurvey
from apps.conversations.services import conversation_close, conversation_start, message_post, survey_submit
from apps.conversations.tokens import ExpiredWidgetToken, widget_token_conversation, widget_token_issue
from apps.customers.models import Customer
from apps.privacy.services import ERASED_TEXT, customer_erase, customer_export, retention_apply
from apps.privacy.tasks import apply_retention
from apps.recommendations.models import Product
from apps.recommendations.services import interaction_record
from apps.reports.models import ConversationFact
from apps.reports.services import conversation_facts_refresh
from apps.tickets.services import ticket_create, ticket_update
from tests.api.conftest import client_as

pytestmark = pytest.mark.django_db

CARL_TEXT = "Hi, I'm Carl Customer, my card 4111 1111 1111 1111 was charged twice, mail me at carl@example.com"


@pytest.fixture
def carls_history(customer_carl, agent_alice, team_cards):
    conversation = conversation_start(customer=customer_carl)
    customer_message = message_post(conversation=conversation, role="customer", text=CARL_TEXT).message
    message_post(
        conversation=conversation,
        role="agent",
        text="Thanks Carl, I have written to carl@example.com about it.",
        author=agent_alice,
    )
    Conversation.objects.filter(pk=conversation.pk).update(bot_state={"card_ending": "1111"})
    training_example_add(
        kind=ModelKind.INTENT,
        text="my card was charged twice",
        label="card_payment_charged_twice",
        source=TrainingExample.Source.AGENT_CORRECTION,
        source_ref=f"message:{customer_message.pk}",
    )
    conversation_close(conversation=conversation)
    survey_submit(conversation=conversation, rating=2, comment="Carl here, call me on +44 20 7946 0958")
    conversation_facts_refresh(conversation_ids=[conversation.pk])
    ticket = ticket_create(
        customer=customer_carl, subject="Double charge for Carl Customer", description=CARL_TEXT, team=team_cards
    )
    ticket_update(ticket=ticket, actor=agent_alice, priority="high")
    return conversation


@pytest.fixture
def someone_else(db):
    other = Customer.objects.create(name="Olga Other", email="olga@example.com")
    conversation = conversation_start(customer=other)
    message_post(conversation=conversation, role="customer", text="Olga here: olga@example.com")
    return other


def test_the_export_holds_everything_and_its_audit_row_only_counts(customer_carl, carls_history, manager_maria):
    product = Product.objects.create(
        name="Travel insurance", slug="travel-insurance", description="Cover", category="travel"
    )
    interaction_record(customer=customer_carl, item=f"product:{product.pk}", action="purchase", source="host")

    document = customer_export(customer=customer_carl, actor=manager_maria, ip_address="10.0.0.9")

    assert document["customer"]["email"] == "carl@example.com"
    [conversation] = document["conversations"]
    assert next(m["text"] for m in conversation["messages"]) == CARL_TEXT
    assert conversation["survey"] == {"rating": 2, "comment": "Carl here, call me on +44 20 7946 0958"}
    assert document["tickets"][0]["description"] == CARL_TEXT
    assert document["tickets"][0]["changes"][-1]["field"] == "priority"
    assert document["training_examples"][0]["label"] == "card_payment_charged_twice"
    [bought] = document["interactions"]
    assert (bought["item"], bought["title"], bought["action"]) == (
        f"product:{product.pk}",
        "Travel insurance",
        "purchase",
    )
    json.dumps(document)  # JSON-safe as it is
    event = AuditEvent.objects.get(action=AuditEvent.Action.CUSTOMER_EXPORT)
    assert (event.actor, event.ip_address, event.target_name) == (
        manager_maria,
        "10.0.0.9",
        f"Customer #{customer_carl.pk}",
    )
    assert event.detail == {"conversations": 1, "messages": 2, "tickets": 1, "training_examples": 1, "interactions": 1}
    assert "carl" not in json.dumps(event.detail).lower()


def test_erasure_removes_the_customers_data_and_keeps_the_figures(
    customer_carl, carls_history, admin_ada, someone_else
):
    token = widget_token_issue(conversation=carls_history)

    summary = customer_erase(customer=customer_carl, actor=admin_ada)

    customer_carl.refresh_from_db()
    assert (customer_carl.name, customer_carl.email, customer_carl.external_id) == ("", "", None)
    assert customer_carl.attributes == {}
    assert customer_carl.erased_at is not None
    assert not customer_carl.consent_model_training
    texts = list(Message.objects.filter(conversation=carls_history).order_by("seq").values_list("text", flat=True))
    assert texts[0] == ERASED_TEXT
    assert "carl@example.com" not in texts[1]
    assert "Carl" not in texts[1]
    assert "[EMAIL]" in texts[1]
    carls_history.refresh_from_db()
    assert carls_history.bot_state == {}
    assert carls_history.anonymised_at is not None
    with pytest.raises(ExpiredWidgetToken, match="revoked"):
        widget_token_conversation(token=token)
    survey = SatisfactionSurvey.objects.get(conversation=carls_history)
    assert (survey.rating, survey.comment) == (2, "")
    fact = ConversationFact.objects.get(conversation=carls_history)
    assert (fact.rating, fact.comment) == (2, "")
    assert not TrainingExample.objects.filter(label="card_payment_charged_twice").exists()
    ticket = customer_carl.tickets.get()
    assert ticket.description == ERASED_TEXT
    assert "Carl" not in ticket.subject
    assert summary.as_dict() == {
        "conversations": 1,
        "messages_erased": 1,
        "messages_redacted": 1,
        "tickets": 1,
        "training_examples_deleted": 1,
    }
    event = AuditEvent.objects.get(action=AuditEvent.Action.CUSTOMER_ERASE)
    assert event.detail == summary.as_dict()
    assert event.actor == admin_ada
    # Nobody else's data is touched.
    assert Message.objects.get(conversation__customer=someone_else).text == "Olga here: olga@example.com"


def test_erasing_twice_is_harmless(customer_carl, carls_history, admin_ada):
    customer_erase(customer=customer_carl, actor=admin_ada)
    erased_at = Customer.objects.get(pk=customer_carl.pk).erased_at

    customer_erase(customer=customer_carl, actor=admin_ada)

    assert Customer.objects.get(pk=customer_carl.pk).erased_at == erased_at
    assert Message.objects.filter(conversation=carls_history, role="customer").get().text == ERASED_TEXT


@pytest.mark.parametrize(
    ("user_fixture", "export_status", "erase_status"),
    [
        (None, 403, 403),
        ("agent_alice", 403, 403),
        ("mladmin_mo", 403, 403),
        ("manager_maria", 200, 403),
        ("admin_ada", 200, 200),
    ],
)
def test_the_api_lets_managers_export_and_only_the_admin_erase(
    request, customer_carl, carls_history, user_fixture, export_status, erase_status
):
    client = client_as(request.getfixturevalue(user_fixture) if user_fixture else None)

    export = client.get(f"/api/customers/{customer_carl.pk}/export/")
    erase = client.post(f"/api/customers/{customer_carl.pk}/erase/")

    assert (export.status_code, erase.status_code) == (export_status, erase_status)
    erased = Customer.objects.get(pk=customer_carl.pk).erased_at is not None
    assert erased == (erase_status == 200)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CUSTOMER_ERASE).exists() == erased
    if export_status == 200:
        assert export["Content-Disposition"] == f'attachment; filename="customer-{customer_carl.pk}.json"'
        assert export.json()["customer"]["id"] == customer_carl.pk


def test_an_unknown_customer_is_a_404(admin_ada):
    client = client_as(admin_ada)
    assert client.get("/api/customers/999999/export/").status_code == 404
    assert client.post("/api/customers/999999/erase/").status_code == 404


def test_the_admin_export_action_downloads_json_for_a_manager(client, manager_maria, customer_carl, carls_history):
    client.force_login(manager_maria)

    response = client.post(
        "/admin/customers/customer/", {"action": "export_customers", "_selected_action": [customer_carl.pk]}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["customer"]["name"] == "Carl Customer"


def test_the_admin_erase_action_asks_first_and_is_the_admins_alone(
    client, manager_maria, admin_ada, customer_carl, carls_history
):
    selected = {"action": "erase_customers", "_selected_action": [customer_carl.pk]}
    client.force_login(manager_maria)
    refused = client.post("/admin/customers/customer/", selected)
    assert Customer.objects.get(pk=customer_carl.pk).erased_at is None
    assert "erase_customers" not in refused.content.decode()

    client.force_login(admin_ada)
    confirmation = client.post("/admin/customers/customer/", selected)
    assert "This cannot be undone" in confirmation.content.decode()
    assert Customer.objects.get(pk=customer_carl.pk).erased_at is None

    done = client.post("/admin/customers/customer/", {**selected, "confirm": "yes"})
    assert done.status_code == 302
    assert Customer.objects.get(pk=customer_carl.pk).erased_at is not None


# --- Retention ---------------------------------------------------------------------------------------------


def _closed_days_ago(customer, days: int, text: str) -> Conversation:
    conversation = conversation_start(customer=customer)
    message_post(conversation=conversation, role="customer", text=text, client_id=uuid.uuid4())
    conversation_close(conversation=conversation)
    past = timezone.now() - timedelta(days=days)
    Conversation.objects.filter(pk=conversation.pk).update(closed_at=past, created_at=past)
    return conversation


def test_retention_anonymises_only_closed_conversations_past_the_period(settings, customer_carl):
    settings.HELPDESK_RETENTION_DAYS = 30
    old = _closed_days_ago(customer_carl, 40, "Reach me at carl@example.com")
    recent = _closed_days_ago(customer_carl, 10, "Reach me at carl@example.com")
    still_open = conversation_start(customer=customer_carl)
    message_post(conversation=still_open, role="customer", text="carl@example.com again")

    first = retention_apply()
    second = retention_apply()

    assert Message.objects.get(conversation=old).text == "Reach me at [EMAIL]"
    assert Message.objects.get(conversation=recent).text == "Reach me at carl@example.com"
    assert Message.objects.get(conversation=still_open).text == "carl@example.com again"
    assert (first.conversations, first.messages_redacted, first.customers_anonymised) == (1, 1, 0)
    assert (second.conversations, second.customers_anonymised) == (0, 0)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RETENTION_RUN).count() == 1
    assert Customer.objects.get(pk=customer_carl.pk).erased_at is None  # they still have recent conversations


def test_a_customer_with_nothing_left_inside_the_period_is_anonymised(settings, customer_carl):
    settings.HELPDESK_RETENTION_DAYS = 30
    Customer.objects.filter(pk=customer_carl.pk).update(created_at=timezone.now() - timedelta(days=90))
    _closed_days_ago(customer_carl, 40, "hello")

    summary = retention_apply()

    customer_carl.refresh_from_db()
    assert summary.customers_anonymised == 1
    assert (customer_carl.name, customer_carl.email, customer_carl.erased_at is not None) == ("", "", True)


def test_retention_off_by_default_and_the_beat_job_is_scheduled(settings, customer_carl):
    settings.HELPDESK_RETENTION_DAYS = 0
    old = _closed_days_ago(customer_carl, 4000, "carl@example.com")

    assert apply_retention() == {"conversations": 0, "messages_redacted": 0, "customers_anonymised": 0}
    assert Message.objects.get(conversation=old).text == "carl@example.com"
    job = PeriodicTask.objects.get(task="apps.privacy.tasks.apply_retention")
    assert job.enabled
    assert (job.crontab.hour, job.crontab.minute) == ("3", "15")
