"""PostgreSQL (or SQLite) dropping the connection in the middle of a customer's message: the sender gets an
``unavailable`` error frame with a retry hint, nothing is stored, and the same client_id sent again once the
database answers is stored exactly once. Simulated on the connection the service runs on (a real PostgreSQL stop
would take every other test on the machine down with it); on PostgreSQL when DATABASE_URL is set (CI)."""

import uuid

import pytest
from channels.db import database_sync_to_async
from django.db import OperationalError, connection

from apps.conversations import consumers, services
from apps.conversations.models import Conversation, Message
from tests.conversations.chat_clients import new_widget_session, widget_connect

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]

TIMEOUT = 5


def _drop_on_conversation_update(execute, sql, params, many, context):
    # After the message's INSERT, at the conversation's UPDATE: the worst moment, half of the write done.
    if sql.startswith('UPDATE "conversations_conversation"'):
        raise OperationalError("server closed the connection unexpectedly")
    return execute(sql, params, many, context)


@pytest.fixture
def database_drops_once(monkeypatch, settings):
    """The next customer message's transaction loses its database half-way; later ones find it back."""
    settings.HELPDESK_MESSAGE_HOOK_TASK = ""
    post, dropped = services.customer_message_post, []

    def post_while_the_database_drops(**kwargs):
        if dropped:
            return post(**kwargs)
        dropped.append(kwargs["client_id"])
        with connection.execute_wrapper(_drop_on_conversation_update):
            return post(**kwargs)

    monkeypatch.setattr(services, "customer_message_post", post_while_the_database_drops)
    return dropped


async def test_a_message_sent_while_the_database_drops_is_refused_whole_and_stored_once_when_resent(
    database_drops_once,
):
    conversation, token = await new_widget_session()
    widget = await widget_connect(token)
    frame = {"type": "message.send", "client_id": str(uuid.uuid4()), "text": "Where is my card?"}

    await widget.send_json_to(frame)
    refused = await widget.receive_json_from(timeout=TIMEOUT)
    nothing_broadcast = await widget.receive_nothing(timeout=0.3)
    stored_after_refusal = await _stored(conversation)

    await widget.send_json_to(frame)  # the widget's retry, with the same client_id
    ack = await _frame_of_type(widget, "message.ack")
    await widget.send_json_to(frame)  # and once more, as if that ack had been lost
    second_ack = await _frame_of_type(widget, "message.ack")
    await widget.disconnect()

    assert refused == {
        "type": "error",
        "code": "unavailable",
        "detail": "The desk can't save this right now. Send it again (same client_id) in a few seconds.",
        "retry": True,
        "retry_after": consumers.RETRY_AFTER_SECONDS,
        "client_id": frame["client_id"],
    }
    assert database_drops_once == [uuid.UUID(frame["client_id"])]
    assert nothing_broadcast
    assert stored_after_refusal == ([], 0)
    assert ack == second_ack == {"type": "message.ack", "client_id": frame["client_id"], "seq": 1}
    texts, last_seq = await _stored(conversation)
    assert texts[:1] == [(1, "customer", "Where is my card?")]
    assert sum(role == "customer" for _, role, _ in texts) == 1
    assert last_seq == len(texts)


async def _frame_of_type(widget, frame_type: str) -> dict:
    while True:
        frame = await widget.receive_json_from(timeout=TIMEOUT)
        if frame["type"] == frame_type:
            return frame


@database_sync_to_async
def _stored(conversation: Conversation) -> tuple[list[tuple[int, str, str]], int]:
    """The conversation's (seq, role, text) rows and its last_seq."""
    rows = Message.objects.filter(conversation=conversation).order_by("seq").values_list("seq", "role", "text")
    return list(rows), Conversation.objects.get(pk=conversation.pk).last_seq
