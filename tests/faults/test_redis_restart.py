"""The real Redis server restarted under a connected widget and a running worker: sockets are closed and resume,
broadcasts and tasks flow again through the new server, and what it forgot (groups, queued tasks) costs no
message: the database is the truth, the layer a doorbell, the sweep queues lost analyses again."""

import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from apps.assistant.policy import CLOSING_LINE, BotState
from apps.assistant.tasks import requeue_unanalysed
from apps.conversations import consumers
from apps.conversations.models import Message
from apps.conversations.services import conversation_bot_state_save, customer_message_post, widget_session_start
from tests.conversations.chat_clients import new_widget_session, widget_connect
from tests.faults.real_services import (
    NEEDS_WORKER_REASON,
    fault_worker,
    redis_restart,
    redis_stopped,
    wait_until,
    worker_can_run,
)

pytestmark = [pytest.mark.redis, pytest.mark.skipif(not worker_can_run(), reason=NEEDS_WORKER_REASON)]

TIMEOUT = 5
HOOK = "apps.assistant.tasks.analyse_message"


async def _until(widget, frame_type: str, **fields) -> dict:
    while True:
        frame = await widget.receive_json_from(timeout=TIMEOUT)
        if frame["type"] == frame_type and all(frame.get(k) == v for k, v in fields.items()):
            return frame


async def _new_message(widget, text: str) -> dict:
    while True:
        frame = await _until(widget, "message.new")
        if frame["message"]["text"] == text:
            return frame["message"]


async def _close_code(widget) -> int:
    while True:
        output = await widget.receive_output(timeout=TIMEOUT)
        if output["type"] == "websocket.close":
            return output["code"]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(40)
async def test_a_widget_closed_by_a_redis_restart_reconnects_sends_and_resumes_every_message_once(settings):
    settings.HELPDESK_MESSAGE_HOOK_TASK = ""  # straight to the agents: the socket and the layer are under test
    conversation, token = await new_widget_session()
    widget = await widget_connect(token)
    before = {"type": "message.send", "client_id": str(uuid.uuid4()), "text": "Before the restart"}
    await widget.send_json_to(before)
    await _until(widget, "message.ack", client_id=before["client_id"])
    await _new_message(widget, "Before the restart")

    await asyncio.to_thread(redis_restart)

    closed_with = await _close_code(widget)
    await widget.wait()
    widget = await widget_connect(token)  # the widget's reconnect, to the same conversation
    after = {"type": "message.send", "client_id": str(uuid.uuid4()), "text": "After the restart"}
    await widget.send_json_to(after)
    ack = await _until(widget, "message.ack", client_id=after["client_id"])
    broadcast = await _new_message(widget, "After the restart")  # through the restarted Redis
    await widget.send_json_to({"type": "resume", "after_seq": 0})
    replay = []
    while (frame := await widget.receive_json_from(timeout=TIMEOUT))["type"] != "resume.done":
        replay += [frame["message"]] if frame["type"] == "message.new" else []
    await widget.disconnect()

    assert closed_with == consumers.CLOSE_UNAVAILABLE
    assert broadcast["seq"] == ack["seq"]
    assert [message["seq"] for message in replay] == list(range(1, ack["seq"] + 1))
    customer_texts = [message["text"] for message in replay if message["role"] == "customer"]
    assert customer_texts == ["Before the restart", "After the restart"]
    stored = await database_sync_to_async(lambda: list(conversation.messages.values_list("client_id", flat=True)))()
    assert sorted(str(client_id) for client_id in stored if client_id) == sorted(
        [before["client_id"], after["client_id"]]
    )


@pytest.fixture
def awaiting_feedback(settings):
    """A conversation whose bot has just asked "Did this help?": a "yes" is answered with no model serving."""
    settings.HELPDESK_MESSAGE_HOOK_TASK = HOOK
    conversation = widget_session_start(name="Wendy")
    state = BotState(last_intent="card_arrival", last_answered_intent="card_arrival", pending="feedback")
    conversation_bot_state_save(conversation=conversation, bot_state=state.to_json())
    return conversation


def _bot_replies(message: Message) -> list[str]:
    replies = Message.objects.filter(conversation_id=message.conversation_id, role=Message.Role.BOT)
    return [reply.text for reply in replies if reply.annotations.get("in_reply_to") == message.seq]


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_a_message_stored_while_redis_is_down_is_answered_once_by_the_reconnected_worker(
    awaiting_feedback, settings, caplog
):
    with fault_worker(queues="inference") as worker:
        with redis_stopped():
            # Given Redis down: the message is stored and would be acknowledged; its task cannot be queued.
            with transaction.atomic():
                message = customer_message_post(conversation=awaiting_feedback, text="yes", client_id=uuid.uuid4())
            message = message.message
        # When Redis is back and the worker has reconnected, the beat sweep queues what the broker never got.
        reconnected = wait_until(worker.answers, timeout=30, every=0.5)
        settings.HELPDESK_ANALYSIS_REQUEUE_AFTER = 0
        queued = requeue_unanalysed()
        analysed = wait_until(lambda: _analysed(message), timeout=20)
        queued_again = requeue_unanalysed()

    assert "left to the sweep" in caplog.text
    assert reconnected, "the worker did not reconnect to the restarted Redis"
    assert queued == 1
    assert analysed
    assert _bot_replies(message) == [CLOSING_LINE]
    assert queued_again == 0


def _analysed(message: Message) -> bool:
    message.refresh_from_db()
    return "analysed_at" in message.annotations
