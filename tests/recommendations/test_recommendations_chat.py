"""Recommendations in the chat: the widget's "You may find these helpful" (shown and clicked, recorded) and the
agents' "Suggest to customer" (a reply naming the item, recorded as sent), each refused where it must be."""

import uuid

import pytest
from channels.db import database_sync_to_async

from apps.conversations.models import Conversation, Message
from apps.recommendations.models import Interaction
from tests.conversations.chat_clients import frames_until, inbox_connect, new_widget_session, widget_connect

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def interactions() -> list[tuple]:
    return list(Interaction.objects.order_by("pk").values_list("action", "source", "conversation_id", "product__slug"))


@database_sync_to_async
def last_message(conversation: Conversation) -> Message:
    return Message.objects.filter(conversation=conversation).order_by("-seq").first()


@pytest.mark.asyncio
async def test_the_widget_shows_recommendations_and_records_what_was_shown_and_clicked(history, catalogue):
    conversation, token = await new_widget_session()
    widget = await widget_connect(token)
    before = await database_sync_to_async(Interaction.objects.count)()

    await widget.send_json_to({"type": "recommendations.get"})
    [frame] = await frames_until(widget, "recommendations")
    await widget.send_json_to({"type": "recommendation.click", "item": frame["items"][0]["item"]})
    clicked = await frames_until(widget, "recommendation.clicked")

    assert [item["item"] for item in frame["items"]][:2] == [
        f"product:{catalogue['travel-insurance'].pk}",
        f"product:{catalogue['isa-account'].pk}",
    ]
    assert set(frame["items"][0]) == {"item", "kind", "title", "url", "summary"}
    assert clicked[-1]["item"] == frame["items"][0]["item"]
    recorded = (await interactions())[before:]
    assert [row[:3] for row in recorded] == [("shown", "widget", conversation.pk)] * 3 + [
        ("click", "widget", conversation.pk)
    ]
    await widget.disconnect()


@pytest.mark.asyncio
async def test_a_click_on_something_unknown_is_an_error_frame_and_stores_nothing(history):
    _, token = await new_widget_session()
    widget = await widget_connect(token)
    before = await database_sync_to_async(Interaction.objects.count)()

    await widget.send_json_to({"type": "recommendation.click", "item": "product:999999"})
    [error] = await frames_until(widget, "error")

    assert (error["code"], error["detail"]) == ("invalid", "no product '999999'")
    assert await database_sync_to_async(Interaction.objects.count)() == before
    await widget.disconnect()


@pytest.mark.asyncio
async def test_an_agent_suggests_a_product_to_the_customer_once_per_client_id(agent_alice, catalogue):
    conversation, token = await new_widget_session()
    widget = await widget_connect(token)
    inbox, _ = await inbox_connect("alice")
    frame = {
        "type": "recommendation.send",
        "conversation": conversation.pk,
        "client_id": str(uuid.uuid4()),
        "item": "product:lounge-pass",
    }

    await inbox.send_json_to(frame)
    await frames_until(inbox, "message.ack")
    await inbox.send_json_to(frame)
    await frames_until(inbox, "message.ack")
    seen = await frames_until(widget, "message.new", lambda f: f["message"]["role"] == "agent")

    message = await last_message(conversation)
    assert message.text == "You may find this helpful: Lounge Pass"
    assert seen[-1]["message"]["text"] == message.text
    assert [row for row in await interactions() if row[0] == "sent"] == [
        ("sent", "inbox", conversation.pk, "lounge-pass")
    ]
    await inbox.disconnect()
    await widget.disconnect()


@pytest.mark.asyncio
async def test_managers_cannot_send_suggestions(manager_maria, catalogue):
    conversation, _ = await new_widget_session()
    inbox, _ = await inbox_connect("maria")

    await inbox.send_json_to(
        {
            "type": "recommendation.send",
            "conversation": conversation.pk,
            "client_id": str(uuid.uuid4()),
            "item": "product:lounge-pass",
        }
    )
    [error] = await frames_until(inbox, "error")

    assert error["code"] == "forbidden"
    assert await interactions() == []
    await inbox.disconnect()


@pytest.mark.asyncio
async def test_an_inactive_product_cannot_be_suggested(agent_alice, catalogue):
    conversation, _ = await new_widget_session()
    await database_sync_to_async(type(catalogue["lounge-pass"]).objects.filter(slug="lounge-pass").update)(active=False)
    inbox, _ = await inbox_connect("alice")

    await inbox.send_json_to(
        {
            "type": "recommendation.send",
            "conversation": conversation.pk,
            "client_id": str(uuid.uuid4()),
            "item": "product:lounge-pass",
        }
    )
    [error] = await frames_until(inbox, "error")

    assert (error["code"], error["detail"]) == ("invalid", "Lounge Pass is no longer offered")
    agent_messages = Message.objects.filter(conversation=conversation, role="agent")
    assert await database_sync_to_async(agent_messages.count)() == 0
    await inbox.disconnect()
