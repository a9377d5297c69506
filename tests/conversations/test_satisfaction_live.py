"""The predicted satisfaction in the agents' inbox: recorded per message, its trend, at-risk conversations first."""

import pytest

from apps.conversations.events import conversation_summary, satisfaction_trend
from apps.conversations.models import Conversation
from apps.conversations.selectors import inbox_snapshot
from apps.conversations.services import conversation_satisfaction_record, conversation_start

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("history", "trend"),
    [([], None), ([4.0], None), ([4.0, 3.5], -0.5), ([4.5, 4.0, 3.5, 3.0, 2.0], -2.0), ([2.0, 2.5, 3.0], 1.0)],
)
def test_the_trend_is_the_change_over_the_last_few_predictions(history, trend):
    assert satisfaction_trend(history) == trend


def test_a_recorded_prediction_keeps_the_last_ten_and_marks_the_risk(conversation, django_capture_on_commit_callbacks):
    for score in (4.8, 4.6, 4.4, 4.2, 4.0, 3.8, 3.6, 3.4, 3.2, 3.0, 2.8):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            conversation_satisfaction_record(conversation=conversation, score=score, at_risk_below=2.5)

    conversation_satisfaction_record(conversation=conversation, score=2.5, at_risk_below=2.5)

    conversation.refresh_from_db()
    assert conversation.satisfaction_history == [4.4, 4.2, 4.0, 3.8, 3.6, 3.4, 3.2, 3.0, 2.8, 2.5]
    assert (conversation.predicted_satisfaction, conversation.at_risk) == (2.5, True)
    assert len(callbacks) == 1  # the inboxes get the new summary once committed
    summary = conversation_summary(conversation)
    assert (summary["predicted_satisfaction"], summary["satisfaction_trend"], summary["at_risk"]) == (2.5, -0.7, True)


def test_at_risk_conversations_come_first_in_the_inbox(customer_carl, agent_alice):
    calm = conversation_start(customer=customer_carl)
    risky = conversation_start(customer=customer_carl)
    Conversation.objects.filter(pk=risky.pk).update(at_risk=True, predicted_satisfaction=2.1)
    Conversation.objects.filter(pk=calm.pk).update(last_message_at=risky.created_at)

    snapshot = inbox_snapshot(user=agent_alice, can_write=True)

    assert [summary["id"] for summary in snapshot["conversations"]][:2] == [risky.pk, calm.pk]


def test_a_prediction_reaches_the_inboxes_and_not_the_widget(
    conversation, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        "apps.conversations.services.send_rollback_unsafe", lambda group, event: sent.append((group, event["type"]))
    )

    with django_capture_on_commit_callbacks(execute=True):
        conversation_satisfaction_record(conversation=conversation, score=3.0, at_risk_below=2.5)

    assert sent == [("inbox", "chat.conversation")]
