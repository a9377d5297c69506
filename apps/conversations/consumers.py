"""The chat's websockets: thin translators between frames (README, "The chat protocol") and services.

Every write goes through apps.conversations.services in one transaction; the ack is sent after that call
returns, i.e. after the commit, and broadcasts leave on commit. Refused frames get an ``error`` frame and the
socket stays open. A frame that finds the database unreachable is refused with ``unavailable`` and nothing
stored; a socket whose channel layer (or database, while connecting) fails is closed with 4503, and its
client reconnects and resumes by seq.
"""

import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError

from apps.accounts.models import AgentProfile, Team
from apps.accounts.permissions import user_has_role
from apps.accounts.roles import AGENTS, MANAGERS
from apps.accounts.selectors import WorkScope, agents_are_online, work_scope
from apps.accounts.services import agent_set_presence
from apps.assistant.selectors import intent_labels_known
from apps.assistant.suggestion_services import message_intent_correct
from apps.conversations import services
from apps.conversations.events import (
    CHANNEL_LAYER_ERRORS,
    INBOX_GROUP,
    conversation_group,
    conversation_state_payload,
    message_payload,
    user_display_name,
)
from apps.conversations.frames import FrameError, field_int, field_suggestion, field_text, field_uuid, frame_parsed
from apps.conversations.models import Conversation, Message, SatisfactionSurvey
from apps.conversations.selectors import inbox_snapshot, message_list
from apps.conversations.tokens import ExpiredWidgetToken, InvalidWidgetToken, widget_token_conversation
from apps.recommendations.services import recommendation_click, recommendation_send, recommendations_widget
from helpdesk.text import json_is_storable

CLOSE_INVALID_TOKEN = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_UNAVAILABLE = 4503  # Redis or PostgreSQL unreachable: reconnect with backoff, then resume by seq
# PostgreSQL down or restarting, a dropped connection: the frame's transaction rolled back, a resend may work.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 2

logger = logging.getLogger(__name__)


class ChatConsumer(AsyncWebsocketConsumer):
    """Frame parsing, dispatch and error frames shared by the widget and the inbox sockets."""

    handlers: dict[str, str] = {}

    async def __call__(self, scope, receive, send) -> None:
        """Close the socket with 4503, rather than crash it with 1011 and a traceback, when the channel layer
        fails under it (Redis restarting: its receive, a group_add) or the database does while it connects.
        Closing is the point: a socket that outlived a Redis restart would never hear its groups again."""
        try:
            await super().__call__(scope, receive, send)
        except (*CHANNEL_LAYER_ERRORS, *DATABASE_UNAVAILABLE_ERRORS) as exc:
            logger.warning("closing a %s socket with %s: %r", type(self).__name__, CLOSE_UNAVAILABLE, exc)
            with contextlib.suppress(Exception):  # the client may be gone already
                await self.close(code=CLOSE_UNAVAILABLE)

    async def send_json(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame = frame_parsed(text_data)
        if frame is None:
            await self.send_json({"type": "error", "code": "bad_json", "detail": "Frames are JSON objects."})
            return
        frame_type = frame.get("type")
        # A list or an object as the type is unhashable: no handler, not a crash.
        handler_name = self.handlers.get(frame_type) if isinstance(frame_type, str) else None
        if handler_name is None:
            await self.send_json(
                {"type": "error", "code": "unknown_type", "detail": f"Unknown frame type {frame_type!r}."}
            )
            return
        if not json_is_storable(frame):  # NUL or an unpaired surrogate in any string: no database stores it
            await self._send_error(
                "invalid", "Text in a frame may not hold NUL characters or unpaired surrogates.", frame
            )
            return
        handler: Callable[[dict[str, Any]], Awaitable[None]] = getattr(self, handler_name)
        try:
            await handler(frame)
        except FrameError as exc:
            await self._send_error(exc.code, exc.detail, frame)
        except services.ConversationClosed as exc:
            await self._send_error("closed", exc.messages[0], frame)
        except ValidationError as exc:
            await self._send_error("invalid", " ".join(exc.messages), frame)
        except DATABASE_UNAVAILABLE_ERRORS as exc:
            # The service's transaction rolled back (or never began): nothing of the frame is stored. The same
            # client_id sent again is stored once, even if the commit did land before the connection broke.
            logger.warning("database unavailable for a %r frame: %r", frame.get("type"), exc)
            detail = "The desk can't save this right now. Send it again (same client_id) in a few seconds."
            await self._send_error("unavailable", detail, frame, retry=True, retry_after=RETRY_AFTER_SECONDS)

    async def _send_error(self, code: str, detail: str, frame: dict[str, Any], **hints: Any) -> None:
        error = {"type": "error", "code": code, "detail": detail, **hints}
        if isinstance(frame.get("client_id"), str):
            error["client_id"] = frame["client_id"]
        await self.send_json(error)


# --- The customer's widget ---------------------------------------------------------------------------------


@database_sync_to_async
def _widget_state(conversation_id: int) -> dict[str, Any]:
    conversation = Conversation.objects.select_related("assignee", "team").get(pk=conversation_id)
    rating = SatisfactionSurvey.objects.filter(conversation=conversation).values_list("rating", flat=True).first()
    return conversation_state_payload(conversation, agents_online=agents_are_online(), rating=rating)


@database_sync_to_async
def _messages_after(conversation_id: int, after_seq: int, *, for_agent: bool) -> list[dict[str, Any]]:
    """The resume replay: agents get notes and annotations too, customers neither."""
    messages = message_list(conversation=Conversation(pk=conversation_id), after_seq=after_seq, include_notes=for_agent)
    return [
        message_payload(message, for_agent=for_agent) for message in messages.select_related("author__agent_profile")
    ]


class WidgetConsumer(ChatConsumer):
    handlers = {
        "message.send": "message_send",
        "resume": "resume",
        "typing": "typing",
        "handoff.request": "handoff_request",
        "csat.submit": "csat_submit",
        "email.submit": "email_submit",
        "recommendations.get": "recommendations_get",
        "recommendation.click": "recommendation_click",
    }

    async def connect(self) -> None:
        token = parse_qs(self.scope.get("query_string", b"").decode()).get("token", [""])[0]
        # Accept first: a close before accepting is an HTTP 403 and the client would never see the code.
        await self.accept()
        try:
            conversation = await database_sync_to_async(widget_token_conversation)(token=token)
        except InvalidWidgetToken:
            await self.close(code=CLOSE_INVALID_TOKEN)
            return
        except ExpiredWidgetToken:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.conversation_id = conversation.pk
        self.group = conversation_group(conversation.pk)
        self.sent_at: deque[float] = deque()
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json(await _widget_state(self.conversation_id))

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            # A layer that is down has lost the membership, or drops it at group_expiry: nothing to undo.
            with contextlib.suppress(*CHANNEL_LAYER_ERRORS):
                await self.channel_layer.group_discard(self.group, self.channel_name)

    def _check_rate(self) -> None:
        limit, window = settings.HELPDESK_WIDGET_RATE_LIMIT
        now = time.monotonic()
        while self.sent_at and now - self.sent_at[0] > window:
            self.sent_at.popleft()
        if len(self.sent_at) >= limit:
            raise FrameError("rate_limited", f"At most {limit} messages in {window:g} seconds; wait a moment.")
        self.sent_at.append(now)

    async def message_send(self, frame: dict[str, Any]) -> None:
        client_id = field_uuid(frame, "client_id")
        text = field_text(frame)
        self._check_rate()
        posted = await database_sync_to_async(services.customer_message_post)(
            conversation=Conversation(pk=self.conversation_id), text=text, client_id=client_id
        )
        await self.send_json({"type": "message.ack", "client_id": str(client_id), "seq": posted.message.seq})

    async def resume(self, frame: dict[str, Any]) -> None:
        after_seq = field_int(frame, "after_seq", default=0)
        messages = await _messages_after(self.conversation_id, after_seq, for_agent=False)
        for message in messages:
            await self.send_json({"type": "message.new", "message": message})
        last_seq = messages[-1]["seq"] if messages else after_seq
        await self.send_json({"type": "resume.done", "last_seq": last_seq})

    async def typing(self, frame: dict[str, Any]) -> None:
        await self.channel_layer.group_send(
            INBOX_GROUP, {"type": "chat.typing", "conversation": self.conversation_id, "role": "customer", "name": ""}
        )

    async def handoff_request(self, frame: dict[str, Any]) -> None:
        await database_sync_to_async(services.conversation_request_handoff)(
            conversation=Conversation(pk=self.conversation_id), reason="You asked for a person."
        )

    async def csat_submit(self, frame: dict[str, Any]) -> None:
        rating = frame.get("rating")
        comment = frame.get("comment") or ""
        if not isinstance(comment, str) or len(comment) > Message.MAX_TEXT_LENGTH:
            raise FrameError("invalid", f"'comment' must be text of at most {Message.MAX_TEXT_LENGTH} characters")
        conversation = await database_sync_to_async(Conversation.objects.get)(pk=self.conversation_id)
        await database_sync_to_async(services.conversation_rate)(
            conversation=conversation, rating=rating, comment=comment
        )

    async def email_submit(self, frame: dict[str, Any]) -> None:
        email = frame.get("email")
        if not isinstance(email, str):
            raise FrameError("invalid", "'email' must be an email address")
        await database_sync_to_async(services.conversation_leave_email)(
            conversation=Conversation(pk=self.conversation_id), email=email.strip()
        )

    async def recommendations_get(self, frame: dict[str, Any]) -> None:
        items = await database_sync_to_async(recommendations_widget)(conversation_id=self.conversation_id)
        await self.send_json({"type": "recommendations", "items": items})

    async def recommendation_click(self, frame: dict[str, Any]) -> None:
        item = frame.get("item")
        if not isinstance(item, str):
            raise FrameError("invalid", "'item' must name a recommended item, e.g. article:12")
        await database_sync_to_async(recommendation_click)(conversation_id=self.conversation_id, item=item)
        await self.send_json({"type": "recommendation.clicked", "item": item})

    # Channel-layer events for this conversation's group.
    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "message.new", "message": event["message"]})

    async def chat_state(self, event: dict[str, Any]) -> None:
        await self.send_json(event["state"])

    async def chat_typing(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "typing", "role": event["role"], "name": event.get("name", "")})


# --- The agents' inbox -------------------------------------------------------------------------------------


@database_sync_to_async
def _inbox_access(user: Any) -> tuple[bool, bool]:
    """(may read, may write) for this user."""
    return user_has_role(user, AGENTS, MANAGERS), user_has_role(user, AGENTS)


@database_sync_to_async
def _conversation(conversation_id: int) -> Conversation:
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise FrameError("invalid", f"There is no conversation {conversation_id}.")
    return conversation


@database_sync_to_async
def _conversation_in_scope(conversation_id: int, scope: WorkScope) -> bool:
    return Conversation.objects.filter(scope.q(), pk=conversation_id).exists()


@database_sync_to_async
def _message(message_id: int) -> Message:
    message = Message.objects.filter(pk=message_id).first()
    if message is None:
        raise FrameError("invalid", f"There is no message {message_id}.")
    return message


@database_sync_to_async
def _agent(agent_id: int) -> Any:
    profile = AgentProfile.objects.select_related("user").filter(user_id=agent_id, user__is_active=True).first()
    if profile is None:
        raise FrameError("invalid", f"There is no active agent {agent_id}.")
    return profile.user


@database_sync_to_async
def _team(team_id: int) -> Team:
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise FrameError("invalid", f"There is no team {team_id}.")
    return team


@database_sync_to_async
def _presence_set(user: Any, presence: str) -> dict[str, Any]:
    profile, _ = AgentProfile.objects.get_or_create(user=user)
    agent_set_presence(profile=profile, presence=presence)
    return {"id": user.pk, "name": user_display_name(user), "presence": profile.presence}


class InboxConsumer(ChatConsumer):
    handlers = {
        "message.send": "message_send",
        "resume": "resume",
        "typing": "typing",
        "conversation.assign": "conversation_assign",
        "conversation.transfer": "conversation_transfer",
        "conversation.resolve": "conversation_resolve",
        "presence.set": "presence_set",
        "intent.correct": "intent_correct",
        "intent.labels": "intent_labels",
        "recommendation.send": "recommendation_send",
    }
    write_frames = frozenset(handlers) - {"resume", "intent.labels"}

    async def connect(self) -> None:
        self.user = self.scope.get("user")
        await self.accept()
        may_read, self.may_write = await _inbox_access(self.user)
        if not may_read:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        # Fixed for the socket's life, like its roles: an agent sees their teams' conversations, unrouted ones and
        # theirs (accounts.selectors.WorkScope); the snapshot, every frame and every event are held to it.
        self.work_scope = await database_sync_to_async(work_scope)(user=self.user)
        self.visible: dict[int, bool] = {}
        self.joined = True
        await self.channel_layer.group_add(INBOX_GROUP, self.channel_name)
        snapshot = await database_sync_to_async(inbox_snapshot)(user=self.user, can_write=self.may_write)
        self.visible.update((summary["id"], True) for summary in snapshot["conversations"])
        await self.send_json(snapshot)

    async def _conversation(self, conversation_id: int) -> Conversation:
        conversation = await _conversation(conversation_id)
        if not self.work_scope.allows(team_id=conversation.team_id, assignee_id=conversation.assignee_id):
            # The answer for a conversation that does not exist: an agent is not told another team's exists.
            raise FrameError("invalid", f"There is no conversation {conversation_id}.")
        return conversation

    async def _sees(self, conversation_id: int) -> bool:
        if self.work_scope.sees_all:
            return True
        if conversation_id not in self.visible:
            self.visible[conversation_id] = await _conversation_in_scope(conversation_id, self.work_scope)
        return self.visible[conversation_id]

    async def disconnect(self, code: int) -> None:
        if getattr(self, "joined", False):
            with contextlib.suppress(*CHANNEL_LAYER_ERRORS):  # as in WidgetConsumer.disconnect
                await self.channel_layer.group_discard(INBOX_GROUP, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.may_write:
            frame = frame_parsed(text_data)
            frame_type = frame.get("type") if frame is not None else None
            if isinstance(frame_type, str) and frame_type in self.write_frames:
                await self.send_json({"type": "error", "code": "forbidden", "detail": "Managers read the inbox only."})
                return
        await super().receive(text_data=text_data, bytes_data=bytes_data)

    async def message_send(self, frame: dict[str, Any]) -> None:
        conversation = await self._conversation(field_int(frame, "conversation"))
        client_id = field_uuid(frame, "client_id")
        text = field_text(frame)
        posted = await database_sync_to_async(services.agent_message_post)(
            conversation=conversation,
            agent=self.user,
            text=text,
            client_id=client_id,
            note=bool(frame.get("note")),
            suggestion=field_suggestion(frame),
        )
        await self.send_json(
            {
                "type": "message.ack",
                "conversation": conversation.pk,
                "client_id": str(client_id),
                "seq": posted.message.seq,
            }
        )

    async def resume(self, frame: dict[str, Any]) -> None:
        conversation = await self._conversation(field_int(frame, "conversation"))
        after_seq = field_int(frame, "after_seq", default=0)
        messages = await _messages_after(conversation.pk, after_seq, for_agent=True)
        for message in messages:
            await self.send_json({"type": "message.new", "conversation": conversation.pk, "message": message})
        last_seq = messages[-1]["seq"] if messages else after_seq
        await self.send_json({"type": "resume.done", "conversation": conversation.pk, "last_seq": last_seq})

    async def typing(self, frame: dict[str, Any]) -> None:
        conversation = await self._conversation(field_int(frame, "conversation"))
        event = {"type": "chat.typing", "role": "agent", "name": user_display_name(self.user)}
        await self.channel_layer.group_send(conversation_group(conversation.pk), event)

    async def conversation_assign(self, frame: dict[str, Any]) -> None:
        conversation = await self._conversation(field_int(frame, "conversation"))
        agent = self.user if frame.get("agent") is None else await _agent(field_int(frame, "agent"))
        await database_sync_to_async(services.conversation_assign)(conversation=conversation, agent=agent)

    async def conversation_transfer(self, frame: dict[str, Any]) -> None:
        conversation = await self._conversation(field_int(frame, "conversation"))
        team = await _team(field_int(frame, "team"))
        await database_sync_to_async(services.conversation_transfer)(
            conversation=conversation, team=team, actor=self.user
        )

    async def conversation_resolve(self, frame: dict[str, Any]) -> None:
        conversation = await self._conversation(field_int(frame, "conversation"))
        await database_sync_to_async(services.conversation_resolve)(conversation=conversation, actor=self.user)

    async def presence_set(self, frame: dict[str, Any]) -> None:
        presence = frame.get("presence")
        if presence not in AgentProfile.Presence.values:
            raise FrameError("invalid", f"'presence' must be one of {AgentProfile.Presence.values}")
        agent = await _presence_set(self.user, presence)
        await self.channel_layer.group_send(INBOX_GROUP, {"type": "chat.presence", "agent": agent})

    async def recommendation_send(self, frame: dict[str, Any]) -> None:
        conversation = await self._conversation(field_int(frame, "conversation"))
        client_id = field_uuid(frame, "client_id")
        item = frame.get("item")
        if not isinstance(item, str):
            raise FrameError("invalid", "'item' must name an item, e.g. article:12 or product:7")
        posted = await database_sync_to_async(recommendation_send)(
            conversation=conversation, agent=self.user, item=item, client_id=client_id
        )
        ack = {"type": "message.ack", "conversation": conversation.pk, "client_id": str(client_id)}
        await self.send_json({**ack, "seq": posted.message.seq})

    async def intent_correct(self, frame: dict[str, Any]) -> None:
        message = await _message(field_int(frame, "message"))
        await self._conversation(message.conversation_id)
        intent = frame.get("intent")
        if not isinstance(intent, str):
            raise FrameError("invalid", "'intent' must be an intent label")
        try:
            await database_sync_to_async(message_intent_correct)(message=message, intent=intent, agent=self.user)
        except ValidationError as exc:
            code = "too_long" if getattr(exc, "code", None) == "too_long" else "invalid"
            raise FrameError(code, " ".join(exc.messages)) from exc

    async def intent_labels(self, frame: dict[str, Any]) -> None:
        labels = await database_sync_to_async(intent_labels_known)()
        await self.send_json({"type": "intent.labels", "labels": labels})

    # Channel-layer events of the inbox group.
    async def chat_message(self, event: dict[str, Any]) -> None:
        if await self._sees(event["conversation"]):
            await self.send_json(
                {"type": "message.new", "conversation": event["conversation"], "message": event["message"]}
            )

    async def chat_annotated(self, event: dict[str, Any]) -> None:
        if await self._sees(event["conversation"]):
            await self.send_json(
                {"type": "message.annotated", "conversation": event["conversation"], "message": event["message"]}
            )

    async def chat_conversation(self, event: dict[str, Any]) -> None:
        summary = event["conversation"]
        team, assignee = summary.get("team"), summary.get("assignee")
        now_visible = self.work_scope.allows(
            team_id=team["id"] if team else None, assignee_id=assignee["id"] if assignee else None
        )
        was_visible = self.visible.get(summary["id"], False)
        self.visible[summary["id"]] = now_visible
        # One last update when it leaves the agent's scope (transferred away), so their list drops or moves it.
        if now_visible or was_visible:
            await self.send_json({"type": "conversation.updated", "conversation": summary})

    async def chat_typing(self, event: dict[str, Any]) -> None:
        if await self._sees(event["conversation"]):
            await self.send_json({"type": "typing", "conversation": event["conversation"], "role": event["role"]})

    async def chat_presence(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "presence", "agent": event["agent"]})

    async def chat_sla_breach(self, event: dict[str, Any]) -> None:
        breach = event["breach"]
        if self.work_scope.allows(team_id=breach["team"], assignee_id=breach["assignee"]):
            await self.send_json({"type": "sla.breach", "breach": breach})
