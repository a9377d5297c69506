"""A socket whose channel layer fails under it (Redis restarting), or whose database is gone while it connects,
is closed with 4503 so its client reconnects and resumes, instead of crashing with 1011 or living on deaf to
its groups. The layer's failure is simulated on whichever layer is configured (in-memory, or Redis in CI);
tests/faults/test_redis_restart.py restarts the real Redis."""

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from apps.conversations import consumers
from apps.conversations.events import conversation_group
from helpdesk.asgi import application
from tests.conversations.chat_clients import OWN_ORIGIN, new_widget_session, widget_connect

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]

TIMEOUT = 5


async def _close_code(socket) -> int:
    while True:
        output = await socket.receive_output(timeout=TIMEOUT)
        if output["type"] == "websocket.close":
            return output["code"]


async def test_a_socket_whose_layer_fails_under_it_is_closed_for_its_client_to_resume(monkeypatch, settings):
    settings.HELPDESK_MESSAGE_HOOK_TASK = ""
    layer_type = type(get_channel_layer())
    receive, broken = layer_type.receive, []

    async def receive_until_redis_goes(self, channel):
        if broken:
            raise RedisConnectionError("Connection closed by server.")
        return await receive(self, channel)

    monkeypatch.setattr(layer_type, "receive", receive_until_redis_goes)
    conversation, token = await new_widget_session()
    widget = await widget_connect(token)

    broken.append(True)
    await get_channel_layer().group_send(conversation_group(conversation.pk), {"type": "chat.typing", "role": "agent"})

    typing = await widget.receive_json_from(timeout=TIMEOUT)  # the event already on its way is delivered
    assert typing == {"type": "typing", "role": "agent", "name": ""}
    assert await _close_code(widget) == consumers.CLOSE_UNAVAILABLE
    await widget.wait()


async def test_a_socket_that_cannot_join_its_group_is_closed_for_its_client_to_retry(monkeypatch):
    layer_type = type(get_channel_layer())

    async def group_add_while_redis_is_down(self, group, channel):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(layer_type, "group_add", group_add_while_redis_is_down)
    _, token = await new_widget_session()

    widget = await _connected(token)

    assert await _close_code(widget) == consumers.CLOSE_UNAVAILABLE
    await widget.wait()


async def test_a_socket_that_cannot_reach_the_database_while_connecting_is_closed_for_its_client_to_retry(
    monkeypatch,
):
    def database_down(*, token):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    monkeypatch.setattr(consumers, "widget_token_conversation", database_down)
    _, token = await new_widget_session()

    widget = await _connected(token)

    assert await _close_code(widget) == consumers.CLOSE_UNAVAILABLE
    await widget.wait()


async def _connected(token: str) -> WebsocketCommunicator:
    """A widget socket through the handshake (the consumer accepts before it reads anything)."""
    widget = WebsocketCommunicator(application, f"/ws/widget/?token={token}", headers=[OWN_ORIGIN])
    connected, _ = await widget.connect(timeout=TIMEOUT)
    assert connected
    return widget
