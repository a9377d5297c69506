"""The reports' rollup: one row per closed conversation, so no page view ever scans messages.

Rows are written by ``apps.reports.services`` only: on commit when a conversation closes or its survey is
submitted (a Celery task), every few minutes by a beat job that catches whatever those missed, and by
``manage.py refresh_report_facts`` for backfills. Dates, hours and weekdays are those of the desk's time zone
(settings.TIME_ZONE) when the row was written; after changing it, refresh with ``--all``.
"""

from django.conf import settings
from django.db import models

from apps.accounts.models import Team
from apps.conversations.models import Conversation


class ConversationFact(models.Model):
    # Ratings of 4 and 5 count as satisfied (CSAT); 1 and 2 are the low ratings whose comments managers read.
    SATISFIED_FROM = 4
    LOW_RATING_UP_TO = 2

    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, primary_key=True, related_name="report_fact"
    )
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField()
    # The conversation's start in the desk's time zone, kept in the shapes the reports group by, so a period
    # bucket or a heatmap cell is a plain column and not a time-zone conversion per row at read time.
    created_date = models.DateField()
    created_week = models.DateField(help_text="The Monday of the week the conversation started.")
    created_month = models.DateField(help_text="The first day of the month the conversation started.")
    created_hour = models.PositiveSmallIntegerField(help_text="0-23")
    created_weekday = models.PositiveSmallIntegerField(help_text="0 = Monday … 6 = Sunday")
    channel = models.CharField(max_length=10, choices=Conversation.Channel.choices)
    # Indexed together with created_date below (which also serves lookups by team or agent alone).
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    intent = models.CharField(max_length=100, blank=True, help_text="Of the first customer message with one.")
    handed_over = models.BooleanField(help_text="A handoff was requested or an agent took the conversation.")
    contained_by_bot = models.BooleanField(help_text="Closed without a handoff and without an agent's message.")
    first_response_seconds = models.FloatField(null=True, blank=True, help_text="Handoff → first agent reply.")
    resolution_seconds = models.FloatField(help_text="Created → closed.")
    customer_messages = models.PositiveIntegerField(default=0)
    agent_messages = models.PositiveIntegerField(default=0)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    predicted_satisfaction = models.FloatField(null=True, blank=True, help_text="The model's last prediction, 1-5.")
    suggestions_used = models.PositiveIntegerField(default=0)
    suggestions_edited = models.PositiveIntegerField(default=0)
    suggestions_ignored = models.PositiveIntegerField(default=0)
    comment = models.TextField(blank=True, help_text="The survey's comment, kept for low ratings only.")
    review_score = models.FloatField(null=True, blank=True, help_text="The mean of its reviews' scores, 1-5.")
    sla_breaches = models.PositiveSmallIntegerField(default=0, help_text="SLA targets its ticket missed.")
    refreshed_at = models.DateTimeField()

    class Meta:
        ordering = ["-closed_at"]
        indexes = [
            models.Index(fields=["created_date"], name="fact_created_date_idx"),
            models.Index(fields=["agent", "created_date"], name="fact_agent_date_idx"),
            models.Index(fields=["team", "created_date"], name="fact_team_date_idx"),
            models.Index(fields=["intent"], name="fact_intent_idx"),
            models.Index(fields=["rating", "closed_at"], name="fact_rating_closed_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="fact_rating_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"Facts of conversation #{self.conversation_id}"
