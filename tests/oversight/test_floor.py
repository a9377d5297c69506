"""The admin's floor: its figures on a hand-made desk with known answers, who may open it, and its socket
refreshing after an inbox event (debounced), never after typing, and refusing agents."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import AgentProfile, Team
from apps.accounts.roles import AGENTS
from apps.accounts.services import agent_profile_ensure, agent_set_presence, user_set_roles
from apps.conversations.events import INBOX_GROUP, send_rollback_unsafe
from apps.conversations.models import Conversation, Message
from apps.conversations.services import conversation_start, message_post
from apps.oversight import floor as floor_module
from apps.oversight.consumers import FloorConsumer
from apps.oversight.floor import floor_snapshot
from apps.tickets.services import ticket_create
from helpdesk.asgi import application
from tests.conversations.chat_clients import OWN_ORIGIN, TIMEOUT, session_cookie_for

FLOOR = reverse("admin-floor")
NOW = timezone.now().replace(microsecond=0)


def staff(django_user_model, username: str, *, teams: list[Team], presence: str, capacity: int = 5):
    user = django_user_model.objects.create_user(username=username, password="pw", is_staff=True)
    user_set_roles(user=user, roles=[AGENTS])
    profile = agent_profile_ensure(user=user, teams=teams)
    profile.capacity = capacity
    profile.save(update_fields=["capacity"])
    agent_set_presence(profile=profile, presence=presence)
    return user


def chat(customer, *, state: str, team=None, assignee=None, waiting_for: timedelta | None = None, **fields):
    conversation = conversation_start(customer=customer)
    handoff = NOW - waiting_for if waiting_for else None
    Conversation.objects.filter(pk=conversation.pk).update(
        state=state, team=team, assignee=assignee, handoff_requested_at=handoff, **fields
    )
    conversation.refresh_from_db()
    return conversation


@pytest.fixture
def desk(db, django_user_model, customer_carl, team_cards):
    """Cards: alice online at her capacity of 2, bob away; Loans: carol offline. Two chats wait for Cards (10 and
    3 minutes), one waits unrouted (1 minute). At risk: a first response due in 5 minutes, a predicted rating
    of 1.8, an angry last message, a satisfaction falling by 1.5; fine: a calm chat, and a closed one at risk."""
    loans = Team.objects.create(name="Loans", slug="loans")
    alice = staff(django_user_model, "alice", teams=[team_cards], presence="online", capacity=2)
    bob = staff(django_user_model, "bob", teams=[team_cards], presence="away")
    carol = staff(django_user_model, "carol", teams=[loans], presence="offline")
    waiting_long = chat(customer_carl, state="waiting", team=team_cards, waiting_for=timedelta(minutes=10))
    chat(customer_carl, state="waiting", team=team_cards, waiting_for=timedelta(minutes=3))
    chat(customer_carl, state="waiting", waiting_for=timedelta(minutes=1))
    due_soon = chat(customer_carl, state="agent", team=team_cards, assignee=alice, waiting_for=timedelta(minutes=20))
    ticket = ticket_create(customer=customer_carl, subject="Card stuck")
    ticket.__class__.objects.filter(pk=ticket.pk).update(first_response_due_at=NOW + timedelta(minutes=5))
    Conversation.objects.filter(pk=due_soon.pk).update(ticket=ticket)
    low = chat(customer_carl, state="agent", team=team_cards, assignee=alice, at_risk=True, predicted_satisfaction=1.8)
    angry = chat(customer_carl, state="bot")
    message_post(conversation=angry, role=Message.Role.CUSTOMER, text="This is useless")
    Message.objects.filter(conversation=angry).update(sentiment=-0.9)
    falling = chat(customer_carl, state="bot", predicted_satisfaction=3.0, satisfaction_history=[4.5, 4.0, 3.0])
    calm = chat(customer_carl, state="bot", predicted_satisfaction=4.2, satisfaction_history=[4.0, 4.2])
    message_post(conversation=calm, role=Message.Role.CUSTOMER, text="Thanks")
    Message.objects.filter(conversation=calm).update(sentiment=0.6)
    chat(customer_carl, state="closed", at_risk=True, predicted_satisfaction=1.2)
    return {
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "loans": loans,
        "waiting_long": waiting_long,
        "due_soon": due_soon,
        "low": low,
        "angry": angry,
        "falling": falling,
    }


def test_the_floor_figures_on_a_hand_made_desk(desk, team_cards, settings, django_assert_num_queries):
    settings.HELPDESK_FLOOR_SLA_WARNING_MINUTES = 15

    with django_assert_num_queries(8):
        snapshot = floor_snapshot(now=NOW)

    assert snapshot["totals"] == {
        "online": 1,
        "away": 1,
        "offline": 1,
        "waiting": 3,
        "longest_wait_seconds": 600,
        "with_agents": 2,
        "at_risk": 4,
    }
    agents = [
        (a["name"], a["presence"], a["teams"], a["open_conversations"], a["capacity"]) for a in snapshot["agents"]
    ]
    assert snapshot["agents"][0]["conversations"] == sorted([desk["due_soon"].pk, desk["low"].pk])
    assert snapshot["conversation_url"].replace("{id}", "7") == reverse(
        "admin:conversations_conversation_change", args=[7]
    )
    assert agents == [
        ("alice", "online", ["Cards"], 2, 2),
        ("bob", "away", ["Cards"], 0, 5),
        ("carol", "offline", ["Loans"], 0, 5),
    ]
    queues = [
        (q["team"]["name"], q["waiting"], q["longest_wait_seconds"], q["agents_online"]) for q in snapshot["queues"]
    ]
    assert queues == [("Cards", 2, 600, 1), ("Loans", 0, None, 0), ("(no team)", 1, 60, 0)]
    risks = {row["conversation"]: row["reasons"] for row in snapshot["at_risk"]}
    assert risks == {
        desk["due_soon"].pk: ["First response SLA due in 5 min"],
        desk["low"].pk: ["Predicted satisfaction 1.8/5"],
        desk["angry"].pk: ["Negative sentiment (-0.90)"],
        desk["falling"].pk: ["Predicted satisfaction falling (-1.5)"],
    }


def test_a_missed_target_reads_as_breached(desk):
    later = NOW + timedelta(minutes=12)

    risks = {row["conversation"]: row["reasons"] for row in floor_snapshot(now=later)["at_risk"]}

    assert risks[desk["due_soon"].pk] == ["First response SLA breached 7 min ago"]


def test_team_leads_and_the_admin_open_the_floor_inside_the_admin(client, manager_maria, admin_ada, desk):
    for lead in (manager_maria, admin_ada):
        client.force_login(lead)
        response = client.get(FLOOR)
        assert response.status_code == 200
        assert response.context["snapshot"]["totals"]["waiting"] == 3
        assert b'id="floor-snapshot"' in response.content
        assert b"Django administration" not in response.content  # the desk's admin header, not a bare page
        assert b"helpdesk admin" in response.content


def test_the_floor_is_refused_to_agents_ml_admins_and_anonymous_users(client, agent_alice, mladmin_mo):
    anonymous = client.get(FLOOR)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("admin:login"))
    for user in (agent_alice, mladmin_mo):
        client.force_login(user)
        assert client.get(FLOOR).status_code == 403


async def floor_connect(username: str) -> WebsocketCommunicator:
    cookie = await session_cookie_for(username)
    floor = WebsocketCommunicator(application, "/ws/floor/", headers=[OWN_ORIGIN, (b"cookie", cookie)])
    connected, _ = await floor.connect(timeout=TIMEOUT)
    assert connected
    return floor


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_inbox_event_refreshes_the_floor_once_per_burst(manager_maria, team_cards, monkeypatch):
    monkeypatch.setattr(FloorConsumer, "REFRESH_DELAY", 0.2)
    bob = await database_sync_to_async(
        lambda: staff(type(manager_maria), "bob", teams=[team_cards], presence="offline")
    )()
    floor = await floor_connect("maria")
    first = await floor.receive_json_from(timeout=TIMEOUT)
    assert (first["type"], first["totals"]["online"]) == ("floor.snapshot", 0)

    profile = await database_sync_to_async(AgentProfile.objects.get)(user=bob)
    await database_sync_to_async(agent_set_presence)(profile=profile, presence="online")
    for _ in range(3):  # a burst of doorbells: one snapshot
        await database_sync_to_async(send_rollback_unsafe)(INBOX_GROUP, {"type": "chat.presence", "agent": {}})
    refreshed = await floor.receive_json_from(timeout=TIMEOUT)

    assert refreshed["type"] == "floor.snapshot"
    assert refreshed["totals"]["online"] == 1
    assert [a["presence"] for a in refreshed["agents"]] == ["online"]
    assert await floor.receive_nothing(timeout=0.5)
    await floor.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_typing_does_not_refresh_the_floor_and_frames_are_refused(manager_maria, monkeypatch):
    monkeypatch.setattr(FloorConsumer, "REFRESH_DELAY", 0.05)
    floor = await floor_connect("maria")
    await floor.receive_json_from(timeout=TIMEOUT)

    await database_sync_to_async(send_rollback_unsafe)(
        INBOX_GROUP, {"type": "chat.typing", "conversation": 1, "role": "customer", "name": ""}
    )
    quiet = await floor.receive_nothing(timeout=0.3)
    await floor.send_to(text_data='{"type": "presence.set", "presence": "online"}')
    refused = await floor.receive_json_from(timeout=TIMEOUT)

    assert quiet
    assert refused["code"] == "read_only"
    await floor.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_floor_socket_closes_for_an_agent_and_sends_nothing(agent_alice):
    floor = await floor_connect("alice")

    closed = await floor.receive_output(timeout=TIMEOUT)

    assert closed == {"type": "websocket.close", "code": 4403}
    await floor.disconnect()


def test_the_admin_home_links_the_floor_for_leads_only(client, manager_maria, agent_alice):
    client.force_login(manager_maria)
    lead_home = client.get(reverse("admin:index"))
    client.force_login(agent_alice)
    agent_home = client.get(reverse("admin:index"))

    assert f'href="{FLOOR}"'.encode() in lead_home.content
    assert f'href="{FLOOR}"'.encode() not in agent_home.content


def test_a_ticket_waiting_on_the_customer_is_not_at_risk_for_its_resolution(db, customer_carl, agent_alice):
    waiting = chat(customer_carl, state="agent", assignee=agent_alice)
    ticket = ticket_create(customer=customer_carl, subject="Asked for a screenshot")
    ticket.__class__.objects.filter(pk=ticket.pk).update(
        status="pending", first_response_at=NOW, resolution_due_at=NOW - timedelta(hours=1)
    )
    Conversation.objects.filter(pk=waiting.pk).update(ticket=ticket)

    assert floor_snapshot(now=NOW)["at_risk"] == []


def test_the_at_risk_list_shows_the_most_urgent_first_and_counts_them_all(desk, monkeypatch):
    monkeypatch.setattr(floor_module, "AT_RISK_LIMIT", 3)

    snapshot = floor_snapshot(now=NOW)

    assert snapshot["totals"]["at_risk"] == 4
    # An SLA about to be missed, then a low prediction, then a falling one; the negative message drops off.
    assert [row["conversation"] for row in snapshot["at_risk"]] == [
        desk["due_soon"].pk,
        desk["low"].pk,
        desk["falling"].pk,
    ]
