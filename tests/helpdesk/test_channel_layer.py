"""The configured channel layer carries a JSON-safe event to a group member: in-memory by default, Redis
when REDIS_URL is set (CI)."""

import json

import pytest
from channels.layers import get_channel_layer
from django.conf import settings


@pytest.mark.asyncio
async def test_the_configured_layer_delivers_a_group_event():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("conversation.test", channel)
    event = json.loads(json.dumps({"type": "message.new", "conversation": 1, "seq": 7}))

    await layer.group_send("conversation.test", event)
    received = await layer.receive(channel)

    assert received == event
    await layer.group_discard("conversation.test", channel)
    expected = "RedisChannelLayer" if settings.REDIS_URL else "InMemoryChannelLayer"
    assert type(layer).__name__ == expected
