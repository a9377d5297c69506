"""The production path of the bot: a customer message stored here, analysed by a real Celery worker over Redis
(the inference queue) with a real (tiny) intent model and the knowledge index, and its reply stored."""

import time
import uuid

import pytest
from django.db import transaction

from apps.assistant.training import model_version_train
from apps.conversations.models import Message
from apps.conversations.services import customer_message_post, widget_session_start
from apps.knowledge.services import article_save
from tests.assistant.registry_helpers import intent_examples_store
from tests.celery_worker import NEEDS_WORKER_REASON, celery_worker, worker_can_run

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not worker_can_run(), reason=NEEDS_WORKER_REASON),
]


@pytest.fixture
def inference_worker(tmp_path, tiny_encoder_path, settings):
    """A real worker on the inference queue, sharing the test database, the tiny encoder and the model store."""
    settings.MODEL_STORE = tmp_path / "models"
    settings.HELPDESK_ENCODER_PATH = str(tiny_encoder_path)
    settings.HELPDESK_MESSAGE_HOOK_TASK = "apps.assistant.tasks.analyse_message"
    env = {"HELPDESK_ENCODER_PATH": str(tiny_encoder_path), "MODEL_STORE": str(settings.MODEL_STORE)}
    with celery_worker(queues="inference", env=env) as process:
        yield process


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(180)
def test_a_worker_reads_the_message_with_the_champion_and_the_index_and_the_bot_replies(inference_worker):
    article_save(
        title="Where is my new card?",
        slug="where-is-my-new-card",
        body="## Delivery\n\nMy card has not arrived yet? New cards arrive within five working days.",
        intents=["card_arrival"],
    )
    intent_examples_store()
    model_version_train(fast=True, actor=None)  # the champion: the worker loads it from the shared store
    conversation = widget_session_start(name="Wendy")

    with transaction.atomic():
        message = customer_message_post(
            conversation=conversation, text="my card has not arrived yet", client_id=uuid.uuid4()
        ).message

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and "analysed_at" not in message.annotations:
        time.sleep(0.3)
        message.refresh_from_db()
    replies = list(conversation.messages.filter(seq__gt=message.seq).order_by("seq"))
    assert message.annotations["models"]["intent"] == 1  # read by the champion, v1
    assert message.intent_top3
    assert message.decision in (Message.Decision.ANSWER, Message.Decision.CLARIFY, Message.Decision.HANDOFF)
    assert message.decision_reason
    assert replies, "the customer got no reply"
    if message.decision == Message.Decision.ANSWER:
        assert replies[0].role == Message.Role.BOT
        assert replies[0].annotations["article"]["url"] == "/help/where-is-my-new-card/"
