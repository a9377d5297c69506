"""conversation_review_submit: what it stores, audits and queues, and what it refuses (storing nothing)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from apps.accounts.models import AuditEvent
from apps.conversations.models import Conversation, Message
from apps.conversations.services import message_post
from apps.oversight.models import ConversationReview, ReviewCriterion, ReviewScore
from apps.oversight.services import conversation_review_delete, conversation_review_submit
from apps.reports.models import ConversationFact
from apps.reports.tasks import refresh_conversation_fact
from tests.oversight.conftest import FACT_REFRESH_TASK, all_scores

pytestmark = pytest.mark.django_db

REVIEWED = AuditEvent.Action.CONVERSATION_REVIEW


def test_a_review_scores_the_assignee_with_the_mean_and_is_audited(
    handled, manager_maria, agent_alice, team_cards, rubric, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        review = conversation_review_submit(
            conversation=handled, reviewer=manager_maria, scores=all_scores(rubric, 5, 4, 4, 2), comment=" Slow. "
        )

    assert (review.agent_id, review.team_id, review.reviewer_id) == (agent_alice.pk, team_cards.pk, manager_maria.pk)
    assert (review.score, review.comment) == (3.75, "Slow.")
    assert list(review.scores.values_list("criterion__name", "score")) == [
        ("Greeting", 5),
        ("Accuracy", 4),
        ("Tone", 4),
        ("Resolution", 2),
    ]
    event = AuditEvent.objects.get(action=REVIEWED)
    assert (event.action, event.actor_id, event.target_type, event.target_id) == (
        "conversation_review",
        manager_maria.pk,
        "oversight.conversationreview",
        str(review.pk),
    )
    assert event.detail == {
        "conversation": handled.pk,
        "agent": agent_alice.pk,
        "score": 3.75,
        "scores": {"Greeting": 5, "Accuracy": 4, "Tone": 4, "Resolution": 2},
        "created": True,
    }
    assert enqueued == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert enqueued == [(FACT_REFRESH_TASK, handled.pk)]


def test_a_second_submission_updates_the_reviewers_review(handled, manager_maria, rubric, enqueued):
    first = conversation_review_submit(
        conversation=handled, reviewer=manager_maria, scores=all_scores(rubric, 1, 1, 1, 1), comment="a"
    )

    second = conversation_review_submit(
        conversation=handled, reviewer=manager_maria, scores=all_scores(rubric, 5, 5, 4, 4), comment="b"
    )

    assert second.pk == first.pk
    assert ConversationReview.objects.count() == 1
    assert (second.score, second.comment) == (4.5, "b")
    assert sorted(ReviewScore.objects.values_list("score", flat=True)) == [4, 4, 5, 5]
    assert [e.detail["created"] for e in AuditEvent.objects.filter(action=REVIEWED).order_by("pk")] == [True, False]


def test_two_leads_review_the_same_conversation_separately(handled, manager_maria, admin_ada, rubric, enqueued):
    conversation_review_submit(
        conversation=handled, reviewer=manager_maria, scores=all_scores(rubric, 2, 2, 2, 2), comment=""
    )
    conversation_review_submit(
        conversation=handled, reviewer=admin_ada, scores=all_scores(rubric, 4, 4, 4, 4), comment=""
    )

    assert sorted(ConversationReview.objects.values_list("reviewer__username", "score")) == [
        ("ada", 4.0),
        ("maria", 2.0),
    ]


def _refused(conversation, reviewer, scores, match: str):
    with pytest.raises(ValidationError, match=match):
        conversation_review_submit(conversation=conversation, reviewer=reviewer, scores=scores, comment="x")


def test_every_active_criterion_must_be_scored(handled, manager_maria, rubric, enqueued):
    scores = {rubric[0].pk: 5, rubric[2].pk: 3}

    _refused(handled, manager_maria, scores, r"Score every criterion; missing: Accuracy, Resolution\.")

    assert not ConversationReview.objects.exists()
    assert not AuditEvent.objects.filter(action=REVIEWED).exists()
    assert enqueued == []


def test_unknown_and_retired_criteria_are_refused_by_name(handled, manager_maria, rubric, enqueued):
    retired = ReviewCriterion.objects.create(name="Upsell", position=9, is_active=False)
    scores = {**all_scores(rubric, 3, 3, 3, 3), retired.pk: 4, 987654: 2, "Tone": 3}

    with pytest.raises(ValidationError) as refused:
        conversation_review_submit(conversation=handled, reviewer=manager_maria, scores=scores, comment="")

    assert refused.value.messages == [
        "Unknown criteria: 987654, 'Tone'.",
        "Retired criteria are no longer scored: Upsell.",
    ]
    assert not ConversationReview.objects.exists()
    assert enqueued == []


@pytest.mark.parametrize("bad", [0, 6, 3.5, "4", True, None])
def test_scores_are_whole_numbers_from_1_to_5(handled, manager_maria, rubric, enqueued, bad):
    scores = {**all_scores(rubric, 3, 3, 3, 3), rubric[1].pk: bad}

    _refused(handled, manager_maria, scores, rf"whole numbers from 1 to 5; got Accuracy: {bad!r}\.")

    assert not ConversationReview.objects.exists()


def test_a_retired_criterion_is_no_longer_asked(handled, manager_maria, rubric, enqueued):
    ReviewCriterion.objects.filter(pk=rubric[0].pk).update(is_active=False)

    review = conversation_review_submit(
        conversation=handled, reviewer=manager_maria, scores=all_scores(rubric[1:], 4, 4, 1), comment=""
    )

    assert review.score == 3.0
    assert review.scores.count() == 3


def test_the_assignee_may_not_review_their_own_conversation(handled, manager_maria, rubric, enqueued):
    Conversation.objects.filter(pk=handled.pk).update(assignee=manager_maria)
    handled.refresh_from_db()

    _refused(handled, manager_maria, all_scores(rubric, 5, 5, 5, 5), "You handled this conversation yourself")
    assert not ConversationReview.objects.exists()


def test_a_lead_who_wrote_an_agent_reply_may_not_review_it(handled, manager_maria, rubric, enqueued):
    message_post(conversation=handled, role=Message.Role.AGENT, text="Jumping in", author=manager_maria)

    _refused(handled, manager_maria, all_scores(rubric, 5, 5, 5, 5), "You handled this conversation yourself")


@pytest.mark.parametrize("user_fixture", ["agent_bob", "mladmin_mo"])
def test_only_team_leads_and_the_admin_review(request, handled, rubric, enqueued, user_fixture):
    user = request.getfixturevalue(user_fixture)

    with pytest.raises(PermissionDenied):
        conversation_review_submit(
            conversation=handled, reviewer=user, scores=all_scores(rubric, 5, 5, 5, 5), comment=""
        )

    assert not ConversationReview.objects.exists()
    assert not AuditEvent.objects.filter(action=REVIEWED).exists()


def test_unassigned_the_agent_who_wrote_the_most_replies_is_reviewed(
    conversation, agent_alice, agent_bob, manager_maria, rubric, enqueued
):
    message_post(conversation=conversation, role=Message.Role.AGENT, text="Hi", author=agent_alice)
    for text in ("Hello", "Let me check", "Done"):
        message_post(conversation=conversation, role=Message.Role.AGENT, text=text, author=agent_bob)
    message_post(conversation=conversation, role=Message.Role.NOTE, text="n1", author=agent_alice)
    message_post(conversation=conversation, role=Message.Role.NOTE, text="n2", author=agent_alice)

    review = conversation_review_submit(
        conversation=conversation, reviewer=manager_maria, scores=all_scores(rubric, 3, 3, 3, 3), comment=""
    )

    assert (review.agent_id, review.team_id) == (agent_bob.pk, None)


def test_a_rolled_back_review_queues_nothing(
    handled, manager_maria, rubric, enqueued, django_capture_on_commit_callbacks
):
    def review_then_fail() -> None:
        with transaction.atomic():
            conversation_review_submit(
                conversation=handled, reviewer=manager_maria, scores=all_scores(rubric, 3, 3, 3, 3), comment=""
            )
            raise RuntimeError("rolled back")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        review_then_fail()

    assert enqueued == []
    assert not ConversationReview.objects.exists()


def test_the_closed_conversations_fact_gets_the_mean_of_its_reviews(
    handled, manager_maria, admin_ada, rubric, enqueued, django_capture_on_commit_callbacks
):
    Conversation.objects.filter(pk=handled.pk).update(state=Conversation.State.CLOSED, closed_at=handled.created_at)

    with django_capture_on_commit_callbacks(execute=True):
        conversation_review_submit(
            conversation=handled, reviewer=manager_maria, scores=all_scores(rubric, 5, 5, 4, 4), comment=""
        )
        conversation_review_submit(
            conversation=handled, reviewer=admin_ada, scores=all_scores(rubric, 2, 2, 2, 2), comment=""
        )
    # What a worker does with each queued refresh (called here: an eager run would import every task module).
    for name, conversation_id in enqueued:
        assert name == FACT_REFRESH_TASK
        refresh_conversation_fact(conversation_id)

    assert ConversationFact.objects.get(pk=handled.pk).review_score == 3.25  # (4.5 + 2) / 2


def test_deleting_a_review_is_audited_and_refreshes_the_fact(
    handled, manager_maria, admin_ada, rubric, enqueued, django_capture_on_commit_callbacks
):
    review = conversation_review_submit(
        conversation=handled, reviewer=manager_maria, scores=all_scores(rubric, 3, 3, 3, 3), comment=""
    )
    enqueued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        conversation_review_delete(review=review, actor=admin_ada)

    assert not ConversationReview.objects.exists()
    assert not ReviewScore.objects.exists()
    event = AuditEvent.objects.filter(action=REVIEWED).order_by("pk").last()
    assert (event.actor_id, event.detail["deleted"], event.detail["score"]) == (admin_ada.pk, True, 3.0)
    assert enqueued == [(FACT_REFRESH_TASK, handled.pk)]
