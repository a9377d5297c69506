"""A real worker killed (SIGKILL) while analyse_message runs for a stored customer message: nothing of that run
is stored, the delivery it held goes to the next worker (acks late, restored after the visibility timeout), a
copy of the task queued meanwhile (as the beat sweep does) is harmless, and exactly one bot reply is stored."""

import uuid

import pytest
import redis
from django.conf import settings
from django.db import transaction

from apps.assistant.policy import CLOSING_LINE, BotState
from apps.assistant.tasks import analyse_message
from apps.conversations.models import Message
from apps.conversations.services import conversation_bot_state_save, customer_message_post, widget_session_start
from tests.faults.real_services import HOLD_MARKER_ENV, NEEDS_WORKER_REASON, fault_worker, wait_until, worker_can_run

pytestmark = [pytest.mark.redis, pytest.mark.skipif(not worker_can_run(), reason=NEEDS_WORKER_REASON)]

HOOK = "apps.assistant.tasks.analyse_message"
# The next worker takes back a delivery its dead holder never acknowledged once it is this old (seconds).
VISIBILITY_TIMEOUT = "1"


def _bot_replies(message: Message) -> list[str]:
    replies = Message.objects.filter(conversation_id=message.conversation_id, role=Message.Role.BOT)
    return [reply.text for reply in replies if reply.annotations.get("in_reply_to") == message.seq]


def _broker_is_empty() -> bool:
    """Nothing queued for inference and no delivery unacknowledged: every copy of the task has run."""
    broker = redis.Redis.from_url(settings.REDIS_URL)
    return broker.llen("inference") == 0 and broker.hlen("unacked") == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(75)
def test_a_worker_killed_mid_analysis_leaves_exactly_one_bot_reply_once_another_worker_runs(settings, tmp_path):
    settings.HELPDESK_MESSAGE_HOOK_TASK = HOOK
    conversation = widget_session_start(name="Wendy")
    state = BotState(last_intent="card_arrival", last_answered_intent="card_arrival", pending="feedback")
    conversation_bot_state_save(conversation=conversation, bot_state=state.to_json())
    holding = tmp_path / "holding"
    doomed_env = {HOLD_MARKER_ENV: str(holding), "CELERY_VISIBILITY_TIMEOUT": VISIBILITY_TIMEOUT}

    with fault_worker(queues="inference", app="tests.faults.slow_worker", env=doomed_env, purge=True) as doomed:
        with transaction.atomic():  # queued on commit, to the doomed worker
            message = customer_message_post(conversation=conversation, text="yes", client_id=uuid.uuid4()).message
        held = wait_until(holding.exists, timeout=30)
        doomed.process.kill()
        doomed.process.wait(timeout=10)
    left_by_the_killed_run = (_bot_replies(message), Message.objects.get(pk=message.pk).annotations)

    with fault_worker(queues="inference", env={"CELERY_VISIBILITY_TIMEOUT": VISIBILITY_TIMEOUT}):
        analyse_message.delay(message.pk)  # a copy, as the sweep queues for a message nobody answered in time
        settled = wait_until(_broker_is_empty, timeout=30, every=0.5)

    message.refresh_from_db()
    assert held, "the doomed worker never started the analysis"
    assert left_by_the_killed_run == ([], {})
    assert settled, "a copy of the task was still queued or unacknowledged"
    assert "analysed_at" in message.annotations
    assert message.decision == Message.Decision.ANSWER
    assert _bot_replies(message) == [CLOSING_LINE]
    assert conversation.messages.count() == 2  # the "yes" and its one answer
