"""Suggested replies and intent corrections in the agents' inbox: the ``suggestion`` of a sent reply recorded as
used, edited or ignored (websocket and API), and ``intent.correct`` storing training data for review."""

import uuid

import pytest
from channels.db import database_sync_to_async

from apps.assistant.models import ModelKind, SuggestionUse, TrainingExample
from apps.assistant.services import training_example_add
from apps.conversations.events import message_payload
from apps.conversations.models import Conversation, Message
from apps.conversations.services import message_annotate, message_post
from tests.conversations.chat_clients import frames_until, inbox_connect, new_widget_session

pytestmark = pytest.mark.django_db(transaction=True)

KB_TEXT = "New cards arrive within 5 working days of your order."
PAST_TEXT = "Your card is on its way and should arrive by Friday."
SUGGESTIONS = [
    {
        "id": "kb:7",
        "source": "knowledge",
        "text": KB_TEXT,
        "title": "Where is my new card?",
        "url": "/help/new-card/",
        "score": 0.81,
    },
    {
        "id": "reply:42",
        "source": "past_reply",
        "text": PAST_TEXT,
        "title": "Reply by bob in #3",
        "url": "",
        "score": 0.7,
    },
]
TOP3 = [["card_arrival", 0.62], ["lost_or_stolen_card", 0.21], ["pending_transfer", 0.09]]


def _customer_asks_sync(conversation: Conversation, text: str = "my card has not arrived", suggestions=None) -> Message:
    """A customer's message as the assistant leaves it: annotated, with the replies suggested for it."""
    message = message_post(conversation=conversation, role=Message.Role.CUSTOMER, text=text).message
    return message_annotate(
        message=message,
        intent="card_arrival",
        intent_confidence=0.62,
        intent_top3=TOP3,
        sentiment=-0.1,
        annotations={"suggestions": SUGGESTIONS if suggestions is None else suggestions},
    )


customer_asks = database_sync_to_async(_customer_asks_sync)


def _reply_frame(conversation: Conversation, text: str, **extra) -> dict:
    return {
        "type": "message.send",
        "conversation": conversation.pk,
        "client_id": str(uuid.uuid4()),
        "text": text,
        **extra,
    }


async def _send_reply(inbox, conversation: Conversation, text: str, **extra) -> int:
    await inbox.send_json_to(_reply_frame(conversation, text, **extra))
    ack = await frames_until(inbox, "message.ack")
    return ack[-1]["seq"]


@database_sync_to_async
def _uses() -> list[tuple]:
    return list(
        SuggestionUse.objects.order_by("pk").values_list(
            "message_id", "reply__text", "suggestion_id", "source", "outcome", "agent__username"
        )
    )


@database_sync_to_async
def _examples() -> list[tuple]:
    return list(
        TrainingExample.objects.order_by("pk").values_list("kind", "text", "label", "source", "status", "source_ref")
    )


@database_sync_to_async
def _annotations(message: Message) -> dict:
    message.refresh_from_db()
    return message.annotations


# --- Suggestions used, edited, ignored ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_suggestion_sent_as_inserted_is_recorded_as_used(agent_alice):
    conversation, _ = await new_widget_session()
    question = await customer_asks(conversation)
    inbox, _ = await inbox_connect("alice")

    # Spacing aside, the text is the suggestion's: the composer may end with a newline.
    await _send_reply(inbox, conversation, f"{KB_TEXT.replace(' ', '  ')}\n", suggestion="kb:7")

    assert await _uses() == [(question.pk, KB_TEXT.replace(" ", "  "), "kb:7", "knowledge", "used", "alice")]
    await inbox.disconnect()


@pytest.mark.asyncio
async def test_a_suggestion_changed_before_sending_is_recorded_as_edited(agent_alice):
    conversation, _ = await new_widget_session()
    question = await customer_asks(conversation)
    inbox, _ = await inbox_connect("alice")

    await _send_reply(inbox, conversation, f"Hi Wendy! {PAST_TEXT}", suggestion="reply:42")

    assert await _uses() == [(question.pk, f"Hi Wendy! {PAST_TEXT}", "reply:42", "past_reply", "edited", "alice")]
    await inbox.disconnect()


@pytest.mark.asyncio
async def test_replies_without_a_suggestion_record_ignored_once_and_a_later_use_replaces_it(agent_alice):
    conversation, _ = await new_widget_session()
    question = await customer_asks(conversation)
    inbox, _ = await inbox_connect("alice")

    await _send_reply(inbox, conversation, "Hi, let me check.")
    await _send_reply(inbox, conversation, "One moment please.")
    ignored = await _uses()
    await _send_reply(inbox, conversation, KB_TEXT, suggestion="kb:7")

    assert ignored == [(question.pk, None, "", "", "ignored", "alice")]
    assert await _uses() == [(question.pk, KB_TEXT, "kb:7", "knowledge", "used", "alice")]
    await inbox.disconnect()


@pytest.mark.asyncio
async def test_nothing_is_recorded_for_notes_unknown_ids_or_messages_without_suggestions(agent_alice):
    conversation, _ = await new_widget_session()
    await customer_asks(conversation, text="hello", suggestions=[])
    inbox, _ = await inbox_connect("alice")

    await _send_reply(inbox, conversation, "Hello! How can I help?")
    await customer_asks(conversation)
    await _send_reply(inbox, conversation, KB_TEXT, suggestion="kb:7", note=True)
    await _send_reply(inbox, conversation, KB_TEXT, suggestion="kb:999")

    assert await _uses() == []
    await inbox.disconnect()


@pytest.mark.asyncio
async def test_a_suggestion_shown_for_an_earlier_message_still_counts_for_that_message(agent_alice):
    conversation, _ = await new_widget_session()
    first = await customer_asks(conversation)
    await customer_asks(conversation, text="hello?", suggestions=[])
    inbox, _ = await inbox_connect("alice")

    await _send_reply(inbox, conversation, PAST_TEXT, suggestion="reply:42")

    assert await _uses() == [(first.pk, PAST_TEXT, "reply:42", "past_reply", "used", "alice")]
    await inbox.disconnect()


@pytest.mark.asyncio
async def test_a_resent_reply_is_recorded_once(agent_alice):
    conversation, _ = await new_widget_session()
    await customer_asks(conversation)
    inbox, _ = await inbox_connect("alice")
    frame = _reply_frame(conversation, KB_TEXT, suggestion="kb:7")

    for _ in range(2):
        await inbox.send_json_to(frame)
        await frames_until(inbox, "message.ack")

    assert [use[4] for use in await _uses()] == ["used"]
    await inbox.disconnect()


@pytest.mark.asyncio
@pytest.mark.parametrize("suggestion", [7, ["kb:7"], "kb:" + "7" * 70])
async def test_a_malformed_suggestion_refuses_the_frame_and_stores_nothing(agent_alice, suggestion):
    conversation, _ = await new_widget_session()
    await customer_asks(conversation)
    inbox, _ = await inbox_connect("alice")

    await inbox.send_json_to(_reply_frame(conversation, KB_TEXT, suggestion=suggestion))
    error = await frames_until(inbox, "error")

    assert error[-1]["code"] == "invalid"
    assert "'suggestion'" in error[-1]["detail"]
    assert await database_sync_to_async(Message.objects.filter(role=Message.Role.AGENT).count)() == 0
    assert await _uses() == []
    await inbox.disconnect()


# --- The agents' payload --------------------------------------------------------------------------------


def test_agents_get_the_suggestions_top3_and_correction_and_customers_none(conversation):
    message = _customer_asks_sync(conversation)

    for_agent = message_payload(message, for_agent=True)
    for_customer = message_payload(message, for_agent=False)

    assert (for_agent["suggestions"], for_agent["intent_top3"], for_agent["corrected_intent"]) == (
        SUGGESTIONS,
        TOP3,
        None,
    )
    assert not {"suggestions", "intent_top3", "corrected_intent"} & set(for_customer)


# --- Correcting an intent -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_agent_corrects_an_intent_in_one_frame_and_every_inbox_sees_it(agent_alice, manager_maria):
    conversation, _ = await new_widget_session()
    question = await customer_asks(conversation)
    alice, _ = await inbox_connect("alice")
    maria, _ = await inbox_connect("maria")

    await alice.send_json_to({"type": "intent.correct", "message": question.pk, "intent": " lost_or_stolen_card "})
    seen = await frames_until(maria, "message.annotated")

    annotated = seen[-1]
    assert annotated["conversation"] == conversation.pk
    assert annotated["message"]["id"] == question.pk
    correction = annotated["message"]["corrected_intent"]
    assert (correction["intent"], correction["by"]) == ("lost_or_stolen_card", "alice")
    assert annotated["message"]["suggestions"] == SUGGESTIONS  # the rest of the annotations is kept
    assert annotated["message"]["intent"] == "card_arrival"  # what the model said stays, beside the correction
    stored = await _annotations(question)
    assert stored["corrected_intent"] == {
        "intent": "lost_or_stolen_card",
        "by": agent_alice.pk,
        "by_name": "alice",
        "at": correction["at"],
    }
    assert await _examples() == [
        (
            "intent",
            "my card has not arrived",
            "lost_or_stolen_card",
            "agent_correction",
            "pending",
            f"message:{question.pk}",
        )
    ]
    await frames_until(alice, "message.annotated")  # the corrector's own inbox is told too
    await alice.disconnect()
    await maria.disconnect()


@pytest.mark.asyncio
async def test_correcting_twice_to_the_same_label_keeps_one_example(agent_alice):
    conversation, _ = await new_widget_session()
    question = await customer_asks(conversation)
    inbox, _ = await inbox_connect("alice")

    for _ in range(2):
        await inbox.send_json_to({"type": "intent.correct", "message": question.pk, "intent": "card_arrival"})
        await frames_until(inbox, "message.annotated")

    assert [example[2] for example in await _examples()] == ["card_arrival"]
    await inbox.disconnect()


@database_sync_to_async
def _other_messages(conversation: Conversation, agent) -> dict[str, int]:
    bot = message_post(conversation=conversation, role=Message.Role.BOT, text="Cards arrive in 5 days.").message
    reply = message_post(conversation=conversation, role=Message.Role.AGENT, text="On it", author=agent).message
    return {"bot": bot.pk, "agent": reply.pk}


@pytest.mark.asyncio
async def test_refused_corrections_get_an_error_and_store_and_broadcast_nothing(agent_alice, admin_ada):
    conversation, _ = await new_widget_session()
    question = await customer_asks(conversation)
    others = await _other_messages(conversation, agent_alice)
    before = await _annotations(question)
    alice, _ = await inbox_connect("alice")
    ada, _ = await inbox_connect("ada")
    refused = [
        ({"message": 999999, "intent": "card_arrival"}, "invalid", "There is no message 999999."),
        (
            {"message": others["bot"], "intent": "card_arrival"},
            "invalid",
            f"Only a customer's message has an intent to correct; message {others['bot']} is a bot message.",
        ),
        (
            {"message": others["agent"], "intent": "card_arrival"},
            "invalid",
            f"Only a customer's message has an intent to correct; message {others['agent']} is an agent message.",
        ),
        ({"message": question.pk, "intent": "   "}, "invalid", "The corrected intent needs a label."),
        ({"message": question.pk}, "invalid", "'intent' must be an intent label"),
        (
            {"message": question.pk, "intent": "x" * 101},
            "too_long",
            "An intent label may hold at most 100 characters; got 101.",
        ),
        ({"message": "7", "intent": "card_arrival"}, "invalid", "'message' must be a non-negative whole number"),
    ]

    for fields, code, detail in refused:
        await alice.send_json_to({"type": "intent.correct", **fields})
        assert await alice.receive_json_from() == {"type": "error", "code": code, "detail": detail}, fields

    assert await ada.receive_nothing(timeout=0.5)
    assert await _annotations(question) == before
    assert await _examples() == []
    await alice.disconnect()
    await ada.disconnect()


@pytest.mark.asyncio
async def test_a_read_only_manager_cannot_correct_an_intent(manager_maria, admin_ada):
    conversation, _ = await new_widget_session()
    question = await customer_asks(conversation)
    maria, _ = await inbox_connect("maria")
    ada, _ = await inbox_connect("ada")

    await maria.send_json_to({"type": "intent.correct", "message": question.pk, "intent": "card_arrival"})

    assert await maria.receive_json_from() == {
        "type": "error",
        "code": "forbidden",
        "detail": "Managers read the inbox only.",
    }
    assert await ada.receive_nothing(timeout=0.5)
    assert "corrected_intent" not in await _annotations(question)
    assert await _examples() == []
    await maria.disconnect()
    await ada.disconnect()


@database_sync_to_async
def _labelled_examples() -> None:
    for text, label, status in (
        ("where is my card", "card_arrival", TrainingExample.Status.ACCEPTED),
        ("my card is lost", "lost_or_stolen_card", TrainingExample.Status.ACCEPTED),
        ("card lost again", "lost_or_stolen_card", TrainingExample.Status.ACCEPTED),
        ("tell me a joke", "joke", TrainingExample.Status.PENDING),
        ("nonsense", "junk", TrainingExample.Status.REJECTED),
    ):
        training_example_add(kind=ModelKind.INTENT, text=text, label=label, source="import", status=status)
    training_example_add(kind=ModelKind.SENTIMENT, text="great", label="positive", source="import")


@pytest.mark.asyncio
@pytest.mark.parametrize("username", ["alice", "maria"])
async def test_the_known_intent_labels_are_the_accepted_examples_labels(agent_alice, manager_maria, username):
    await _labelled_examples()
    inbox, _ = await inbox_connect(username)

    await inbox.send_json_to({"type": "intent.labels"})

    assert await inbox.receive_json_from() == {
        "type": "intent.labels",
        "labels": ["card_arrival", "lost_or_stolen_card"],
    }
    await inbox.disconnect()


# --- The API --------------------------------------------------------------------------------------------


def _post(client, conversation: Conversation, **body):
    return client.post(
        f"/api/conversations/{conversation.pk}/messages/", {"role": "agent", **body}, content_type="application/json"
    )


def test_an_api_reply_names_the_suggestion_it_used(client, agent_alice, conversation):
    question = _customer_asks_sync(conversation)
    client.force_login(agent_alice)

    response = _post(client, conversation, text=KB_TEXT, suggestion="kb:7")

    assert response.status_code == 201
    use = SuggestionUse.objects.get()
    assert (use.message, use.reply_id, use.suggestion_id, use.source, use.outcome, use.agent) == (
        question,
        response.data["id"],
        "kb:7",
        "knowledge",
        "used",
        agent_alice,
    )


def test_an_api_reply_without_a_suggestion_records_ignored(client, agent_alice, conversation):
    question = _customer_asks_sync(conversation)
    client.force_login(agent_alice)

    assert _post(client, conversation, text="Let me look.", suggestion=None).status_code == 201
    assert _post(client, conversation, text="Still looking.").status_code == 201

    assert list(SuggestionUse.objects.values_list("message", "reply", "outcome")) == [(question.pk, None, "ignored")]


def test_an_api_reply_with_an_overlong_suggestion_id_is_refused(client, agent_alice, conversation):
    _customer_asks_sync(conversation)
    client.force_login(agent_alice)

    response = _post(client, conversation, text=KB_TEXT, suggestion="kb:" + "7" * 70)

    assert response.status_code == 400
    assert set(response.data) == {"suggestion"}
    assert not Message.objects.filter(role=Message.Role.AGENT).exists()
    assert not SuggestionUse.objects.exists()


def test_only_agents_post_through_the_api(client, manager_maria, conversation):
    _customer_asks_sync(conversation)
    client.force_login(manager_maria)

    assert _post(client, conversation, text=KB_TEXT, suggestion="kb:7").status_code == 403
    assert not SuggestionUse.objects.exists()
