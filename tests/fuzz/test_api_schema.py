"""The REST API fuzzed from its own OpenAPI schema (/api/schema/) with schemathesis: every operation as the Admin
and as an agent (token auth), and anonymously. No 5xx, a refused request stores nothing, and nothing stored holds
text no database keeps. Below, a plain regression test for each server error the fuzzing found."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error

from apps.conversations.models import Conversation, Message, SatisfactionSurvey
from apps.conversations.services import agent_message_post, message_post, widget_session_start
from apps.customers.models import Customer
from apps.tickets.models import Ticket, TicketChange
from apps.tickets.services import ticket_create
from helpdesk.text import text_is_storable
from tests.fuzz import FUZZ

# In-process WSGI: the requests run in the test's thread and transaction, so each test's rows roll back.
APPLICATION = WSGIHandler()
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", APPLICATION)

pytestmark = pytest.mark.django_db

# The rows a request could write, to compare before and after a refused one.
WRITTEN = (Customer, Ticket, TicketChange, Conversation, Message, SatisfactionSurvey, Token)


@pytest.fixture(autouse=True)
def _one_connection_for_the_test(settings) -> Iterator[None]:
    # Django closes the connection at the start and end of every request, which would end the test's
    # transaction; its own test client keeps it open the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    # A view's exception raises here with its traceback, rather than hide behind a bare 500 page.
    settings.DEBUG_PROPAGATE_EXCEPTIONS = True
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def desk(agent_alice, customer_carl) -> dict[str, list[int]]:
    """A little of everything, and the ids of each resource the paths name."""
    conversation = widget_session_start(name="Wendy", email="wendy@example.com")
    message_post(conversation=conversation, role=Message.Role.CUSTOMER, text="Where is my card?")
    agent_message_post(conversation=conversation, agent=agent_alice, text="On its way.", client_id=None, note=False)
    ticket = ticket_create(customer=customer_carl, subject="Card not arrived", actor=agent_alice)
    return {
        "customers": [customer_carl.pk, conversation.customer_id],
        "conversations": [conversation.pk],
        "tickets": [ticket.pk],
    }


@pytest.fixture(params=["admin_ada", "agent_alice", None], ids=["admin", "agent", "anonymous"])
def credentials(request) -> dict[str, str]:
    if request.param is None:
        return {}
    user = request.getfixturevalue(request.param)
    return {"Authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


def _with_real_ids(case: Any, desk: dict[str, list[int]]) -> None:
    """Small generated ids (0, 1, 2: what Hypothesis tries first) name rows that exist, so that detail and write
    operations are fuzzed on real objects too; any other id stays as generated (mostly a 404)."""
    identifier = (case.path_parameters or {}).get("id")
    resource = case.path.removeprefix("/api/").split("/")[0]
    if isinstance(identifier, int) and 0 <= identifier <= 2 and resource in desk:
        ids = desk[resource]
        case.path_parameters["id"] = ids[identifier % len(ids)]


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in WRITTEN}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _unstorable_stored() -> list[str]:
    """Text the API stored that PostgreSQL would refuse (NUL) or no database could (unpaired surrogates)."""
    stored = [
        *Customer.objects.values_list("external_id", "name", "email", "locale", "attributes"),
        *Ticket.objects.values_list("subject", "description", "intent"),
        *Message.objects.values_list("text", flat=True),
    ]
    return [text for text in _strings(stored) if not text_is_storable(text)]


@schema.parametrize()
# One desk serves every example of an operation on purpose: the function-scoped fixtures are shared.
@settings(FUZZ, max_examples=6, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_every_operation_answers_without_a_server_error_and_a_refusal_stores_nothing(case, credentials, desk):
    _with_real_ids(case, desk)
    before = _counts()

    response = case.call_and_validate(headers=credentials, checks=[not_a_server_error])

    if response.status_code >= 400:
        assert _counts() == before, (response.status_code, response.text[:300])
    assert _unstorable_stored() == []


# --- Server errors the fuzzing found ---------------------------------------------------------------------

ID_PAST_64_BITS = str(2**63)
JSON = "application/json"


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/conversations/", "team"),
        ("/api/conversations/", "assignee"),
        ("/api/conversations/", "customer"),
        ("/api/tickets/", "team"),
        ("/api/tickets/", "assignee"),
        ("/api/reports/summary/", "team"),
        ("/api/reports/heatmap/", "agent"),
        ("/api/reports/calibration/", "team"),
    ],
)
def test_an_id_filter_past_64_bits_is_refused_with_a_400_not_a_server_error(url, field, admin_ada):
    # SQLite cannot bind an integer past 64 bits (OverflowError: a 500); no id is that large anyway.
    client = APIClient()
    client.force_login(admin_ada)

    response = client.get(url, {field: ID_PAST_64_BITS})

    assert response.status_code == 400
    assert response.json() == {field: ["Ensure this value is less than or equal to 9223372036854775807."]}


@pytest.mark.parametrize("attributes", [{"tier": "gold\x00"}, {"\x00": "gold"}, {"tier": ["\ud800"]}])
def test_customer_attributes_that_no_database_stores_are_refused_and_nothing_is_saved(attributes, agent_alice):
    # NUL made PostgreSQL's jsonb raise (a 500) and was kept as is on SQLite; a lone surrogate failed on both.
    client = APIClient()
    client.force_login(agent_alice)
    customer = Customer.objects.create(name="Carla", attributes={"tier": "silver"})
    refusal = {"attributes": ["Attributes may not hold NUL characters or unpaired surrogates."]}

    # json.dumps escapes what the test client's own JSON encoding would choke on (a lone surrogate).
    created = client.post("/api/customers/", json.dumps({"name": "Dora", "attributes": attributes}), content_type=JSON)
    changed = client.patch(f"/api/customers/{customer.pk}/", json.dumps({"attributes": attributes}), content_type=JSON)

    assert (created.status_code, created.json()) == (400, refusal)
    assert (changed.status_code, changed.json()) == (400, refusal)
    assert list(Customer.objects.values_list("name", "attributes")) == [("Carla", {"tier": "silver"})]
