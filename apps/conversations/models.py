import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from apps.accounts.models import Team
from apps.customers.models import Customer
from apps.tickets.models import Ticket


def _new_widget_key() -> str:
    return secrets.token_hex(16)


class Conversation(models.Model):
    class Channel(models.TextChoices):
        WIDGET = "widget", "Chat widget"
        EMAIL = "email", "Email"
        API = "api", "API"

    class State(models.TextChoices):
        BOT = "bot", "With the bot"
        WAITING = "waiting", "Waiting for an agent"
        AGENT = "agent", "With an agent"
        CLOSED = "closed", "Closed"

    OPEN_STATES = (State.BOT, State.WAITING, State.AGENT)
    # Handed over: waiting for an agent or with one (what counts against an agent's capacity).
    WITH_AGENT_STATES = (State.WAITING, State.AGENT)

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="conversations")
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WIDGET)
    state = models.CharField(max_length=10, choices=State.choices, default=State.BOT)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    # The highest seq handed out; message_post increments it under a row lock.
    last_seq = models.PositiveIntegerField(default=0)
    # Bound into the widget token; replacing it revokes every token issued for this conversation.
    widget_key = models.CharField(max_length=32, default=_new_widget_key, editable=False)
    # The customer left an email because no agent was online: agents' replies also go out by email.
    reply_by_email = models.BooleanField(default=False)
    # What the bot remembers between turns (apps.assistant.policy.BotState): the last intent, a pending
    # clarification or "did this help?", failed answers, details the customer gave (card, order number).
    bot_state = models.JSONField(default=dict, blank=True)
    # The satisfaction model's prediction (1-5) after the latest customer message, the recent ones (oldest
    # first) for the trend, and whether it fell below the policy's at-risk threshold.
    predicted_satisfaction = models.FloatField(null=True, blank=True)
    satisfaction_history = models.JSONField(default=list, blank=True)
    at_risk = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    handoff_requested_at = models.DateTimeField(null=True, blank=True)
    first_agent_response_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Set when its PII was removed (the customer's erasure or the retention policy).
    anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "team"], name="conv_state_team_idx"),
            models.Index(fields=["assignee", "state"], name="conv_assignee_state_idx"),
            models.Index(fields=["customer", "created_at"], name="conv_customer_idx"),
            models.Index(fields=["created_at"], name="conv_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Conversation #{self.pk}"


class Message(models.Model):
    class Role(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        BOT = "bot", "Bot"
        AGENT = "agent", "Agent"
        SYSTEM = "system", "System"
        NOTE = "note", "Private note"

    class Decision(models.TextChoices):
        ANSWER = "answer", "Answered"
        CLARIFY = "clarify", "Asked to clarify"
        HANDOFF = "handoff", "Handed over"

    # Text longer than this is refused at every entry point with this limit in the error.
    MAX_TEXT_LENGTH = 4000

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField(help_text="Position in the conversation; the resume cursor of every client.")
    role = models.CharField(max_length=10, choices=Role.choices)
    text = models.TextField()
    client_id = models.UUIDField(null=True, blank=True, help_text="The sender's id; makes a resend idempotent.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Model annotations, written by the assistant for customer messages.
    intent = models.CharField(max_length=100, blank=True)
    intent_confidence = models.FloatField(null=True, blank=True)
    intent_top3 = models.JSONField(default=list, blank=True)
    sentiment = models.FloatField(null=True, blank=True, help_text="-1 (negative) to 1 (positive)")
    escalate = models.BooleanField(default=False)
    predicted_satisfaction = models.FloatField(null=True, blank=True, help_text="1 to 5")
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True)
    # Which model version produced each annotation, e.g. {"intent": 3, "sentiment": 1}, and anything else.
    annotations = models.JSONField(default=dict, blank=True)
    # A default rather than auto_now_add so message_post stamps the message and its conversation alike.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_unique_seq"),
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                condition=models.Q(client_id__isnull=False),
                name="message_unique_client_id",
            ),
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="message_seq_positive"),
        ]
        indexes = [
            models.Index(fields=["role", "created_at"], name="message_role_created_idx"),
            models.Index(fields=["intent"], name="message_intent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}#{self.seq} {self.role}"

    @property
    def is_visible_to_customer(self) -> bool:
        return self.role != self.Role.NOTE


class SatisfactionSurvey(models.Model):
    """The customer's rating of one conversation; a second answer updates it."""

    conversation = models.OneToOneField(Conversation, on_delete=models.CASCADE, related_name="survey")
    rating = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(rating__gte=1, rating__lte=5), name="survey_rating_1_to_5"),
        ]
        indexes = [models.Index(fields=["created_at"], name="survey_created_idx")]

    def __str__(self) -> str:
        return f"{self.rating}/5 for conversation #{self.conversation_id}"


class CannedReply(models.Model):
    """A reply agents insert with a shortcut; managed by managers in the admin."""

    title = models.CharField(max_length=100)
    shortcut = models.SlugField(max_length=50, unique=True)
    text = models.TextField()
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="canned_replies")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return self.title
