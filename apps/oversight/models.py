"""Conversation review: team leads score transcripts against a rubric they manage; agents read their own."""

from django.conf import settings
from django.db import models

from apps.accounts.models import Team
from apps.conversations.models import Conversation


class ReviewCriterion(models.Model):
    """One line of the review rubric (greeting, accuracy, tone, resolution …), scored 1-5."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True, help_text="What a 5 looks like; shown to reviewers and agents.")
    position = models.PositiveSmallIntegerField(default=0)
    # Retired criteria keep their past scores but are no longer asked.
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "review criteria"
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class ConversationReview(models.Model):
    """A lead's review of one conversation: a score per criterion and a comment, about the agent who handled it."""

    MIN_SCORE, MAX_SCORE = 1, 5

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="reviews")
    # Who handled the conversation and their team when it was reviewed; kept if it is later reassigned.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews_received"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="reviews_given"
    )
    comment = models.TextField(blank=True)
    # The mean of the scores, kept for lists and reports.
    score = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "reviewer"], name="review_once_per_reviewer"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="review_score_1_to_5"),
        ]
        indexes = [models.Index(fields=["agent", "created_at"], name="review_agent_idx")]

    def __str__(self) -> str:
        return f"Review of conversation #{self.conversation_id} ({self.score:.1f})"


class ReviewScore(models.Model):
    review = models.ForeignKey(ConversationReview, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(ReviewCriterion, on_delete=models.PROTECT, related_name="scores")
    score = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["review", "criterion__position", "criterion__name"]
        constraints = [
            models.UniqueConstraint(fields=["review", "criterion"], name="review_score_once_per_criterion"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="review_criterion_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.criterion}: {self.score}"
