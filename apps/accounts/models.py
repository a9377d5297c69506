from django.conf import settings
from django.db import models


class Team(models.Model):
    """A group of agents that a queue of conversations and tickets is routed to."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    # Intents this team handles first; routing falls back to the default team.
    intents = models.JSONField(default=list, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="team_single_default"
            )
        ]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    class Presence(models.TextChoices):
        ONLINE = "online", "Online"
        AWAY = "away", "Away"
        OFFLINE = "offline", "Offline"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile")
    teams = models.ManyToManyField(Team, related_name="agents", blank=True)
    display_name = models.CharField(max_length=100, blank=True)
    # How many live conversations the agent takes at once before routing skips them.
    capacity = models.PositiveSmallIntegerField(default=5)
    presence = models.CharField(max_length=10, choices=Presence.choices, default=Presence.OFFLINE)
    presence_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["presence"], name="agent_presence_idx")]

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()


class AuditEvent(models.Model):
    """One sensitive action: who did what to which object, and when. Written by the service that acts, in the
    same transaction, never edited; the admin shows it read-only to the Admin."""

    class Action(models.TextChoices):
        ADMIN_LOGIN = "admin_login", "Admin login"
        ADMIN_LOGIN_FAILED = "admin_login_failed", "Admin login failed"
        ROLE_CHANGE = "role_change", "Role change"
        ALIAS_MOVE = "alias_move", "Model alias moved"
        CUSTOMER_EXPORT = "customer_export", "Customer data exported"
        CUSTOMER_ERASE = "customer_erase", "Customer erased"
        RETENTION_RUN = "retention_run", "Retention policy run"
        TRAINING_EXPORT = "training_export", "Training data exported"
        TICKET_REASSIGN = "ticket_reassign", "Tickets reassigned in bulk"
        TICKET_MERGE = "ticket_merge", "Tickets merged"
        TICKET_STALE_CLOSE = "ticket_stale_close", "Stale pending tickets closed"
        TICKET_EXPORT = "ticket_export", "Tickets exported"
        CONVERSATION_REASSIGN = "conversation_reassign", "Conversations reassigned in bulk"
        CONVERSATION_REVIEW = "conversation_review", "Conversation reviewed"
        SLA_ESCALATION = "sla_escalation", "SLA breach escalated"

    action = models.CharField(max_length=32, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too: the row outlives a deleted user, and a system action (beat, worker) has no user.
    actor_name = models.CharField(max_length=150, blank=True)
    target_type = models.CharField(max_length=100, blank=True)  # "app_label.model"
    target_id = models.CharField(max_length=64, blank=True)
    target_name = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["action", "-created_at"], name="audit_action_idx"),
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
        ]

    def __str__(self) -> str:
        target = f" {self.target_type}#{self.target_id}" if self.target_id else ""
        return f"{self.get_action_display()}{target} by {self.actor_name or 'system'}"
