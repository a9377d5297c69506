"""The floor's websocket (/ws/floor/): a team lead's page listens to the inbox's events and gets a fresh
floor snapshot after them.

Events are doorbells, not data: a burst of them (a busy minute, a broadcast storm) costs one snapshot per
REFRESH_DELAY seconds per floor socket, and a socket also gets one every PERIODIC_REFRESH seconds so that
time alone (an SLA target coming due, a wait growing) shows without any event. The socket only listens; a
frame sent to it gets an error frame.
"""

import asyncio
import contextlib
import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from apps.conversations.events import CHANNEL_LAYER_ERRORS, INBOX_GROUP
from apps.oversight.floor import floor_snapshot
from apps.oversight.floor_views import floor_allowed

CLOSE_FORBIDDEN = 4403
logger = logging.getLogger(__name__)


class FloorConsumer(AsyncWebsocketConsumer):
    REFRESH_DELAY = 1.0
    PERIODIC_REFRESH = 30.0

    async def connect(self) -> None:
        await self.accept()
        if not await database_sync_to_async(floor_allowed)(self.scope.get("user")):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.refresh_pending: asyncio.Task | None = None
        await self.channel_layer.group_add(INBOX_GROUP, self.channel_name)
        self.joined = True
        await self._send_snapshot()
        self.ticker = asyncio.ensure_future(self._tick())

    async def disconnect(self, code: int) -> None:
        for task in (getattr(self, "ticker", None), getattr(self, "refresh_pending", None)):
            if task is not None:
                task.cancel()
        if getattr(self, "joined", False):
            with contextlib.suppress(*CHANNEL_LAYER_ERRORS):
                await self.channel_layer.group_discard(INBOX_GROUP, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame = {"type": "error", "code": "read_only", "detail": "The floor socket only sends; it takes no frames."}
        await self.send(text_data=json.dumps(frame))

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Every event of the inbox group (chat.message, chat.conversation, chat.presence, chat.sla_breach …)
        # may change a figure; typing changes none. Events added later need no handler here.
        event_type = message.get("type", "")
        if event_type.startswith("chat."):
            if event_type != "chat.typing":
                self._refresh_soon()
            return
        await super().dispatch(message)

    def _refresh_soon(self) -> None:
        if self.refresh_pending is None or self.refresh_pending.done():
            self.refresh_pending = asyncio.ensure_future(self._refresh_after(self.REFRESH_DELAY))

    async def _refresh_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._send_snapshot()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.PERIODIC_REFRESH)
            self._refresh_soon()

    async def _send_snapshot(self) -> None:
        snapshot = await database_sync_to_async(floor_snapshot)()
        await self.send(text_data=json.dumps(snapshot))
