"""Who may do what through the API: every role against every endpoint.

Anonymous requests get 403 rather than 401 because SessionAuthentication is the first authentication class
(it sends no WWW-Authenticate challenge); the error code still says "not_authenticated".
"""

import pytest

from apps.conversations.models import Message
from apps.customers.models import Customer
from apps.tickets.models import Ticket, TicketChange
from tests.api.conftest import ROLE_USERS

pytestmark = pytest.mark.django_db

READERS = {"agent_alice", "manager_maria", "admin_ada"}
WRITERS = {"agent_alice", "admin_ada"}

READ_PATHS = [
    "/api/tickets/",
    "/api/tickets/{ticket}/",
    "/api/conversations/",
    "/api/conversations/{conversation}/",
    "/api/conversations/{conversation}/messages/",
    "/api/customers/",
    "/api/customers/{customer}/",
]


def _refusal_code(user_fixture: str | None) -> str:
    return "not_authenticated" if user_fixture is None else "permission_denied"


def _assert_refused(response, user_fixture: str | None) -> None:
    assert response.status_code == 403
    assert response.data["detail"].code == _refusal_code(user_fixture)


@pytest.mark.parametrize("user_fixture", ROLE_USERS)
@pytest.mark.parametrize("path", READ_PATHS)
def test_reading(client_for, user_fixture, path, ticket, conversation, customer_carl):
    url = path.format(ticket=ticket.pk, conversation=conversation.pk, customer=customer_carl.pk)

    response = client_for(user_fixture).get(url)

    if user_fixture in READERS:
        assert response.status_code == 200
    else:
        _assert_refused(response, user_fixture)


@pytest.mark.parametrize("user_fixture", ROLE_USERS)
def test_opening_a_ticket(client_for, user_fixture, customer_carl):
    response = client_for(user_fixture).post("/api/tickets/", {"customer": customer_carl.pk, "subject": "Lost card"})

    if user_fixture in WRITERS:
        assert response.status_code == 201
        assert Ticket.objects.get().subject == "Lost card"
    else:
        _assert_refused(response, user_fixture)
        assert not Ticket.objects.exists()


@pytest.mark.parametrize("user_fixture", ROLE_USERS)
def test_changing_a_ticket(client_for, user_fixture, ticket):
    response = client_for(user_fixture).patch(f"/api/tickets/{ticket.pk}/", {"priority": "high"})

    ticket.refresh_from_db()
    if user_fixture in WRITERS:
        assert response.status_code == 200
        assert ticket.priority == "high"
    else:
        _assert_refused(response, user_fixture)
        assert ticket.priority == "normal"
        assert list(TicketChange.objects.values_list("field", flat=True)) == ["created"]


def test_put_is_not_offered(client_for, ticket):
    response = client_for("agent_alice").put(f"/api/tickets/{ticket.pk}/", {"subject": "x"})

    assert response.status_code == 405


@pytest.mark.parametrize("user_fixture", ROLE_USERS)
def test_posting_a_message(client_for, user_fixture, conversation):
    url = f"/api/conversations/{conversation.pk}/messages/"

    response = client_for(user_fixture).post(url, {"text": "Hello", "role": "agent"})

    if user_fixture in WRITERS:
        assert response.status_code == 201
        assert Message.objects.get(role="agent").text == "Hello"
    else:
        _assert_refused(response, user_fixture)
        assert not Message.objects.exists()


@pytest.mark.parametrize("user_fixture", ROLE_USERS)
def test_adding_a_customer(client_for, user_fixture):
    response = client_for(user_fixture).post("/api/customers/", {"name": "Dora", "email": "dora@example.com"})

    if user_fixture in WRITERS:
        assert response.status_code == 201
        assert Customer.objects.get().name == "Dora"
    else:
        _assert_refused(response, user_fixture)
        assert not Customer.objects.exists()


@pytest.mark.parametrize("user_fixture", ROLE_USERS)
def test_changing_a_customer(client_for, user_fixture, customer_carl):
    response = client_for(user_fixture).patch(f"/api/customers/{customer_carl.pk}/", {"name": "Carl C."})

    customer_carl.refresh_from_db()
    if user_fixture in WRITERS:
        assert response.status_code == 200
        assert customer_carl.name == "Carl C."
    else:
        _assert_refused(response, user_fixture)
        assert customer_carl.name == "Carl Customer"


def test_ml_admins_see_no_customer_data_anywhere(client_for, customer_carl, ticket, conversation):
    client = client_for("mladmin_mo")

    for url in ("/api/customers/", "/api/customers/?q=carl", "/api/tickets/", "/api/conversations/"):
        response = client.get(url)
        assert response.status_code == 403
        assert "Carl" not in response.content.decode()
