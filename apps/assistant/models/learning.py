"""The learning loop's records: its settings, candidate-vs-champion comparisons on the held-out split, and the
promotion gate's decisions. Foreign keys by name: this module is imported at the end of the package."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


class LearningLoopConfig(models.Model):
    """One row, edited in the admin: when the loop retrains and when a candidate is promoted on its own."""

    enabled = models.BooleanField(default=True, help_text="Off: the scheduled job only collects feedback.")
    min_new_examples = models.PositiveIntegerField(
        default=200,
        help_text="Accepted examples added since the champion was trained that start a new candidate.",
    )
    fast_training = models.BooleanField(
        default=True, help_text="Train candidates as the fast version (a head on the frozen encoder)."
    )
    gate_metric = models.CharField(
        max_length=20,
        choices=[("macro_f1", "Macro-F1"), ("accuracy", "Accuracy")],
        default="macro_f1",
        help_text="What the candidate must improve on the held-out split.",
    )
    promotion_margin = models.FloatField(
        default=0.01, help_text="By how much (absolute, e.g. 0.01 = one point) the candidate must beat the champion."
    )
    shadow_min_messages = models.PositiveIntegerField(
        default=100, help_text="Live messages the challenger must read in shadow before the gate decides."
    )
    auto_promote = models.BooleanField(
        default=True, help_text="Promote a candidate that passes the gate; off: every promotion waits for an ML admin."
    )
    accept_agent_corrections = models.BooleanField(
        default=False,
        help_text="Agents' intent corrections are accepted as they come (they still show as conflicts when a text "
        "has another label).",
    )
    # Surveys rated up to here have been turned into review items (feedback.feedback_ratings_collect).
    ratings_collected_until = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "learning loop settings"
        verbose_name_plural = "learning loop settings"

    def __str__(self) -> str:
        return "Learning loop settings"

    def clean(self) -> None:
        if not 0 <= self.promotion_margin < 1:
            raise ValidationError({"promotion_margin": "A margin is a fraction between 0 and 1."})


class ModelComparison(models.Model):
    """A candidate and the champion of the day evaluated on the same held-out examples."""

    candidate = models.ForeignKey("assistant.ModelVersion", on_delete=models.CASCADE, related_name="comparisons")
    champion = models.ForeignKey("assistant.ModelVersion", on_delete=models.CASCADE, related_name="+")
    held_out_size = models.PositiveIntegerField()
    held_out_fingerprint = models.CharField(max_length=64)
    candidate_metrics = models.JSONField(default=dict)
    champion_metrics = models.JSONField(default=dict)
    # [{"text", "label", "champion", "candidate"}]: held-out examples whose prediction changed (at most 500).
    changed = models.JSONField(default=list, blank=True)
    changed_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.candidate} vs {self.champion}"


class GateDecision(models.Model):
    """What the promotion gate made of a challenger: promoted, waiting (for shadow traffic or an ML admin)."""

    class Outcome(models.TextChoices):
        PROMOTED = "promoted", "Promoted"
        NEEDS_ADMIN = "needs_admin", "Waiting for an ML admin"
        WAITING_SHADOW = "waiting_shadow", "Waiting for shadow traffic"

    version = models.ForeignKey("assistant.ModelVersion", on_delete=models.CASCADE, related_name="gate_decisions")
    champion = models.ForeignKey("assistant.ModelVersion", on_delete=models.SET_NULL, null=True, related_name="+")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    reasons = models.JSONField(default=list)
    held_out_delta = models.FloatField(null=True, blank=True)
    shadow = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.version}: {self.get_outcome_display()}"
