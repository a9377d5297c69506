"""The bot answers each customer message once, however often its task runs; a lost task is swept up; a broker
or channel layer that cannot be reached never turns a stored message into an error. SQLite and eager Celery:
the real-service versions are the other tests of this folder."""

import logging
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from apps.assistant import analysis, tasks
from apps.assistant.analysis import message_analyse, message_analysis_failed
from apps.assistant.policy import CLOSING_LINE, BotState
from apps.conversations import events, services
from apps.conversations.models import Conversation, Message
from apps.conversations.services import conversation_bot_state_save, customer_message_post, message_post
from helpdesk.celery import BrokerUnavailable

pytestmark = pytest.mark.django_db

HOOK = "apps.assistant.tasks.analyse_message"


@pytest.fixture
def hooked(settings):
    settings.HELPDESK_MESSAGE_HOOK_TASK = HOOK


@pytest.fixture
def awaiting_feedback(conversation):
    """The bot has just answered and asked "Did this help?": a "yes" is answered with no model serving."""
    state = BotState(last_intent="card_arrival", last_answered_intent="card_arrival", pending="feedback")
    conversation_bot_state_save(conversation=conversation, bot_state=state.to_json())
    return conversation


def stored_yes(conversation: Conversation) -> Message:
    """A customer's "yes", stored; its task is not run (its on-commit never fires inside the test's transaction)."""
    return customer_message_post(conversation=conversation, text="yes", client_id=uuid.uuid4()).message


def bot_replies(message: Message) -> list[Message]:
    replies = Message.objects.filter(conversation_id=message.conversation_id, role=Message.Role.BOT)
    return [reply for reply in replies if reply.annotations.get("in_reply_to") == message.seq]


def test_the_task_run_again_after_it_answered_posts_no_second_reply(hooked, awaiting_feedback):
    message = stored_yes(awaiting_feedback)
    tasks.analyse_message.apply(args=[message.pk])
    message.refresh_from_db()
    answered = message.annotations

    tasks.analyse_message.apply(args=[message.pk])  # redelivered: the worker died before its ack

    message.refresh_from_db()
    assert [reply.text for reply in bot_replies(message)] == [CLOSING_LINE]
    assert message.annotations == answered
    assert message.decision == Message.Decision.ANSWER


def test_a_run_that_read_the_message_before_another_committed_stores_nothing(hooked, awaiting_feedback, monkeypatch):
    # Given two runs of one message's task at once (a sweep's copy beside a slow first delivery): the late one
    # has read the message and decided when the other commits its reply.
    message = stored_yes(awaiting_feedback)
    decide = analysis.decide
    other_run: list[Message | None] = []

    def decide_while_another_run_answers(*args, **kwargs):
        decided = decide(*args, **kwargs)
        if not other_run:
            other_run.append(None)
            other_run[0] = message_analyse(message_id=message.pk)
        return decided

    monkeypatch.setattr(analysis, "decide", decide_while_another_run_answers)

    message_analyse(message_id=message.pk)

    message.refresh_from_db()
    awaiting_feedback.refresh_from_db()
    assert other_run[0] is not None  # the other run answered
    assert len(bot_replies(message)) == 1
    assert awaiting_feedback.messages.count() == 2  # the "yes" and one answer, no second line of any kind
    assert awaiting_feedback.bot_state["pending"] == ""  # the memory advanced once, by the run that answered


def test_a_failure_recorded_after_another_run_answered_changes_nothing(hooked, awaiting_feedback):
    message = stored_yes(awaiting_feedback)
    message_analyse(message_id=message.pk)

    message_analysis_failed(message_id=message.pk, error="RuntimeError: a late copy failed")

    message.refresh_from_db()
    awaiting_feedback.refresh_from_db()
    assert "analysis_error" not in message.annotations
    assert message.decision == Message.Decision.ANSWER
    assert awaiting_feedback.state == Conversation.State.BOT


def test_a_task_that_fails_for_good_hands_over_once_however_often_it_is_delivered(
    hooked, awaiting_feedback, monkeypatch
):
    def broken(*, message_id):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(tasks, "message_analyse", broken)
    message = stored_yes(awaiting_feedback)

    tasks.analyse_message.apply(args=[message.pk])
    tasks.analyse_message.apply(args=[message.pk])  # the last try redelivered after a worker died

    message.refresh_from_db()
    awaiting_feedback.refresh_from_db()
    assert awaiting_feedback.state == Conversation.State.WAITING
    assert message.decision == Message.Decision.HANDOFF
    assert message.annotations["analysis_error"] == "RuntimeError: model exploded"
    assert awaiting_feedback.messages.filter(role=Message.Role.SYSTEM).count() == 1
    assert bot_replies(message) == []


def test_the_sweep_queues_again_only_messages_whose_task_was_lost(hooked, settings, awaiting_feedback, conversation):
    settings.HELPDESK_ANALYSIS_REQUEUE_AFTER = 60
    now = timezone.now()
    lost = stored_yes(awaiting_feedback)
    recent = customer_message_post(conversation=conversation, text="and my pin?", client_id=uuid.uuid4()).message
    ancient = customer_message_post(conversation=conversation, text="hello?", client_id=uuid.uuid4()).message
    failed = customer_message_post(conversation=conversation, text="anyone?", client_id=uuid.uuid4()).message
    bot = message_post(conversation=conversation, role=Message.Role.BOT, text="Hi!").message
    Message.objects.filter(pk__in=[lost.pk, failed.pk, bot.pk]).update(created_at=now - timedelta(minutes=5))
    Message.objects.filter(pk=ancient.pk).update(created_at=now - timedelta(hours=2))
    Message.objects.filter(pk=failed.pk).update(annotations={"analysis_error": "RuntimeError: gave up"})

    assert tasks.requeue_unanalysed.apply().get() == 1  # eager: the queued analysis runs at once

    lost.refresh_from_db()
    assert [reply.text for reply in bot_replies(lost)] == [CLOSING_LINE]
    assert tasks.requeue_unanalysed.apply().get() == 0
    for untouched in (recent, ancient, failed):
        untouched.refresh_from_db()
        assert "analysed_at" not in untouched.annotations


def test_the_sweep_leaves_messages_alone_when_another_hook_answers_them(settings, conversation):
    settings.HELPDESK_MESSAGE_HOOK_TASK = ""
    settings.HELPDESK_ANALYSIS_REQUEUE_AFTER = 0
    message_post(conversation=conversation, role=Message.Role.CUSTOMER, text="hello", client_id=uuid.uuid4())

    assert tasks.requeue_unanalysed.apply().get() == 0


def test_a_message_stored_while_the_broker_is_unreachable_is_kept_and_left_to_the_sweep(
    hooked, conversation, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    queued = []

    def broker_down(name, *args):
        queued.append((name, args))
        raise BrokerUnavailable("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(services, "task_enqueue_by_name", broker_down)
    client_id = uuid.uuid4()

    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        posted = customer_message_post(conversation=conversation, text="where is my card?", client_id=client_id)

    assert posted.created
    assert Message.objects.get(conversation=conversation, client_id=client_id).seq == posted.message.seq
    assert queued == [(HOOK, (posted.message.pk,))]
    assert "left to the sweep" in caplog.text


def test_a_broadcast_the_channel_layer_cannot_take_is_logged_not_raised(
    conversation, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    class UnreachableLayer:
        async def group_send(self, group, event):
            raise RedisConnectionError("Connection closed by server.")

    monkeypatch.setattr(events, "get_channel_layer", UnreachableLayer)

    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        posted = message_post(conversation=conversation, role=Message.Role.BOT, text="Hello!")
        events.message_broadcast_on_commit(posted.message)

    assert Message.objects.filter(pk=posted.message.pk).exists()
    assert caplog.text.count("channel layer unreachable") == 2  # the widget's group and the inbox
