"""Writes of conversation reviews: a team lead scores a conversation against the active rubric."""

from statistics import fmean

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q

from apps.accounts.audit import Action, audit_record
from apps.conversations.models import Conversation
from apps.oversight.models import ConversationReview, ReviewCriterion, ReviewScore
from apps.oversight.selectors import conversation_handled_by, conversation_reviewed_agent_id, reviewer_allowed
from helpdesk.celery import task_enqueue_by_name

FACT_REFRESH_TASK = "apps.reports.tasks.refresh_conversation_fact"


@transaction.atomic
def conversation_review_submit(
    *, conversation: Conversation, reviewer: AbstractBaseUser, scores: dict[int, int], comment: str
) -> ConversationReview:
    """Store ``reviewer``'s review of ``conversation`` ({criterion id: 1-5} for every active criterion, exactly
    those), replacing the one they wrote before; its score is the mean. Audited; the conversation's report facts
    are refreshed once committed. Refuses, storing nothing: non-managers, a reviewer who handled the conversation,
    a criterion missing, unknown or retired, a score that is not a whole number from 1 to 5."""
    if not reviewer_allowed(user=reviewer):
        raise PermissionDenied("Only team leads (Managers) and the Admin review conversations.")
    if conversation_handled_by(conversation=conversation, user=reviewer):
        raise ValidationError("You handled this conversation yourself; another team lead has to review it.")
    criteria = _criteria_checked(scores)
    review, created = ConversationReview.objects.update_or_create(
        conversation=conversation,
        reviewer=reviewer,
        defaults={
            "agent_id": conversation_reviewed_agent_id(conversation=conversation),
            "team_id": conversation.team_id,
            "comment": comment.strip(),
            "score": fmean(scores.values()),
        },
    )
    # Scores of criteria retired since the last submission go too: the review's mean is of these scores.
    review.scores.all().delete()
    ReviewScore.objects.bulk_create(
        [ReviewScore(review=review, criterion=criterion, score=scores[criterion.pk]) for criterion in criteria]
    )
    audit_record(
        action=Action.CONVERSATION_REVIEW,
        actor=reviewer,
        target=review,
        # Names and numbers only: the comment may quote the customer.
        detail={
            "conversation": conversation.pk,
            "agent": review.agent_id,
            "score": review.score,
            "scores": {criterion.name: scores[criterion.pk] for criterion in criteria},
            "created": created,
        },
    )
    _fact_refresh_on_commit(conversation.pk)
    return review


@transaction.atomic
def conversation_review_delete(*, review: ConversationReview, actor: AbstractBaseUser) -> None:
    """Delete a review (the Admin's correction of a mistake), audited; the report facts follow once committed."""
    conversation_id = review.conversation_id
    audit_record(
        action=Action.CONVERSATION_REVIEW,
        actor=actor,
        target=review,
        detail={"conversation": conversation_id, "agent": review.agent_id, "score": review.score, "deleted": True},
    )
    review.delete()
    _fact_refresh_on_commit(conversation_id)


def _fact_refresh_on_commit(conversation_id: int) -> None:
    # Robust: a failed enqueue must not undo the review; the reports' beat job catches up (stale condition).
    transaction.on_commit(lambda: task_enqueue_by_name(FACT_REFRESH_TASK, conversation_id), robust=True)


def _criteria_checked(scores: dict[int, int]) -> list[ReviewCriterion]:
    """The active criteria, in rubric order, once ``scores`` is found to score each of them (and nothing else)
    with a whole number from 1 to 5; a ValidationError naming every problem otherwise."""
    ids = {key for key in scores if isinstance(key, int) and not isinstance(key, bool)}
    known = {c.pk: c for c in ReviewCriterion.objects.filter(Q(is_active=True) | Q(pk__in=ids))}
    active = sorted((c for c in known.values() if c.is_active), key=lambda c: (c.position, c.name))
    problems = []
    missing = [c.name for c in active if c.pk not in ids]
    if missing:
        problems.append(f"Score every criterion; missing: {', '.join(missing)}.")
    unknown = [repr(key) for key in scores if key not in ids or key not in known]
    if unknown:
        problems.append(f"Unknown criteria: {', '.join(unknown)}.")
    retired = [known[key].name for key in scores if key in ids and key in known and not known[key].is_active]
    if retired:
        problems.append(f"Retired criteria are no longer scored: {', '.join(retired)}.")
    bad = [f"{_name(key, known)}: {value!r}" for key, value in scores.items() if not _valid(value)]
    if bad:
        low, high = ConversationReview.MIN_SCORE, ConversationReview.MAX_SCORE
        problems.append(f"Scores are whole numbers from {low} to {high}; got {', '.join(bad)}.")
    if not active and not problems:
        problems.append("The rubric has no active criteria; add one under Review criteria.")
    if problems:
        raise ValidationError(problems)
    return active


def _name(key: object, known: dict[int, ReviewCriterion]) -> str:
    return known[key].name if isinstance(key, int) and not isinstance(key, bool) and key in known else repr(key)


def _valid(score: object) -> bool:
    return (
        isinstance(score, int)
        and not isinstance(score, bool)
        and ConversationReview.MIN_SCORE <= score <= ConversationReview.MAX_SCORE
    )
