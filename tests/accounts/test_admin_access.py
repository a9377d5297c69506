"""Who reaches which admin page, and that the admin writes through the services (alias moves, article edits)."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from apps.assistant.models import AliasChange, ModelAlias, ModelKind, ModelVersion, RegisteredModel, TrainingExample
from apps.assistant.services import alias_set, training_example_add
from apps.conversations.models import CannedReply, Message
from apps.conversations.services import message_post, survey_submit
from apps.knowledge.models import Article, ArticleRevision
from apps.knowledge.services import article_save
from apps.recommendations.models import Product
from apps.tickets.models import SLAPolicy, Ticket, TicketChange
from apps.tickets.services import ticket_create, ticket_update

pytestmark = pytest.mark.django_db

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label_lower)


def changelist_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def inline_management(prefix: str, rows: int) -> dict[str, int]:
    """The management form a read-only inline renders; a POST of the parent needs it back."""
    return {f"{prefix}-TOTAL_FORMS": rows, f"{prefix}-INITIAL_FORMS": rows}


def url_of(label: str) -> str:
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_changelist")


@pytest.fixture
def registry(mladmin_mo):
    """An intent model with a ready v1 (champion, accuracy 0.9) and a ready v2 (accuracy 0.95)."""
    model = RegisteredModel.objects.create(name="intent", kind=ModelKind.INTENT)
    v1 = ModelVersion.objects.create(
        model=model, version=1, status="ready", metrics={"accuracy": 0.9, "macro_f1": 0.88, "ece": 0.04}
    )
    v2 = ModelVersion.objects.create(
        model=model, version=2, status="ready", metrics={"accuracy": 0.95, "macro_f1": 0.93}
    )
    alias_set(model=model, alias="champion", version=v1, actor=mladmin_mo, reason="first")
    return model, v1, v2


@pytest.fixture
def back_office_rows(agent_alice, team_cards, customer_carl, conversation, registry):
    """One row or more of every model of the project, so each changelist renders its display columns."""
    ticket = ticket_create(customer=customer_carl, subject="Card not arrived", team=team_cards, actor=agent_alice)
    ticket_update(ticket=ticket, actor=agent_alice, assignee=agent_alice)
    conversation.ticket = ticket
    conversation.save(update_fields=["ticket"])
    message_post(conversation=conversation, role=Message.Role.CUSTOMER, text="Where is my card?")
    message_post(conversation=conversation, role=Message.Role.NOTE, text="Checked the courier", author=agent_alice)
    survey_submit(conversation=conversation, rating=4, comment="quick")
    SLAPolicy.objects.create(name="Normal", priority="normal", first_response_minutes=60, resolution_minutes=480)
    CannedReply.objects.create(title="Hello", shortcut="hello", text="Hi there", team=team_cards)
    article_save(title="Card delivery", body="Cards arrive in **5 days**.", intents=["card_arrival"])
    Product.objects.create(name="Gold card", slug="gold-card", description="A card", category="cards")
    training_example_add(kind="intent", text="where is my card", label="card_arrival", source="import")


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label_lower)
def test_superuser_gets_every_changelist(client, admin_ada, back_office_rows, model):
    client.force_login(admin_ada)

    response = client.get(changelist_url(model))

    assert response.status_code == 200


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label_lower)
def test_superuser_gets_the_change_form_of_every_row(client, admin_ada, back_office_rows, model):
    client.force_login(admin_ada)
    rows = list(model._default_manager.all()[:3])

    for row in rows:
        assert client.get(change_url(row)).status_code == 200, row


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label_lower)
@pytest.mark.parametrize("user_fixture", [None, "plain_user_pat"])
def test_anonymous_and_non_staff_users_are_sent_to_the_login(client, request, model, user_fixture):
    if user_fixture:
        client.force_login(request.getfixturevalue(user_fixture))
    url = changelist_url(model)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={url}"


@pytest.mark.parametrize(
    ("user_fixture", "label", "status"),
    [
        ("agent_alice", "tickets.ticket", 200),
        ("agent_alice", "conversations.conversation", 200),
        ("agent_alice", "customers.customer", 200),
        ("agent_alice", "tickets.ticketchange", 200),
        ("agent_alice", "assistant.modelversion", 403),
        ("agent_alice", "assistant.trainingexample", 403),
        ("agent_alice", "assistant.aliaschange", 403),
        ("mladmin_mo", "assistant.registeredmodel", 200),
        ("mladmin_mo", "assistant.modelversion", 200),
        ("mladmin_mo", "assistant.modelalias", 200),
        ("mladmin_mo", "assistant.aliaschange", 200),
        ("mladmin_mo", "assistant.trainingexample", 200),
        ("mladmin_mo", "customers.customer", 403),
        ("mladmin_mo", "conversations.conversation", 403),
        ("mladmin_mo", "tickets.ticket", 403),
        ("manager_maria", "tickets.ticket", 200),
        ("manager_maria", "conversations.conversation", 200),
        ("manager_maria", "knowledge.article", 200),
        ("manager_maria", "assistant.modelversion", 403),
    ],
)
def test_role_matrix_reaches_the_changelists(client, request, back_office_rows, user_fixture, label, status):
    client.force_login(request.getfixturevalue(user_fixture))

    assert client.get(url_of(label)).status_code == status


def test_manager_sees_a_read_only_ticket_and_cannot_post_a_change(client, manager_maria, back_office_rows):
    ticket = Ticket.objects.get()
    history_before = TicketChange.objects.count()
    client.force_login(manager_maria)

    page = client.get(change_url(ticket))
    refused = client.post(change_url(ticket), {"subject": "Renamed", "status": "closed", "priority": "urgent"})

    assert page.status_code == 200
    assert b'name="subject"' not in page.content
    assert b'name="_save"' not in page.content
    assert refused.status_code == 403
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.status) == ("Card not arrived", "open")
    assert TicketChange.objects.count() == history_before


def test_manager_is_offered_the_leads_ticket_actions_only(client, manager_maria, back_office_rows):
    # Managers read tickets (no change form) but run the team lead's bulk actions (tests/tickets/test_lead_actions).
    client.force_login(manager_maria)

    response = client.get(url_of("tickets.ticket"))

    assert response.status_code == 200
    offered = [name for name, _ in response.context["action_form"].fields["action"].choices if name]
    assert offered == ["reassign_tickets", "merge_tickets", "close_stale_pending", "export_csv"]


def test_agent_can_post_a_message_elsewhere_but_not_add_one_in_the_admin(client, agent_alice, back_office_rows):
    # Agents hold conversations.add_message for the inbox; the admin has no add form, since seqs come from
    # message_post.
    client.force_login(agent_alice)

    assert client.get(reverse("admin:conversations_message_add")).status_code == 403


# --- Registry: alias history is append-only and alias moves go through alias_set -------------------------


@pytest.mark.parametrize("user_fixture", ["admin_ada", "mladmin_mo"])
def test_alias_history_cannot_be_changed_or_deleted_by_anyone(client, request, registry, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    change = AliasChange.objects.get()
    model_admin = admin.site._registry[AliasChange]
    page_request = client.get(change_url(change)).wsgi_request

    deleted = client.post(reverse("admin:assistant_aliaschange_delete", args=[change.pk]), {"post": "yes"})
    bulk = client.post(
        url_of("assistant.aliaschange"), {"action": "delete_selected", "_selected_action": [change.pk], "post": "yes"}
    )
    edited = client.post(change_url(change), {"reason": "rewritten"})

    assert not model_admin.has_delete_permission(page_request, change)
    assert not model_admin.has_change_permission(page_request, change)
    assert not model_admin.has_add_permission(page_request)
    assert deleted.status_code == 403
    assert bulk.status_code == 200  # the changelist again, with "no action selected": delete is not offered
    assert edited.status_code == 403
    assert list(AliasChange.objects.values_list("pk", "reason")) == [(change.pk, "first")]


def test_moving_an_alias_in_the_admin_writes_the_history_with_the_actor(client, mladmin_mo, registry):
    model, v1, v2 = registry
    alias = ModelAlias.objects.get(model=model, alias="champion")
    client.force_login(mladmin_mo)

    response = client.post(change_url(alias), {"version": v2.pk, "reason": "v2 wins on macro_f1"})

    assert response.status_code == 302
    alias.refresh_from_db()
    assert alias.version == v2
    latest = AliasChange.objects.first()
    assert (latest.from_version, latest.to_version, latest.actor, latest.reason) == (
        v1,
        v2,
        mladmin_mo,
        "v2 wins on macro_f1",
    )
    assert AliasChange.objects.count() == 2


def test_an_alias_cannot_point_at_another_models_version(client, mladmin_mo, registry):
    _, v1, _ = registry
    other = RegisteredModel.objects.create(name="sentiment", kind=ModelKind.SENTIMENT)
    foreign = ModelVersion.objects.create(model=other, version=1, status="ready")
    client.force_login(mladmin_mo)

    response = client.post(change_url(ModelAlias.objects.get()), {"version": foreign.pk, "reason": "oops"})

    assert response.status_code == 200
    assert "version" in response.context["adminform"].form.errors
    assert ModelAlias.objects.get().version == v1
    assert AliasChange.objects.count() == 1


def test_the_champion_action_moves_the_alias_through_alias_set(client, mladmin_mo, registry):
    model, _, v2 = registry
    client.force_login(mladmin_mo)

    client.post(url_of("assistant.modelversion"), {"action": "make_champion", "_selected_action": [v2.pk]})

    assert ModelAlias.objects.get(model=model, alias="champion").version == v2
    assert AliasChange.objects.first().actor == mladmin_mo


def test_model_versions_list_their_metrics_side_by_side(client, mladmin_mo, registry):
    client.force_login(mladmin_mo)

    # Column 3 is accuracy (after the action checkbox, the version and its status); "-" sorts descending.
    response = client.get(url_of("assistant.modelversion"), {"o": "-3"})

    best, champion = response.context["results"]
    assert '<td class="field-metric_accuracy">0.950</td>' in best
    assert '<td class="field-metric_macro_f1">0.930</td>' in best
    assert '<td class="field-metric_accuracy">0.900</td>' in champion
    assert '<td class="field-other_metrics">ece=0.040</td>' in champion
    assert '<td class="field-alias_names">champion</td>' in champion


def test_training_examples_are_reviewed_by_action(client, mladmin_mo):
    example, _ = training_example_add(kind="intent", text="hi", label="greeting", source="import", status="pending")
    client.force_login(mladmin_mo)

    client.post(url_of("assistant.trainingexample"), {"action": "reject", "_selected_action": [example.pk]})

    example.refresh_from_db()
    assert example.status == TrainingExample.Status.REJECTED


# --- Knowledge: edits go through article_save ------------------------------------------------------------


def test_editing_an_article_in_the_admin_keeps_a_revision_by_the_editor(client, manager_maria):
    article = article_save(title="Card delivery", body="Five days.")
    client.force_login(manager_maria)

    response = client.post(
        change_url(article),
        {
            "title": "Card delivery",
            "body": "Seven days.",
            "tags": "[]",
            "intents": '["card_arrival"]',
            "published": "on",
            **inline_management("revisions", 1),
        },
    )

    assert response.status_code == 302
    article.refresh_from_db()
    assert (article.version, article.body, article.intents) == (2, "Seven days.", ["card_arrival"])
    assert list(ArticleRevision.objects.values_list("version", "edited_by__username")) == [(2, "maria"), (1, None)]
    page = client.get(change_url(article))
    assert b'href="/help/card-delivery/"' in page.content


def test_adding_an_article_in_the_admin_goes_through_article_save(client, manager_maria):
    client.force_login(manager_maria)

    client.post(
        reverse("admin:knowledge_article_add"),
        {
            "title": "Lost card",
            "slug": "lost-card",
            "locale": "en",
            "body": "Freeze it.",
            "tags": "[]",
            "intents": "[]",
            **inline_management("revisions", 0),
        },
    )

    article = Article.objects.get()
    assert (article.slug, article.version, article.published) == ("lost-card", 1, False)
    assert article.revisions.get().edited_by == manager_maria


def test_staff_user_list_is_what_ticket_assignment_offers(client, admin_ada, agent_alice, plain_user_pat):
    client.force_login(admin_ada)

    form = client.get(reverse("admin:tickets_ticket_add")).context["adminform"].form

    assert set(form.fields["assignee"].queryset) == set(get_user_model().objects.filter(is_staff=True))
    assert plain_user_pat not in form.fields["assignee"].queryset


# --- Customers: their conversations and tickets, attributes readable -------------------------------------


def test_manager_reads_a_customer_with_pretty_attributes_and_recent_history(
    client, manager_maria, back_office_rows, customer_carl
):
    client.force_login(manager_maria)

    response = client.get(change_url(customer_carl))

    html = response.content.decode()
    assert '<pre style="margin: 0">{\n  &quot;tier&quot;: &quot;gold&quot;\n}</pre>' in html
    assert 'name="attributes"' not in html
    inlines = {formset.opts.model._meta.model_name: formset for formset in response.context["inline_admin_formsets"]}
    assert [form.original.subject for form in inlines["ticket"]] == ["Card not arrived"]
    assert len(list(inlines["conversation"])) == 1
    assert f"?customer__id__exact={customer_carl.pk}" in html


def test_agent_edits_customer_attributes_as_indented_json(client, agent_alice, back_office_rows, customer_carl):
    client.force_login(agent_alice)
    page = client.get(change_url(customer_carl))
    assert page.context["adminform"].form["attributes"].value() == '{\n  "tier": "gold"\n}'

    response = client.post(
        change_url(customer_carl),
        {
            "external_id": "c-1",
            "name": "Carl Customer",
            "email": "carl@example.com",
            "locale": "en",
            "attributes": '{"tier": "silver", "segment": "student"}',
            "consent_model_training": "on",
            **inline_management("conversations", 1),
            **inline_management("tickets", 1),
        },
    )

    assert response.status_code == 302
    customer_carl.refresh_from_db()
    assert customer_carl.attributes == {"tier": "silver", "segment": "student"}


def test_agent_finds_customers_by_autocomplete_when_opening_a_ticket(client, agent_alice, customer_carl):
    client.force_login(agent_alice)

    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "tickets", "model_name": "ticket", "field_name": "customer", "term": "carl"},
    )

    assert response.status_code == 200
    assert [result["text"] for result in response.json()["results"]] == ["Carl Customer"]
