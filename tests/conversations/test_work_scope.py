"""An agent works on their teams' conversations and tickets, unrouted ones and their own; another team's are
invisible everywhere (inbox page and socket, API, admin). Managers and the Admin see all."""

import uuid

import pytest
from channels.db import database_sync_to_async

from apps.accounts.models import Team
from apps.accounts.selectors import WorkScope, work_scope
from apps.conversations.models import Conversation, Message
from apps.conversations.services import conversation_start, conversation_transfer
from apps.tickets.services import ticket_create
from tests.api.conftest import client_as
from tests.conversations.chat_clients import (
    TIMEOUT,
    frames_until,
    inbox_connect,
    new_widget_session,
    send_frame,
    widget_connect,
)


async def _frames_until_quiet(socket, quiet: float = 0.5) -> list[dict]:
    frames = []
    while not await socket.receive_nothing(timeout=quiet):
        frames.append(await socket.receive_json_from(timeout=TIMEOUT))
    return frames


@pytest.fixture
def team_loans(db) -> Team:
    return Team.objects.create(name="Loans", slug="loans")


@pytest.fixture
def loans_conversation(customer_carl, team_loans) -> Conversation:
    conversation = conversation_start(customer=customer_carl)
    Conversation.objects.filter(pk=conversation.pk).update(team=team_loans, state=Conversation.State.WAITING)
    conversation.refresh_from_db()
    return conversation


@pytest.fixture
def cards_conversation(customer_carl, team_cards) -> Conversation:
    conversation = conversation_start(customer=customer_carl)
    Conversation.objects.filter(pk=conversation.pk).update(team=team_cards, state=Conversation.State.WAITING)
    conversation.refresh_from_db()
    return conversation


def test_the_scope_of_each_role(agent_alice, manager_maria, admin_ada, team_cards):
    assert work_scope(user=agent_alice) == WorkScope(user_id=agent_alice.pk, team_ids=frozenset({team_cards.pk}))
    assert work_scope(user=manager_maria).sees_all
    assert work_scope(user=admin_ada).sees_all
    scope = work_scope(user=agent_alice)
    assert scope.allows(team_id=team_cards.pk, assignee_id=None)
    assert scope.allows(team_id=None, assignee_id=None)  # not routed yet: anyone may pick it up
    assert scope.allows(team_id=team_cards.pk + 100, assignee_id=agent_alice.pk)  # assigned to her
    assert not scope.allows(team_id=team_cards.pk + 100, assignee_id=None)


@pytest.mark.django_db
def test_the_inbox_page_lists_and_opens_only_the_agents_teams(
    client, agent_alice, loans_conversation, cards_conversation
):
    client.force_login(agent_alice)

    page = client.get("/inbox/").content.decode()

    assert f'href="/inbox/{cards_conversation.pk}/"' in page
    assert f'href="/inbox/{loans_conversation.pk}/"' not in page
    assert client.get(f"/inbox/{loans_conversation.pk}/").status_code == 404
    assert client.get(f"/inbox/{cards_conversation.pk}/").status_code == 200


@pytest.mark.django_db
def test_a_manager_opens_every_teams_conversation(client, manager_maria, loans_conversation, cards_conversation):
    client.force_login(manager_maria)

    assert client.get(f"/inbox/{loans_conversation.pk}/").status_code == 200
    assert client.get(f"/inbox/{cards_conversation.pk}/").status_code == 200


@pytest.mark.django_db
def test_the_api_hides_another_teams_conversations_and_tickets(
    agent_alice, manager_maria, customer_carl, team_loans, loans_conversation, cards_conversation
):
    loans_ticket = ticket_create(customer=customer_carl, subject="Loan question", team=team_loans)
    agent, manager = client_as(agent_alice), client_as(manager_maria)

    listed = {row["id"] for row in agent.get("/api/conversations/").data["results"]}

    assert listed == {cards_conversation.pk}
    assert agent.get(f"/api/conversations/{loans_conversation.pk}/").status_code == 404
    assert agent.get(f"/api/conversations/{loans_conversation.pk}/messages/").status_code == 404
    assert (
        agent.post(
            f"/api/conversations/{loans_conversation.pk}/messages/", {"text": "hi", "client_id": str(uuid.uuid4())}
        ).status_code
        == 404
    )
    assert not Message.objects.filter(conversation=loans_conversation).exists()
    assert agent.get(f"/api/tickets/{loans_ticket.pk}/").status_code == 404
    assert manager.get(f"/api/conversations/{loans_conversation.pk}/").status_code == 200
    assert manager.get(f"/api/tickets/{loans_ticket.pk}/").status_code == 200


@pytest.mark.django_db
def test_the_admin_hides_another_teams_conversations_and_tickets(
    client, agent_alice, customer_carl, team_loans, loans_conversation, cards_conversation
):
    loans_ticket = ticket_create(customer=customer_carl, subject="Loan question", team=team_loans)
    client.force_login(agent_alice)

    assert client.get(f"/admin/conversations/conversation/{loans_conversation.pk}/change/").status_code == 302
    assert client.get(f"/admin/conversations/conversation/{cards_conversation.pk}/change/").status_code == 200
    assert client.get(f"/admin/tickets/ticket/{loans_ticket.pk}/change/").status_code == 302
    changelist = client.get("/admin/conversations/conversation/").content.decode()
    assert f"/admin/conversations/conversation/{loans_conversation.pk}/change/" not in changelist


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_socket_refuses_frames_about_another_teams_conversation(agent_alice, team_loans):
    conversation, _ = await new_widget_session()
    await Conversation.objects.filter(pk=conversation.pk).aupdate(team=team_loans)
    inbox, snapshot = await inbox_connect("alice")

    assert conversation.pk not in {row["id"] for row in snapshot["conversations"]}
    for frame in (
        {"type": "message.send", "conversation": conversation.pk, "client_id": str(uuid.uuid4()), "text": "hi"},
        {"type": "resume", "conversation": conversation.pk, "after_seq": 0},
        {"type": "conversation.assign", "conversation": conversation.pk},
        {"type": "conversation.resolve", "conversation": conversation.pk},
    ):
        await inbox.send_json_to(frame)
        error = (await frames_until(inbox, "error"))[-1]
        assert error["detail"] == f"There is no conversation {conversation.pk}."
    await database_sync_to_async(conversation.refresh_from_db)()
    assert (conversation.assignee_id, conversation.state) == (None, Conversation.State.BOT)
    assert not await Message.objects.filter(conversation=conversation, role="agent").aexists()
    await inbox.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_events_of_another_teams_conversation_never_reach_the_agent(agent_alice, manager_maria, team_loans):
    # Given a conversation of the Loans team, watched by Alice (Cards) and by Maria (manager)
    conversation, token = await new_widget_session()
    await Conversation.objects.filter(pk=conversation.pk).aupdate(team=team_loans)
    alice, _ = await inbox_connect("alice")
    maria, _ = await inbox_connect("maria")
    widget = await widget_connect(token)

    # When the customer writes
    await widget.send_json_to(send_frame("Loan rates?"))
    await frames_until(maria, "message.new", lambda f: f["message"]["text"] == "Loan rates?")

    # Then the manager sees it and Alice sees nothing of it
    assert [f for f in await _frames_until_quiet(alice) if f.get("conversation") == conversation.pk] == []
    await widget.disconnect()
    await alice.disconnect()
    await maria.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_transfer_away_sends_the_agent_one_last_update_then_nothing(agent_alice, team_cards, team_loans):
    conversation, token = await new_widget_session()
    await Conversation.objects.filter(pk=conversation.pk).aupdate(team=team_cards)
    alice, snapshot = await inbox_connect("alice")
    assert conversation.pk in {row["id"] for row in snapshot["conversations"]}

    await database_sync_to_async(conversation_transfer)(conversation=conversation, team=team_loans, actor=None)
    moved = (await frames_until(alice, "conversation.updated"))[-1]
    widget = await widget_connect(token)
    await widget.send_json_to(send_frame("Still there?"))
    await frames_until(widget, "message.ack")

    assert moved["conversation"]["team"]["id"] == team_loans.pk
    assert [f for f in await _frames_until_quiet(alice) if f.get("conversation") == conversation.pk] == []
    await widget.disconnect()
    await alice.disconnect()
