"""The production path of the bot: a customer message stored here, analysed by a real Celery worker over Redis
(the inference queue) with a real (tiny) intent model and the knowledge index, and its reply stored."""

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection, transaction

from apps.assistant.training import model_version_train
from apps.conversations.models import Message
from apps.conversations.services import customer_message_post, widget_session_start
from apps.knowledge.services import article_save
from helpdesk.celery import app as celery_app
from tests.assistant.registry_helpers import intent_examples_store

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(
        not (settings.REDIS_URL and os.environ.get("DATABASE_URL")),
        reason="needs REDIS_URL and a PostgreSQL DATABASE_URL that a worker process can share (CI sets both)",
    ),
]


@pytest.fixture
def inference_worker(tmp_path, tiny_encoder_path, settings):
    """A real worker on the inference queue, sharing the test database, the tiny encoder and the model store."""
    settings.MODEL_STORE = tmp_path / "models"
    settings.HELPDESK_ENCODER_PATH = str(tiny_encoder_path)
    settings.HELPDESK_MESSAGE_HOOK_TASK = "apps.assistant.tasks.analyse_message"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "HELPDESK_ENCODER_PATH": str(tiny_encoder_path),
        "MODEL_STORE": str(settings.MODEL_STORE),
    }
    command = [sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "-Q", "inference", "--pool", "solo"]
    command += ["--loglevel", "WARNING", "--purge", "--without-heartbeat", "--without-gossip", "--without-mingle"]
    process = subprocess.Popen(
        command, cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    celery_app.conf.task_always_eager = False
    try:
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(timeout=0.5) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        yield process
    finally:
        celery_app.conf.task_always_eager = True
        process.terminate()
        print(process.communicate(timeout=30)[0])


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
