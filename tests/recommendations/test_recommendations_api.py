"""The recommendations over HTTP: a widget token reaches only its own customer, staff by role, interactions
recorded by the host site once per event, and the import command naming a bad line."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apps.conversations.services import widget_session_start
from apps.conversations.tokens import widget_token_issue
from apps.customers.models import Customer
from apps.recommendations.models import Interaction
from tests.api.conftest import client_as

pytestmark = pytest.mark.django_db


def url(customer: Customer) -> str:
    return f"/api/customers/{customer.pk}/recommendations/"


def widget_client(conversation) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Widget {widget_token_issue(conversation=conversation)}")
    return client


def test_a_widget_gets_its_own_customers_recommendations_and_records_them_as_shown(history, catalogue):
    conversation = widget_session_start(name="Wendy")

    response = widget_client(conversation).get(url(conversation.customer), {"k": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["customer"] == conversation.customer.pk
    assert [r["why"] for r in body["recommendations"]] == ["popular", "popular"]
    assert set(body["recommendations"][0]) == {"item", "kind", "title", "url", "summary", "why"}
    shown = Interaction.objects.filter(customer=conversation.customer, action="shown")
    assert sorted(shown.values_list("source", flat=True)) == ["widget", "widget"]


def test_a_widget_token_never_reaches_another_customers_recommendations(history):
    mine = widget_session_start(name="Wendy")
    theirs = history["travel"][0]

    response = widget_client(mine).get(url(theirs))

    assert response.status_code == 404
    assert not Interaction.objects.filter(action="shown").exists()


@pytest.mark.parametrize(("header", "status"), [("Widget not-a-token", 401), ("Widget a b", 401), (None, 401)])
def test_a_bad_or_missing_token_is_refused(history, header, status):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get(url(history["travel"][0]))

    assert response.status_code == status
    assert response["WWW-Authenticate"] == "Widget"


@pytest.mark.parametrize(
    ("user_fixture", "status"),
    [("agent_alice", 200), ("manager_maria", 200), ("mladmin_mo", 403), ("plain_user_pat", 403)],
)
def test_staff_see_a_customers_recommendations_by_role(request, history, user_fixture, status):
    client = client_as(request.getfixturevalue(user_fixture))

    response = client.get(url(history["travel"][0]), {"k": 3})

    assert response.status_code == status
    assert not Interaction.objects.filter(action="shown").exists()  # staff looking is not showing


def test_k_is_bounded(history, agent_alice):
    response = client_as(agent_alice).get(url(history["travel"][0]), {"k": 500})

    assert response.status_code == 400
    assert "k" in response.json()


@pytest.fixture
def host_site(db):
    user = get_user_model().objects.create_user(username="host-site", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="add_interaction"))
    return user


def test_the_host_site_records_a_purchase_once_per_event(host_site, history, catalogue):
    client = client_as(host_site)
    event = {
        "customer_external_id": "travel-0",
        "item": "product:lounge-pass",
        "action": "purchase",
        "external_id": "o-1",
    }

    first = client.post("/api/interactions/", event, format="json")
    again = client.post("/api/interactions/", event, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["item"] == f"product:{catalogue['lounge-pass'].pk}"
    assert again.json()["created"] is False
    assert Interaction.objects.filter(external_id="o-1").count() == 1


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"customer_external_id": "travel-0", "item": "product:nope", "action": "view"}, "item"),
        ({"customer_external_id": "travel-0", "item": "basket:1", "action": "view"}, "item"),
        ({"customer_external_id": "nobody", "item": "product:lounge-pass", "action": "view"}, "customer"),
        ({"customer_external_id": "travel-0", "item": "product:lounge-pass", "action": "shown"}, "action"),
        ({"item": "product:lounge-pass", "action": "view"}, "non_field_errors"),
    ],
)
def test_a_bad_event_is_refused_with_its_field_and_nothing_stored(host_site, history, catalogue, event, field):
    before = Interaction.objects.count()

    response = client_as(host_site).post("/api/interactions/", event, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert Interaction.objects.count() == before


@pytest.mark.parametrize("user_fixture", ["agent_alice", "manager_maria", "mladmin_mo"])
def test_only_a_user_allowed_to_add_interactions_records_them(request, history, user_fixture):
    event = {"customer_external_id": "travel-0", "item": "product:lounge-pass", "action": "view"}

    response = client_as(request.getfixturevalue(user_fixture)).post("/api/interactions/", event, format="json")

    assert response.status_code == 403


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "events.csv"
    path.write_text(text)
    return path


def test_the_import_command_stores_a_file_once(tmp_path, history, catalogue, capsys):
    path = write(
        tmp_path,
        "customer,item,action,occurred_at,external_id\n"
        "travel-0,product:lounge-pass,purchase,2026-03-01T10:00:00Z,e1\n"
        "saving-1,article:where-is-my-card,helpful,2026-03-02T10:00:00,e2\n",
    )

    call_command("import_interactions", str(path))
    call_command("import_interactions", str(path))

    assert "Imported 0 interaction(s); 2 already known." in capsys.readouterr().out
    assert Interaction.objects.filter(source="import", external_id__in=["e1", "e2"]).count() == 2


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("travel-0,product:nope,view,2026-03-01T10:00:00Z", "events.csv:3: no product 'nope'"),
        ("nobody,product:lounge-pass,view,2026-03-01T10:00:00Z", "events.csv:3: no customer with the id 'nobody'"),
        ("travel-0,product:lounge-pass,liked,2026-03-01T10:00:00Z", "events.csv:3: action must be one of"),
        ("travel-0,product:lounge-pass,view,yesterday", "events.csv:3: occurred_at must be an ISO 8601"),
        ("travel-0,product:lounge-pass,view,2026-03-01T10:00:00Z,extra", "events.csv:3: more fields than the header"),
    ],
)
def test_a_bad_line_stops_the_import_names_its_line_and_stores_nothing(tmp_path, history, catalogue, row, message):
    path = write(
        tmp_path, f"customer,item,action,occurred_at\ntravel-1,product:fx-card,view,2026-03-01T09:00:00Z\n{row}\n"
    )
    before = Interaction.objects.count()

    with pytest.raises(CommandError) as raised:
        call_command("import_interactions", str(path))

    assert str(raised.value).startswith(message)
    assert Interaction.objects.count() == before
