"""The customer's websocket, on the configured channel layer (in-memory, or Redis when REDIS_URL is set)."""

import json
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core import signing

from apps.conversations.models import Conversation, Message
from apps.conversations.services import conversation_resolve
from apps.conversations.tokens import widget_token_issue
from helpdesk.asgi import application
from tests.conversations.chat_clients import (
    OWN_ORIGIN,
    TIMEOUT,
    agent_replies,
    drain,
    frames_until,
    new_widget_session,
    send_frame,
    widget_connect,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@database_sync_to_async
def stored(conversation: Conversation) -> list[tuple[int, str, str]]:
    return list(Message.objects.filter(conversation=conversation).order_by("seq").values_list("seq", "role", "text"))


async def test_a_message_is_stored_broadcast_then_acknowledged_with_its_seq():
    conversation, token = await new_widget_session()
    widget = await widget_connect(token)

    await widget.send_json_to(send_frame("Where is my new card?", client_id="0c9a4f9e-1b7e-4a59-9a3c-4b8a0b6f7c11"))
    frames = await drain(widget)

    # The ack is sent once the service call (and its commit) returned; the broadcast reaches this socket
    # through the layer right after.
    assert frames[0] == {"type": "message.ack", "client_id": "0c9a4f9e-1b7e-4a59-9a3c-4b8a0b6f7c11", "seq": 1}
    new = [frame for frame in frames if frame["type"] == "message.new"]
    assert new[0]["message"]["seq"] == 1
    assert new[0]["message"]["role"] == "customer"
    assert new[0]["message"]["text"] == "Where is my new card?"
    assert (await stored(conversation))[0] == (1, "customer", "Where is my new card?")
    await widget.disconnect()


async def test_with_no_bot_configured_the_first_message_goes_to_the_agents_queue():
    conversation, token = await new_widget_session()
    widget = await widget_connect(token)

    await widget.send_json_to(send_frame("I want to close my account"))
    frames = await frames_until(widget, "conversation.state")

    await database_sync_to_async(conversation.refresh_from_db)()
    assert conversation.state == Conversation.State.WAITING
    assert conversation.handoff_requested_at is not None
    system = [f["message"] for f in frames if f["type"] == "message.new" and f["message"]["role"] == "system"]
    assert "No agent is online" in system[0]["text"]
    assert frames[-1]["state"] == "waiting"
    assert frames[-1]["email_requested"] is True
    await widget.disconnect()


async def test_the_same_client_id_twice_stores_one_message_and_acks_both_with_the_same_seq():
    conversation, token = await new_widget_session()
    widget = await widget_connect(token)
    frame = send_frame("hello")

    await widget.send_json_to(frame)
    first = await drain(widget)
    await widget.send_json_to(frame)
    second = await drain(widget)

    assert first[0] == second[0] == {"type": "message.ack", "client_id": frame["client_id"], "seq": 1}
    assert second[1:] == []
    assert [row for row in await stored(conversation) if row[1] == "customer"] == [(1, "customer", "hello")]
    await widget.disconnect()


async def test_resume_after_a_disconnect_replays_what_was_missed_once_without_gaps():
    conversation, token = await new_widget_session()
    widget = await widget_connect(token)
    await widget.send_json_to(send_frame("one"))
    await frames_until(widget, "message.ack")
    await widget.disconnect()
    # While the customer is away an agent answers (seq 2.. come from the handoff and the reply).
    await agent_replies(conversation, "Hi, Alice here.")

    again = await widget_connect(token)
    await again.send_json_to({"type": "resume", "after_seq": 1})
    replay = await frames_until(again, "resume.done")

    seqs = [frame["message"]["seq"] for frame in replay if frame["type"] == "message.new"]
    conversation_rows = await stored(conversation)
    visible = [seq for seq, role, _ in conversation_rows if role != "note" and seq > 1]
    assert seqs == visible
    assert seqs == list(range(2, conversation_rows[-1][0] + 1))
    assert replay[-1] == {"type": "resume.done", "last_seq": conversation_rows[-1][0]}
    assert "Hi, Alice here." in [frame["message"]["text"] for frame in replay if frame["type"] == "message.new"]
    await again.disconnect()


async def test_an_agent_reply_reaches_the_widget_and_a_note_never_does():
    conversation, token = await new_widget_session()
    widget = await widget_connect(token)

    await agent_replies(conversation, "Internal: VIP customer", note=True)
    await agent_replies(conversation, "Hello from Alice")
    frames = await frames_until(widget, "message.new", lambda frame: frame["message"]["text"] == "Hello from Alice")

    texts = [frame["message"]["text"] for frame in frames if frame["type"] == "message.new"]
    assert "Internal: VIP customer" not in texts
    await widget.send_json_to({"type": "resume", "after_seq": 0})
    replay = await frames_until(widget, "resume.done")
    assert "Internal: VIP customer" not in json.dumps(replay)
    await widget.disconnect()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_json"),
        (json.dumps({"type": "teleport"}), "unknown_type"),
        (json.dumps({"type": "message.send", "text": "no client id"}), "invalid"),
        (json.dumps({"type": "message.send", "client_id": str(uuid.uuid4()), "text": 42}), "invalid"),
        (json.dumps({"type": "message.send", "client_id": str(uuid.uuid4()), "text": "x" * 4001}), "too_long"),
        (json.dumps({"type": "resume", "after_seq": -1}), "invalid"),
        (json.dumps({"type": "csat.submit", "rating": 5}), "invalid"),
    ],
)
async def test_a_refused_frame_gets_an_error_frame_stores_nothing_and_keeps_the_socket(raw, code):
    conversation, token = await new_widget_session()
    widget = await widget_connect(token)

    await widget.send_to(text_data=raw)
    error = await widget.receive_json_from(timeout=TIMEOUT)

    assert error["type"] == "error"
    assert error["code"] == code
    if code == "too_long":
        assert "at most 4000 characters" in error["detail"]
    assert await widget.receive_nothing(timeout=0.3)
    assert await stored(conversation) == []
    # Still open: a good frame afterwards is served.
    await widget.send_json_to(send_frame("still here?"))
    assert (await frames_until(widget, "message.ack"))[-1]["seq"] == 1
    await widget.disconnect()


async def test_more_than_twenty_messages_in_ten_seconds_are_refused_and_not_stored(settings):
    settings.HELPDESK_WIDGET_RATE_LIMIT = (3, 10.0)
    conversation, token = await new_widget_session()
    widget = await widget_connect(token)
    for number in range(3):
        await widget.send_json_to(send_frame(f"message {number}"))
        await frames_until(widget, "message.ack")

    await widget.send_json_to(send_frame("one too many", client_id="5b1c9a7e-0000-4000-8000-000000000001"))
    frames = await frames_until(widget, "error")

    assert frames[-1]["code"] == "rate_limited"
    assert frames[-1]["client_id"] == "5b1c9a7e-0000-4000-8000-000000000001"
    assert "one too many" not in [text for _, _, text in await stored(conversation)]
    await widget.disconnect()


async def test_a_tampered_token_closes_with_4401():
    _, token = await new_widget_session()
    other, _ = await new_widget_session("Mallory")
    claims = signing.loads(token, salt="helpdesk.widget.session")
    forged = signing.dumps({**claims, "c": other.pk}, salt="not-the-widget-salt", compress=True)

    for bad in (forged, token[:-4] + "AAAA", ""):
        widget = WebsocketCommunicator(application, f"/ws/widget/?token={bad}", headers=[OWN_ORIGIN])
        await widget.connect(timeout=TIMEOUT)
        assert await widget.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4401}
        await widget.disconnect()


async def test_a_revoked_or_expired_token_closes_with_4403(settings):
    conversation, token = await new_widget_session()
    conversation.widget_key = "f" * 32
    await database_sync_to_async(conversation.save)(update_fields=["widget_key"])

    widget = WebsocketCommunicator(application, f"/ws/widget/?token={token}", headers=[OWN_ORIGIN])
    await widget.connect(timeout=TIMEOUT)
    assert await widget.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4403}
    await widget.disconnect()

    settings.HELPDESK_WIDGET_TOKEN_MAX_AGE = -1
    fresh = await database_sync_to_async(widget_token_issue)(conversation=conversation)
    expired = WebsocketCommunicator(application, f"/ws/widget/?token={fresh}", headers=[OWN_ORIGIN])
    await expired.connect(timeout=TIMEOUT)
    assert await expired.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4403}
    await expired.disconnect()


async def test_a_token_for_conversation_a_never_sees_conversation_b():
    _, token_a = await new_widget_session("Ann")
    _, token_b = await new_widget_session("Bob")
    widget_a = await widget_connect(token_a)
    widget_b = await widget_connect(token_b)

    await widget_b.send_json_to(send_frame("Bob's secret"))
    await frames_until(widget_b, "message.ack")

    assert await widget_a.receive_nothing(timeout=0.5)
    await widget_a.send_json_to({"type": "resume", "after_seq": 0})
    replay = await frames_until(widget_a, "resume.done")
    assert replay == [{"type": "resume.done", "last_seq": 0}]
    await widget_a.disconnect()
    await widget_b.disconnect()


async def test_an_origin_listed_in_widget_origins_may_connect(settings):
    settings.HELPDESK_WIDGET_ORIGINS = ["https://shop.example"]
    _, token = await new_widget_session()

    widget = await widget_connect(token, origin=(b"origin", b"https://shop.example"))

    await widget.disconnect()


async def test_a_resolved_conversation_takes_a_rating_and_refuses_new_messages():
    conversation, token = await new_widget_session()
    widget = await widget_connect(token)
    await widget.send_json_to({"type": "csat.submit", "rating": 5})
    assert (await frames_until(widget, "error"))[-1]["detail"] == "A conversation can be rated once it is resolved."

    await database_sync_to_async(conversation_resolve)(conversation=conversation, actor=None)
    closed = await frames_until(widget, "conversation.state")
    await widget.send_json_to({"type": "csat.submit", "rating": 4, "comment": "quick"})
    rated = await frames_until(widget, "conversation.state")
    await widget.send_json_to(send_frame("one more thing"))
    refused = await frames_until(widget, "error")

    assert closed[-1]["state"] == "closed"
    assert rated[-1]["rating"] == 4
    assert refused[-1]["code"] == "closed"
    await widget.disconnect()


async def test_handoff_request_and_email_turn_the_chat_into_a_ticket_answered_by_email(mailoutbox):
    conversation, token = await new_widget_session()
    widget = await widget_connect(token)

    await widget.send_json_to({"type": "handoff.request"})
    waiting = await frames_until(widget, "conversation.state")
    await widget.send_json_to({"type": "email.submit", "email": "not-an-email"})
    refused = await frames_until(widget, "error")
    await widget.send_json_to({"type": "email.submit", "email": "wendy@example.com"})
    after_email = await frames_until(widget, "conversation.state")
    await agent_replies(conversation, "Your card is on its way.")

    assert waiting[-1]["state"] == "waiting"
    assert waiting[-1]["email_requested"] is True
    assert refused[-1]["code"] == "invalid"
    assert after_email[-1]["reply_by_email"] is True
    await database_sync_to_async(conversation.refresh_from_db)()
    assert conversation.ticket_id is not None
    assert [mail.to for mail in mailoutbox] == [["wendy@example.com"]]
    assert "Your card is on its way." in mailoutbox[0].body
    await widget.disconnect()
