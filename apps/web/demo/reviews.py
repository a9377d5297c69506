"""The demo's conversation reviews, so the reports' review scores and an agent's "my reviews" have something to
show on the first run: the demo manager has reviewed about one closed, agent-handled conversation in six, with
scores that mostly follow the customer's own rating. Inserted in bulk like the rest of the demo's history
(the review service would queue a fact refresh per review; the seed refreshes the facts once at the end)."""

import random
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractUser

from apps.conversations.models import Conversation
from apps.oversight.models import ConversationReview, ReviewCriterion, ReviewScore
from apps.web.demo.customers import EXTERNAL_ID_PREFIX

SHARE_REVIEWED = 1 / 6
COMMENTS = {
    1: "Missed the customer's actual question; please re-read before answering.",
    2: "Correct in the end, but slow and curt. Greet and set expectations.",
    3: "Fine. A link to the article would have saved a message.",
    4: "Good, friendly and accurate.",
    5: "Textbook: warm, precise, resolved in one go.",
}


def reviews_ensure(*, seed: int, reviewer: AbstractUser, now: datetime) -> int:
    """Plants the reviews once (nothing when the reviewer has reviewed any); returns how many."""
    if ConversationReview.objects.filter(reviewer=reviewer).exists():
        return 0
    criteria = list(ReviewCriterion.objects.filter(is_active=True).order_by("position", "name"))
    handled = (
        Conversation.objects.filter(
            customer__external_id__startswith=EXTERNAL_ID_PREFIX,
            state=Conversation.State.CLOSED,
            assignee__isnull=False,
        )
        .select_related("survey")
        .order_by("pk")
    )
    rng = random.Random(seed)
    picked = [c for c in handled if rng.random() < SHARE_REVIEWED]
    if not criteria or not picked:
        return 0
    reviews, scores = [], []
    for conversation in picked:
        survey = getattr(conversation, "survey", None)
        base = survey.rating if survey is not None else rng.choice((3, 4, 4, 5))
        marks = [min(5, max(1, base + rng.choice((-1, 0, 0, 0, 1)))) for _ in criteria]
        mean = sum(marks) / len(marks)
        reviewed_at = min(now, conversation.closed_at + timedelta(hours=rng.randint(2, 48)))
        review = ConversationReview(
            conversation=conversation,
            agent_id=conversation.assignee_id,
            team_id=conversation.team_id,
            reviewer=reviewer,
            comment=COMMENTS[round(mean)],
            score=mean,
        )
        reviews.append((review, reviewed_at))
        scores.append(marks)
    ConversationReview.objects.bulk_create([review for review, _ in reviews])
    for review, reviewed_at in reviews:  # the insert stamped them now (auto_now_add); bulk_update does not
        review.created_at = review.updated_at = reviewed_at
    ConversationReview.objects.bulk_update([review for review, _ in reviews], ["created_at", "updated_at"])
    ReviewScore.objects.bulk_create(
        ReviewScore(review=review, criterion=criterion, score=mark)
        for (review, _), marks in zip(reviews, scores, strict=True)
        for criterion, mark in zip(criteria, marks, strict=True)
    )
    return len(reviews)
