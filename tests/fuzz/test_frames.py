"""The chat's frame parser fuzzed (README, "The chat protocol"): every refused frame is answered with an error
frame of the documented code, stores nothing, announces nothing, and the socket stays open and serves the next
good frame. One connection per test serves all its examples, as a real client's socket would."""

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts.models import AgentProfile
from apps.assistant.models import TrainingExample
from apps.conversations.consumers import InboxConsumer, WidgetConsumer
from apps.conversations.frames import (
    SUGGESTION_ID_MAX_LENGTH,
    FrameError,
    field_int,
    field_suggestion,
    field_text,
    field_uuid,
)
from apps.conversations.models import Conversation, Message
from apps.conversations.services import conversation_assign, message_post, widget_session_start
from tests.conversations.chat_clients import TIMEOUT, frames_until, inbox_connect, new_widget_session, widget_connect
from tests.fuzz import FUZZ

MAX_TEXT = Message.MAX_TEXT_LENGTH
INTENT_LABEL_MAX = 100
# One socket serves every example of a test on purpose: the function-scoped fixture is not reset between them.
SOCKET_SETTINGS = settings(
    FUZZ, max_examples=70, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


# --- Strategies ------------------------------------------------------------------------------------------


class _Missing:
    """A field left out of the frame."""

    def __repr__(self) -> str:
        return "MISSING"


class _Real:
    """Replaced by the id of a real row when the frame is sent (the ids exist only once the test runs)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"REAL_{self.name.upper()}"


MISSING = _Missing()
REAL_CONVERSATION, REAL_MESSAGE = _Real("conversation"), _Real("message")

# Characters of every category, lone surrogates and NUL included (st.characters leaves surrogates out by default).
ANY_CHARACTER = st.characters(exclude_categories=())
ODD_STRINGS = ["", " ", "\t\n ", "\x00", "a\x00b", "\ud800", "x\udfffy", "\u202eevil", "🙂" * 3, "<script>x</script>"]
odd_text = st.text(alphabet=ANY_CHARACTER, max_size=24) | st.sampled_from(ODD_STRINGS)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 1, max_value=10**300)  # past every database's integer columns
    | st.integers(max_value=-1)
    | st.floats()  # NaN and infinities too: json.dumps writes them and json.loads reads them back
    | odd_text
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(odd_text, children, max_size=3),
    max_leaves=8,
)
too_long_text = st.builds(lambda char, extra: char * (MAX_TEXT + extra), st.sampled_from("xé🙂<"), st.integers(1, 3000))
# Text no database can store: NUL (PostgreSQL refuses it) and lone surrogates (no UTF-8 for them).
unstorable_text = st.builds(
    lambda before, bad, after: before + bad + after,
    st.text(max_size=10),
    st.sampled_from(["\x00", "\ud800", "\udfff", "\udbff"]),
    st.text(max_size=10),
)


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_email(value: Any) -> bool:
    try:
        validate_email(value.strip())
    except (ValidationError, AttributeError):
        return False
    return True


not_a_uuid = json_values.filter(lambda value: not _is_uuid(value))
not_a_whole_number = json_values.filter(lambda value: not _is_whole(value))
no_such_id = st.integers(min_value=10**9, max_value=10**30)  # no row has it; past 64 bits too
bad_id = st.just(MISSING) | not_a_whole_number | no_such_id
present_bad_id = not_a_whole_number.filter(lambda value: value is not None) | no_such_id
not_a_string = json_values.filter(lambda value: not isinstance(value, str))
blank_text = st.text(alphabet=" \t\r\n\u00a0\u2003", max_size=8)
uuids = st.uuids().map(str)
# text refused as "invalid"; too_long_text is refused as "too_long"
bad_text = st.just(MISSING) | not_a_string | blank_text | unstorable_text


# Unknown keys a client may add; storable, so that they never decide the error code.
storable_text = st.text(alphabet=st.characters(exclude_characters="\x00"), max_size=24)
storable_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | storable_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(storable_text, children, max_size=3),
    max_leaves=6,
)


def _frame(frame_type: Any, **fields: st.SearchStrategy) -> st.SearchStrategy[dict[str, Any]]:
    """Frames of ``frame_type`` with ``fields`` drawn (MISSING ones left out), plus up to two unknown keys."""
    known = {"type", *fields}
    extras = st.dictionaries(storable_text.filter(lambda key: key not in known), storable_json, max_size=2)
    type_drawn = frame_type if isinstance(frame_type, st.SearchStrategy) else st.just(frame_type)
    drawn = st.fixed_dictionaries({"type": type_drawn, **fields})
    return st.builds(
        lambda frame, extra: {**extra, **{key: value for key, value in frame.items() if value is not MISSING}},
        drawn,
        extras,
    )


def _with_unstorable_text(good_frames: list[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Good frames with NUL or an unpaired surrogate somewhere: in a key, or deep in a value."""
    in_a_key = st.dictionaries(unstorable_text, storable_json, min_size=1, max_size=1)
    in_a_value = st.builds(lambda text: {"extra": [{"deep": text}]}, unstorable_text)
    return st.builds(lambda frame, extra: {**frame, **extra}, st.sampled_from(good_frames), in_a_key | in_a_value)


@dataclass(frozen=True)
class Bad:
    """What a client sends, and the error code the server must answer it with."""

    code: str
    text: Any = None  # a str sent as a text frame, or a dict/list sent as JSON
    binary: bytes | None = None


def _expect(code: str, strategy: st.SearchStrategy) -> st.SearchStrategy[Bad]:
    return strategy.map(lambda payload: Bad(code, text=payload))


def _not_an_object(text: str) -> bool:
    try:
        return not isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):
        return True


not_json_objects = st.one_of(
    _expect("bad_json", st.text(alphabet=ANY_CHARACTER, max_size=40).filter(_not_an_object)),
    _expect("bad_json", json_values.filter(lambda value: not isinstance(value, dict)).map(json.dumps)),
    # Deep enough to exhaust the JSON parser's recursion.
    _expect("bad_json", st.integers(1, 200_000).map(lambda depth: "[" * depth + "]" * depth)),
    _expect("bad_json", st.integers(5_000, 200_000).map(lambda depth: '{"type":' * depth + "1" + "}" * depth)),
    # Integers past Python's 4,300-digit conversion limit, bare and inside a frame.
    _expect("bad_json", st.integers(4_301, 20_000).map(lambda digits: "7" * digits)),
    _expect(
        "bad_json", st.integers(4_301, 20_000).map(lambda digits: '{"type": "resume", "after_seq": ' + "7" * digits)
    ),
    _expect("bad_json", st.just('{"type": "resume"')),
    st.binary(max_size=64).map(lambda payload: Bad("bad_json", binary=payload)),
)


def _unknown_types(handlers: dict[str, str]) -> st.SearchStrategy[Bad]:
    not_a_frame_type = st.just(MISSING) | json_values.filter(
        lambda value: not (isinstance(value, str) and value in handlers)
    )
    return _expect("unknown_type", _frame(not_a_frame_type))


widget_bad_frames = st.one_of(
    not_json_objects,
    _unknown_types(WidgetConsumer.handlers),
    _expect(
        "invalid", _frame("message.send", client_id=st.just(MISSING) | not_a_uuid, text=st.just(MISSING) | json_values)
    ),
    _expect("invalid", _frame("message.send", client_id=uuids, text=bad_text)),
    _expect("too_long", _frame("message.send", client_id=uuids, text=too_long_text)),
    _expect("invalid", _frame("resume", after_seq=not_a_whole_number)),
    # The conversation is open: any rating is refused (after the comment's own check).
    _expect(
        "invalid", _frame("csat.submit", rating=st.just(MISSING) | json_values, comment=st.just(MISSING) | json_values)
    ),
    _expect(
        "invalid",
        _frame("email.submit", email=st.just(MISSING) | json_values.filter(lambda value: not _is_email(value))),
    ),
    _expect("invalid", _frame("email.submit", email=unstorable_text)),
    _expect(
        "invalid",
        _with_unstorable_text(
            [
                {"type": "typing"},
                {"type": "handoff.request"},
                {"type": "resume", "after_seq": 0},
                {"type": "message.send", "client_id": str(uuid.UUID(int=1)), "text": "fine"},
            ]
        ),
    ),
)

inbox_bad_frames = st.one_of(
    not_json_objects,
    _unknown_types(InboxConsumer.handlers),
    _expect("invalid", _frame("message.send", conversation=bad_id, client_id=uuids, text=st.just("hello"))),
    _expect(
        "invalid",
        _frame("message.send", conversation=st.just(REAL_CONVERSATION), client_id=not_a_uuid, text=json_values),
    ),
    _expect("invalid", _frame("message.send", conversation=st.just(REAL_CONVERSATION), client_id=uuids, text=bad_text)),
    _expect(
        "too_long", _frame("message.send", conversation=st.just(REAL_CONVERSATION), client_id=uuids, text=too_long_text)
    ),
    _expect(
        "invalid",
        _frame(
            "message.send",
            conversation=st.just(REAL_CONVERSATION),
            client_id=uuids,
            text=st.just("hello"),
            note=json_values,
            suggestion=not_a_string.filter(lambda value: value is not None)
            | st.text(min_size=SUGGESTION_ID_MAX_LENGTH + 1, max_size=SUGGESTION_ID_MAX_LENGTH + 50),
        ),
    ),
    _expect("invalid", _frame("resume", conversation=bad_id)),
    _expect("invalid", _frame("resume", conversation=st.just(REAL_CONVERSATION), after_seq=not_a_whole_number)),
    _expect("invalid", _frame("typing", conversation=bad_id)),
    _expect("invalid", _frame("conversation.assign", conversation=bad_id)),
    _expect("invalid", _frame("conversation.assign", conversation=st.just(REAL_CONVERSATION), agent=present_bad_id)),
    _expect("invalid", _frame("conversation.transfer", conversation=bad_id, team=json_values)),
    _expect("invalid", _frame("conversation.transfer", conversation=st.just(REAL_CONVERSATION), team=bad_id)),
    _expect("invalid", _frame("conversation.resolve", conversation=bad_id)),
    _expect(
        "invalid",
        _frame(
            "presence.set",
            presence=st.just(MISSING) | json_values.filter(lambda value: value not in AgentProfile.Presence.values),
        ),
    ),
    _expect("invalid", _frame("intent.correct", message=bad_id, intent=json_values)),
    _expect(
        "invalid",
        _frame("intent.correct", message=st.just(REAL_MESSAGE), intent=st.just(MISSING) | not_a_string | blank_text),
    ),
    _expect("invalid", _frame("intent.correct", message=st.just(REAL_MESSAGE), intent=unstorable_text)),
    _expect(
        "invalid",
        _with_unstorable_text(
            [
                {"type": "typing", "conversation": REAL_CONVERSATION},
                {"type": "resume", "conversation": REAL_CONVERSATION},
                {"type": "intent.labels"},
                {"type": "presence.set", "presence": "online"},
                {
                    "type": "message.send",
                    "conversation": REAL_CONVERSATION,
                    "client_id": str(uuid.UUID(int=1)),
                    "text": "ok",
                },
            ]
        ),
    ),
    _expect(
        "too_long",
        _frame("intent.correct", message=st.just(REAL_MESSAGE), intent=st.text("abc_", min_size=INTENT_LABEL_MAX + 1)),
    ),
)


# --- Sockets ---------------------------------------------------------------------------------------------


@dataclass
class Chat:
    socket: Any
    conversation_id: int
    message_id: int = 0  # a customer's message (the inbox's intent.correct needs one)
    last_seq: int = 0


def _resolved(payload: Any, chat: Chat) -> Any:
    if not isinstance(payload, dict):
        return payload
    real = {REAL_CONVERSATION: chat.conversation_id, REAL_MESSAGE: chat.message_id}
    return {key: real.get(value, value) if isinstance(value, _Real) else value for key, value in payload.items()}


async def _send(chat: Chat, bad: Bad) -> None:
    # As the server receives them: the communicator's send_to refuses an empty frame, a browser does not.
    if bad.binary is not None:
        await chat.socket.send_input({"type": "websocket.receive", "bytes": bad.binary})
    else:
        text = bad.text if isinstance(bad.text, str) else json.dumps(_resolved(bad.text, chat))
        await chat.socket.send_input({"type": "websocket.receive", "text": text})


# Frames a good message sends late (the layer delivers them after the ack): about messages already stored.
_LATE_TRAFFIC = {"message.new", "message.annotated", "conversation.updated", "conversation.state"}


async def _next_error(chat: Chat) -> dict[str, Any]:
    """The next error frame. Only late traffic of messages stored before may come first: a refused frame
    announces nothing."""
    while True:
        frame = await chat.socket.receive_json_from(timeout=TIMEOUT)
        if frame["type"] == "error":
            return frame
        assert frame["type"] in _LATE_TRAFFIC, frame
        assert frame.get("message", {}).get("seq", 0) <= chat.last_seq, frame


async def _still_serves(chat: Chat, **inbox_fields: Any) -> None:
    """A good message after the garbage is stored, acknowledged and broadcast back."""
    client_id = str(uuid.uuid4())
    await chat.socket.send_json_to(
        {"type": "message.send", "client_id": client_id, "text": "still here?", **inbox_fields}
    )
    frames = await frames_until(chat.socket, "message.ack")
    assert [frame for frame in frames if frame["type"] == "error"] == []
    assert frames[-1]["client_id"] == client_id
    assert frames[-1]["seq"] == chat.last_seq + 1
    chat.last_seq += 1
    await frames_until(chat.socket, "message.new", lambda frame: frame["message"]["seq"] == chat.last_seq)


def _assert_error(error: dict[str, Any], bad: Bad) -> None:
    assert set(error) <= {"type", "code", "detail", "client_id"}
    assert error["code"] == bad.code, (error, bad)
    assert isinstance(error["detail"], str)
    assert error["detail"].strip() != ""
    if bad.code == "too_long":
        assert "at most" in error["detail"]


@contextlib.asynccontextmanager
async def _example(chat: Chat) -> AsyncIterator[None]:
    """One example on the shared socket. A failing one leaves frames unread: they are read and the seq is
    resynced, so that Hypothesis's replays of the failure start from a quiet socket as the first run did."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):  # the failure is what gets reported, not the clean-up's
            while not await chat.socket.receive_nothing(timeout=0.3):
                await chat.socket.receive_output(timeout=TIMEOUT)
        rows = await _stored(chat.conversation_id)
        chat.last_seq = rows[-1][0] if rows else 0
        raise


@database_sync_to_async
def _stored(conversation_id: int) -> list[tuple[int, str, str]]:
    return list(
        Message.objects.filter(conversation_id=conversation_id).order_by("seq").values_list("seq", "role", "text")
    )


@database_sync_to_async
def _desk_state(conversation_id: int) -> tuple:
    """Everything a refused inbox frame could have changed by mistake."""
    conversation = Conversation.objects.values_list("state", "assignee_id", "team_id", "last_seq", "closed_at")
    return (
        Message.objects.count(),
        TrainingExample.objects.count(),
        conversation.get(pk=conversation_id),
        sorted(AgentProfile.objects.values_list("user_id", "presence")),
    )


@pytest.fixture
def quiet_chat(settings):
    # No bot task (the socket is under test, not the assistant) and no rate limit on the good messages that
    # prove, after every bad frame, that the socket still serves.
    settings.HELPDESK_MESSAGE_HOOK_TASK = ""
    settings.HELPDESK_WIDGET_RATE_LIMIT = (100_000, 10.0)


@pytest_asyncio.fixture
async def widget_chat(transactional_db, quiet_chat):
    conversation, token = await new_widget_session("Fuzzy")
    chat = Chat(await widget_connect(token), conversation.pk)
    # The first message hands the conversation to the agents' queue; its traffic is read here, once.
    await _still_serves(chat)
    await frames_until(chat.socket, "conversation.state")
    chat.last_seq = (await _stored(chat.conversation_id))[-1][0]  # the queue's system message came after it
    yield chat
    await chat.socket.disconnect()


@database_sync_to_async
def _conversation_with_alice(agent_alice) -> tuple[int, int]:
    """(conversation, its customer's question) of a chat Alice has taken: seq 1 "alice joined", 2 the question."""
    conversation = widget_session_start(name="Fuzzy")
    conversation_assign(conversation=conversation, agent=agent_alice)
    question = message_post(conversation=conversation, role=Message.Role.CUSTOMER, text="Where is my card?")
    return conversation.pk, question.message.pk


@pytest_asyncio.fixture
async def inbox_chat(transactional_db, quiet_chat, agent_alice):
    conversation_id, message_id = await _conversation_with_alice(agent_alice)
    socket, _ = await inbox_connect("alice")
    chat = Chat(socket, conversation_id, message_id=message_id, last_seq=2)
    yield chat
    await socket.disconnect()


@pytest_asyncio.fixture
async def manager_chat(transactional_db, quiet_chat, agent_alice, manager_maria):
    conversation_id, message_id = await _conversation_with_alice(agent_alice)
    socket, _ = await inbox_connect("maria")
    chat = Chat(socket, conversation_id, message_id=message_id, last_seq=2)
    yield chat
    await socket.disconnect()


# --- Properties ------------------------------------------------------------------------------------------

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.asyncio
@SOCKET_SETTINGS
@given(bad=widget_bad_frames)
async def test_the_widget_answers_every_bad_frame_with_an_error_and_keeps_serving(widget_chat, bad):
    async with _example(widget_chat):
        before = await _stored(widget_chat.conversation_id)

        await _send(widget_chat, bad)
        error = await _next_error(widget_chat)

        _assert_error(error, bad)
        assert await _stored(widget_chat.conversation_id) == before
        await _still_serves(widget_chat)
        assert (await _stored(widget_chat.conversation_id))[-1] == (widget_chat.last_seq, "customer", "still here?")


@pytest.mark.asyncio
@SOCKET_SETTINGS
@given(bad=inbox_bad_frames)
async def test_the_inbox_answers_every_bad_frame_with_an_error_and_keeps_serving(inbox_chat, bad):
    async with _example(inbox_chat):
        before = await _desk_state(inbox_chat.conversation_id)

        await _send(inbox_chat, bad)
        error = await _next_error(inbox_chat)

        _assert_error(error, bad)
        assert await _desk_state(inbox_chat.conversation_id) == before
        await _still_serves(inbox_chat, conversation=inbox_chat.conversation_id)
        assert (await _stored(inbox_chat.conversation_id))[-1] == (inbox_chat.last_seq, "agent", "still here?")


def _as_manager(bad: Bad) -> Bad:
    """A manager's write frame is refused as forbidden before anything else is looked at."""
    frame_type = bad.text.get("type") if isinstance(bad.text, dict) else None
    return Bad("forbidden", text=bad.text) if isinstance(frame_type, str) and frame_type in WRITE_FRAMES else bad


WRITE_FRAMES = InboxConsumer.write_frames
good_write_frames = st.sampled_from(
    [
        {"type": "message.send", "conversation": REAL_CONVERSATION, "client_id": str(uuid.UUID(int=1)), "text": "hi"},
        {"type": "conversation.resolve", "conversation": REAL_CONVERSATION},
        {"type": "conversation.assign", "conversation": REAL_CONVERSATION},
        {"type": "presence.set", "presence": "online"},
        {"type": "intent.correct", "message": REAL_MESSAGE, "intent": "card_arrival"},
        {"type": "typing", "conversation": REAL_CONVERSATION},
    ]
).map(lambda frame: Bad("forbidden", text=frame))


@pytest.mark.asyncio
@settings(SOCKET_SETTINGS, max_examples=50)
@given(bad=st.one_of(inbox_bad_frames.map(_as_manager), good_write_frames))
async def test_a_managers_inbox_refuses_every_bad_or_write_frame_and_keeps_answering(manager_chat, bad):
    async with _example(manager_chat):
        before = await _desk_state(manager_chat.conversation_id)

        await _send(manager_chat, bad)
        error = await _next_error(manager_chat)

        _assert_error(error, bad)
        assert await _desk_state(manager_chat.conversation_id) == before
        # Still open: a read-only frame is answered.
        resume = {"type": "resume", "conversation": manager_chat.conversation_id, "after_seq": manager_chat.last_seq}
        await manager_chat.socket.send_json_to(resume)
        assert await manager_chat.socket.receive_json_from(timeout=TIMEOUT) == {
            "type": "resume.done",
            "conversation": manager_chat.conversation_id,
            "last_seq": manager_chat.last_seq,
        }


# --- Frames the fuzzing found crashing a socket (closed with 1011 and a traceback) ----------------------

CRASHES = [
    # json.loads raised RecursionError, which is no ValueError.
    pytest.param("[" * 100_000 + "]" * 100_000, "bad_json", id="nested-past-the-recursion-limit"),
    # A list as the type was looked up in the handlers dict: TypeError, unhashable.
    pytest.param('{"type": ["message.send"]}', "unknown_type", id="unhashable-type"),
    # Stored as is: no UTF-8 for a lone surrogate (UnicodeEncodeError), and PostgreSQL stores no NUL.
    pytest.param(
        '{"type": "message.send", "client_id": "0c9a4f9e-1b7e-4a59-9a3c-4b8a0b6f7c11", "text": "hi \\ud800"}',
        "invalid",
        id="lone-surrogate",
    ),
    pytest.param(
        '{"type": "message.send", "client_id": "0c9a4f9e-1b7e-4a59-9a3c-4b8a0b6f7c11", "text": "hi \\u0000"}',
        "invalid",
        id="nul",
    ),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("raw", "code"), CRASHES)
async def test_a_frame_that_crashed_the_widget_is_refused_and_the_socket_serves_on(widget_chat, raw, code):
    before = await _stored(widget_chat.conversation_id)

    await widget_chat.socket.send_to(text_data=raw)
    error = await _next_error(widget_chat)

    assert error["code"] == code
    assert await _stored(widget_chat.conversation_id) == before
    await _still_serves(widget_chat)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("raw", "code"), [('{"type": {"a": 1}}', "unknown_type"), ("[" * 100_000 + "]" * 100_000, "bad_json")]
)
async def test_a_frame_that_crashed_a_managers_inbox_is_refused(manager_chat, raw, code):
    # The read-only check parsed the frame on its own: a dict as the type was looked up in a frozenset.
    await manager_chat.socket.send_to(text_data=raw)

    error = await _next_error(manager_chat)

    assert error["code"] == code
    assert await manager_chat.socket.receive_nothing(timeout=0.1)


# --- The field parsers, as pure functions: a clean value or FrameError, nothing else --------------------


def _with(name: str, value: Any) -> dict[str, Any]:
    return {} if value is MISSING else {name: value}


maybe_missing = st.just(MISSING) | json_values


@settings(FUZZ, max_examples=200)
@given(value=maybe_missing | uuids)
def testfield_uuid_returns_the_uuid_or_refuses_as_invalid(value):
    frame = _with("client_id", value)
    if value is not MISSING and _is_uuid(value):
        assert field_uuid(frame, "client_id") == uuid.UUID(str(value))
    else:
        with pytest.raises(FrameError) as refused:
            field_uuid(frame, "client_id")
        assert (refused.value.code, refused.value.detail) == ("invalid", "'client_id' must be a UUID")


@settings(FUZZ, max_examples=200)
@given(value=maybe_missing)
def testfield_int_returns_a_whole_number_or_refuses_as_invalid(value):
    frame = _with("after_seq", value)
    if _is_whole(value):
        assert field_int(frame, "after_seq") == value
    else:
        with pytest.raises(FrameError) as refused:
            field_int(frame, "after_seq")
        assert (refused.value.code, refused.value.detail) == (
            "invalid",
            "'after_seq' must be a non-negative whole number",
        )


@settings(FUZZ, max_examples=200)
@given(value=maybe_missing | too_long_text | blank_text)
def testfield_text_returns_the_text_or_refuses_as_invalid_or_too_long(value):
    frame = _with("text", value)
    if not isinstance(value, str) or not value.strip():
        expected = ("invalid", "'text' must be a non-empty string")
    elif len(value) > MAX_TEXT:
        expected = ("too_long", f"A message may hold at most {MAX_TEXT} characters; got {len(value)}.")
    else:
        assert field_text(frame) == value
        return
    with pytest.raises(FrameError) as refused:
        field_text(frame)
    assert (refused.value.code, refused.value.detail) == expected


@settings(FUZZ, max_examples=200)
@given(value=maybe_missing | st.text(min_size=SUGGESTION_ID_MAX_LENGTH - 2, max_size=SUGGESTION_ID_MAX_LENGTH + 2))
def testfield_suggestion_returns_an_id_or_none_or_refuses_as_invalid(value):
    frame = _with("suggestion", value)
    if value is MISSING or value is None or value == "":
        assert field_suggestion(frame) is None
    elif isinstance(value, str) and len(value) <= SUGGESTION_ID_MAX_LENGTH:
        assert field_suggestion(frame) == value
    else:
        with pytest.raises(FrameError) as refused:
            field_suggestion(frame)
        assert refused.value.code == "invalid"
