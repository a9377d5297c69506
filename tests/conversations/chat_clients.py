"""Websocket clients for the chat tests, speaking the README's protocol to helpdesk.asgi.application."""

import uuid
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from apps.conversations.models import Conversation
from apps.conversations.services import agent_message_post, widget_session_start
from apps.conversations.tokens import widget_token_issue
from helpdesk.asgi import application

TIMEOUT = 5
OWN_ORIGIN = (b"origin", b"http://127.0.0.1")


@database_sync_to_async
def new_widget_session(name: str = "Wendy") -> tuple[Conversation, str]:
    conversation = widget_session_start(name=name, email="")
    return conversation, widget_token_issue(conversation=conversation)


async def widget_connect(token: str, origin: tuple[bytes, bytes] = OWN_ORIGIN) -> WebsocketCommunicator:
    """A connected widget socket whose first frame (conversation.state) has been read."""
    widget = WebsocketCommunicator(application, f"/ws/widget/?token={token}", headers=[origin])
    connected, _ = await widget.connect(timeout=TIMEOUT)
    assert connected
    state = await widget.receive_json_from(timeout=TIMEOUT)
    assert state["type"] == "conversation.state", state
    return widget


@database_sync_to_async
def session_cookie_for(username: str) -> bytes:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def inbox_connect(username: str) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    """A connected inbox socket for ``username`` and its snapshot frame."""
    cookie = await session_cookie_for(username)
    inbox = WebsocketCommunicator(application, "/ws/inbox/", headers=[OWN_ORIGIN, (b"cookie", cookie)])
    connected, _ = await inbox.connect(timeout=TIMEOUT)
    assert connected
    snapshot = await inbox.receive_json_from(timeout=TIMEOUT)
    return inbox, snapshot


async def frames_until(
    socket: WebsocketCommunicator, frame_type: str, where: Callable[[dict[str, Any]], bool] = lambda frame: True
) -> list[dict[str, Any]]:
    """Every frame read up to and including the first of ``frame_type`` for which ``where`` holds."""
    frames = []
    while True:
        frame = await socket.receive_json_from(timeout=TIMEOUT)
        frames.append(frame)
        if frame["type"] == frame_type and where(frame):
            return frames


async def drain(socket: WebsocketCommunicator, quiet: float = 0.5) -> list[dict[str, Any]]:
    """The next frame and every frame after it until the socket stays quiet for ``quiet`` seconds."""
    frames = [await socket.receive_json_from(timeout=TIMEOUT)]
    while not await socket.receive_nothing(timeout=quiet):
        frames.append(await socket.receive_json_from(timeout=TIMEOUT))
    return frames


@database_sync_to_async
def agent_replies(conversation: Conversation, text: str, *, note: bool = False, username: str = "alice") -> None:
    agent, _ = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": True})
    agent_message_post(conversation=conversation, agent=agent, text=text, client_id=None, note=note)


def send_frame(text: str, client_id: str | None = None) -> dict[str, Any]:
    return {"type": "message.send", "client_id": client_id or str(uuid.uuid4()), "text": text}
