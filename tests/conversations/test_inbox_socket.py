"""The agents' websocket, on the configured channel layer (in-memory, or Redis when REDIS_URL is set)."""

import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from apps.accounts.models import Team
from apps.conversations.models import Conversation, Message
from helpdesk.asgi import application
from tests.conversations.chat_clients import (
    OWN_ORIGIN,
    TIMEOUT,
    drain,
    frames_until,
    inbox_connect,
    new_widget_session,
    send_frame,
    session_cookie_for,
    widget_connect,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_an_agent_gets_a_snapshot_of_open_conversations_and_the_agents(agent_alice):
    conversation, _ = await new_widget_session("Wendy")

    inbox, snapshot = await inbox_connect("alice")

    assert snapshot["type"] == "inbox.snapshot"
    assert snapshot["me"] == {"id": agent_alice.pk, "name": "alice", "presence": "offline", "can_write": True}
    assert [summary["id"] for summary in snapshot["conversations"]] == [conversation.pk]
    assert snapshot["conversations"][0]["customer"]["name"] == "Wendy"
    assert {"id": agent_alice.pk, "name": "alice", "presence": "offline"} in snapshot["agents"]
    await inbox.disconnect()


@pytest.mark.parametrize("username", [None, "pat", "mo"])
async def test_the_inbox_refuses_anyone_but_agents_managers_and_admins(username, plain_user_pat, mladmin_mo):
    headers = [OWN_ORIGIN]
    if username:
        headers.append((b"cookie", await session_cookie_for(username)))
    inbox = WebsocketCommunicator(application, "/ws/inbox/", headers=headers)

    await inbox.connect(timeout=TIMEOUT)

    assert await inbox.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4403}
    await inbox.disconnect()


async def test_a_customer_token_gets_nothing_from_the_inbox():
    _, token = await new_widget_session()
    inbox = WebsocketCommunicator(application, f"/ws/inbox/?token={token}", headers=[OWN_ORIGIN])

    await inbox.connect(timeout=TIMEOUT)

    assert await inbox.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4403}
    await inbox.disconnect()


async def test_a_customer_message_reaches_the_inbox_live_and_the_agents_reply_reaches_the_widget(agent_alice):
    conversation, token = await new_widget_session("Wendy")
    inbox, _ = await inbox_connect("alice")
    widget = await widget_connect(token)

    await widget.send_json_to(send_frame("My card was declined"))
    seen_by_agent = await frames_until(inbox, "message.new", lambda f: f["message"]["text"] == "My card was declined")
    await inbox.send_json_to(
        {"type": "message.send", "conversation": conversation.pk, "client_id": str(uuid.uuid4()), "text": "On it!"}
    )
    agent_frames = await frames_until(inbox, "message.ack")
    seen_by_customer = await frames_until(widget, "message.new", lambda f: f["message"]["text"] == "On it!")

    assert seen_by_agent[-1]["conversation"] == conversation.pk
    assert seen_by_agent[-1]["message"]["role"] == "customer"
    assert agent_frames[-1]["conversation"] == conversation.pk
    assert seen_by_customer[-1]["message"]["role"] == "agent"
    assert seen_by_customer[-1]["message"]["author_name"] == "alice"
    await database_sync_to_async(conversation.refresh_from_db)()
    assert (conversation.state, conversation.assignee_id) == ("agent", agent_alice.pk)
    await widget.disconnect()
    await inbox.disconnect()


async def test_a_note_reaches_every_agent_and_never_the_customer(agent_alice, admin_ada):
    conversation, token = await new_widget_session()
    alice, _ = await inbox_connect("alice")
    ada, _ = await inbox_connect("ada")
    widget = await widget_connect(token)

    await alice.send_json_to(
        {
            "type": "message.send",
            "conversation": conversation.pk,
            "client_id": str(uuid.uuid4()),
            "text": "Customer sounds upset",
            "note": True,
        }
    )
    on_ada = await frames_until(ada, "message.new")

    assert on_ada[-1]["message"]["role"] == "note"
    assert on_ada[-1]["message"]["text"] == "Customer sounds upset"
    assert await widget.receive_nothing(timeout=0.5)
    await database_sync_to_async(conversation.refresh_from_db)()
    assert conversation.state == "bot"  # a note does not take the conversation
    for socket in (widget, alice, ada):
        await socket.disconnect()


async def test_resume_replays_notes_too_for_agents(agent_alice):
    conversation, _ = await new_widget_session()
    inbox, _ = await inbox_connect("alice")
    for text, note in (("first", False), ("psst", True), ("second", False)):
        await inbox.send_json_to(
            {
                "type": "message.send",
                "conversation": conversation.pk,
                "client_id": str(uuid.uuid4()),
                "text": text,
                "note": note,
            }
        )
        await frames_until(inbox, "message.ack")
    await drain(inbox)

    await inbox.send_json_to({"type": "resume", "conversation": conversation.pk, "after_seq": 0})
    replay = await frames_until(inbox, "resume.done")

    texts = [frame["message"]["text"] for frame in replay if frame["type"] == "message.new"]
    assert texts == ["alice joined the conversation.", "first", "psst", "second"]
    assert replay[-1] == {"type": "resume.done", "conversation": conversation.pk, "last_seq": 4}
    await inbox.disconnect()


async def test_a_manager_reads_but_every_write_frame_is_refused(manager_maria):
    conversation, _ = await new_widget_session()
    inbox, snapshot = await inbox_connect("maria")

    await inbox.send_json_to(
        {"type": "message.send", "conversation": conversation.pk, "client_id": str(uuid.uuid4()), "text": "hi"}
    )
    refused = await inbox.receive_json_from(timeout=TIMEOUT)
    await inbox.send_json_to({"type": "resume", "conversation": conversation.pk, "after_seq": 0})
    allowed = await inbox.receive_json_from(timeout=TIMEOUT)

    assert snapshot["me"]["can_write"] is False
    assert refused["code"] == "forbidden"
    assert allowed == {"type": "resume.done", "conversation": conversation.pk, "last_seq": 0}
    assert not await database_sync_to_async(Message.objects.exists)()
    await inbox.disconnect()


async def test_assign_transfer_and_resolve_are_announced_to_every_inbox_and_the_widget(agent_alice, team_cards):
    conversation, token = await new_widget_session()
    inbox, _ = await inbox_connect("alice")
    widget = await widget_connect(token)

    await inbox.send_json_to({"type": "conversation.assign", "conversation": conversation.pk})
    assigned = await frames_until(inbox, "conversation.updated")
    widget_assigned = await frames_until(widget, "conversation.state")
    await inbox.send_json_to({"type": "conversation.transfer", "conversation": conversation.pk, "team": team_cards.pk})
    transferred = await frames_until(inbox, "conversation.updated")
    await inbox.send_json_to({"type": "conversation.resolve", "conversation": conversation.pk})
    resolved = await frames_until(inbox, "conversation.updated")
    widget_closed = await frames_until(widget, "conversation.state", lambda f: f["state"] == "closed")

    assert assigned[-1]["conversation"]["assignee"] == {"id": agent_alice.pk, "name": "alice"}
    assert widget_assigned[-1]["assignee_name"] == "alice"
    assert transferred[-1]["conversation"]["team"] == {"id": team_cards.pk, "name": "Cards"}
    assert transferred[-1]["conversation"]["state"] == "waiting"
    assert transferred[-1]["conversation"]["assignee"] is None
    assert resolved[-1]["conversation"]["state"] == "closed"
    assert widget_closed[-1]["rating"] is None
    await widget.disconnect()
    await inbox.disconnect()


async def test_bad_references_get_error_frames(agent_alice):
    inbox, _ = await inbox_connect("alice")

    await inbox.send_json_to({"type": "conversation.assign", "conversation": 999999})
    missing = await inbox.receive_json_from(timeout=TIMEOUT)
    await inbox.send_json_to({"type": "presence.set", "presence": "asleep"})
    bad_presence = await inbox.receive_json_from(timeout=TIMEOUT)

    assert missing == {"type": "error", "code": "invalid", "detail": "There is no conversation 999999."}
    assert bad_presence["code"] == "invalid"
    await inbox.disconnect()


async def test_presence_is_stored_and_announced_and_the_widget_learns_an_agent_is_online(agent_alice):
    inbox, _ = await inbox_connect("alice")
    other, _ = await inbox_connect("alice")

    await inbox.send_json_to({"type": "presence.set", "presence": "online"})
    announced = await frames_until(other, "presence")
    _, token = await new_widget_session()
    widget = WebsocketCommunicator(application, f"/ws/widget/?token={token}", headers=[OWN_ORIGIN])
    await widget.connect(timeout=TIMEOUT)
    state = await widget.receive_json_from(timeout=TIMEOUT)

    assert announced[-1]["agent"] == {"id": agent_alice.pk, "name": "alice", "presence": "online"}
    assert state["agents_online"] is True
    assert state["email_requested"] is False
    for socket in (widget, inbox, other):
        await socket.disconnect()


async def test_the_customers_typing_reaches_the_inbox_and_the_agents_the_widget(agent_alice):
    conversation, token = await new_widget_session()
    inbox, _ = await inbox_connect("alice")
    widget = await widget_connect(token)

    await widget.send_json_to({"type": "typing"})
    customer_typing = await frames_until(inbox, "typing")
    await inbox.send_json_to({"type": "typing", "conversation": conversation.pk})
    agent_typing = await frames_until(widget, "typing")

    assert customer_typing[-1] == {"type": "typing", "conversation": conversation.pk, "role": "customer"}
    assert agent_typing[-1] == {"type": "typing", "role": "agent", "name": "alice"}
    await widget.disconnect()
    await inbox.disconnect()


async def test_the_team_of_a_transfer_must_exist(agent_alice):
    conversation, _ = await new_widget_session()
    inbox, _ = await inbox_connect("alice")

    await inbox.send_json_to({"type": "conversation.transfer", "conversation": conversation.pk, "team": 424242})
    error = await inbox.receive_json_from(timeout=TIMEOUT)

    assert error == {"type": "error", "code": "invalid", "detail": "There is no team 424242."}
    assert not await database_sync_to_async(Team.objects.filter(pk=424242).exists)()
    await database_sync_to_async(conversation.refresh_from_db)()
    assert conversation.state == Conversation.State.BOT
    await inbox.disconnect()


async def test_the_models_annotations_reach_the_inbox_live_and_never_the_widget(agent_alice):
    conversation, token = await new_widget_session("Wendy")
    inbox, _ = await inbox_connect("alice")
    widget = await widget_connect(token)

    await widget.send_json_to(send_frame("This is useless, I want a human now"))
    inbox_frames = await frames_until(inbox, "message.annotated")
    widget_frames = await drain(widget)

    annotated = inbox_frames[-1]
    new = next(frame for frame in inbox_frames if frame["type"] == "message.new")
    assert annotated["conversation"] == conversation.pk
    assert annotated["message"]["seq"] == new["message"]["seq"]
    assert annotated["message"]["escalate"] is True
    assert annotated["message"]["sentiment"] < 0
    assert annotated["message"]["decision"] == Message.Decision.HANDOFF
    assert annotated["message"]["decision_reason"].startswith("Escalated: asked for a person")
    assert "message.annotated" not in {frame["type"] for frame in widget_frames}
    assert all("sentiment" not in frame.get("message", {}) for frame in widget_frames)
    await widget.disconnect()
    await inbox.disconnect()
