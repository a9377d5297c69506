"""API fixtures: a client logged in as one of the named users, and small tickets and conversations."""

import pytest
from django.contrib.auth.models import AbstractBaseUser
from rest_framework.test import APIClient

from apps.conversations.models import Conversation
from apps.conversations.services import conversation_start
from apps.customers.models import Customer
from apps.tickets.models import Ticket
from apps.tickets.services import ticket_create

# Every named user fixture, and None for an anonymous client.
ROLE_USERS = [None, "plain_user_pat", "agent_alice", "manager_maria", "mladmin_mo", "admin_ada"]


def client_as(user: AbstractBaseUser | None) -> APIClient:
    """A client with a real session, so each request loads the user (and its roles) afresh."""
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def client_for(request):
    """``client_for("agent_alice")`` → an APIClient logged in as that fixture's user; None → anonymous."""

    def make(user_fixture: str | None) -> APIClient:
        return client_as(request.getfixturevalue(user_fixture) if user_fixture else None)

    return make


def make_tickets(customer: Customer, count: int) -> list[Ticket]:
    return [ticket_create(customer=customer, subject=f"Ticket {n}") for n in range(count)]


def make_conversations(customer: Customer, count: int) -> list[Conversation]:
    return [conversation_start(customer=customer) for _ in range(count)]


@pytest.fixture
def ticket(customer_carl) -> Ticket:
    return ticket_create(customer=customer_carl, subject="Card not arrived", intent="card_arrival")
