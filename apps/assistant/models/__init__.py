"""The model registry (MLflow's vocabulary) and the training data every model learns from."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from apps.assistant.policy import PolicySettings


class ModelKind(models.TextChoices):
    INTENT = "intent", "Intent + out-of-scope"
    SENTIMENT = "sentiment", "Sentiment / escalation"
    SATISFACTION = "satisfaction", "Satisfaction prediction"
    RETRIEVAL = "retrieval", "Knowledge retrieval"
    REPLY = "reply", "Reply generation"
    RECOMMENDER = "recommender", "Recommendations"


class RegisteredModel(models.Model):
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=ModelKind.choices)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.TRAINING)
    artifact_path = models.CharField(max_length=500, blank=True, help_text="Folder relative to MODEL_STORE.")
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    # Metrics on the model's fixed held-out split, e.g. {"accuracy": 0.93, "macro_f1": 0.92}.
    metrics = models.JSONField(default=dict, blank=True)
    training_size = models.PositiveIntegerField(default=0)
    data_fingerprint = models.CharField(max_length=64, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    code_version = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    notes = models.TextField(blank=True)
    # Touched by every progress report while the version trains: a redelivered training task finding it
    # recent knows another worker is still at it (a training can outlast the broker's visibility timeout).
    progress_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["model", "-version"]
        constraints = [models.UniqueConstraint(fields=["model", "version"], name="modelversion_unique_version")]

    def __str__(self) -> str:
        return f"{self.model.name} v{self.version}"


class ModelAlias(models.Model):
    """A named pointer at a version: ``champion`` serves traffic, ``challenger`` runs in shadow."""

    class Name(models.TextChoices):
        CHAMPION = "champion", "Champion"
        CHALLENGER = "challenger", "Challenger"

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=20, choices=Name.choices)
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="aliases")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "model aliases"
        constraints = [models.UniqueConstraint(fields=["model", "alias"], name="alias_unique_per_model")]

    def __str__(self) -> str:
        return f"{self.model.name}@{self.alias}"


class AliasChange(models.Model):
    """Append-only history of alias moves: who moved which alias from which version to which, and why."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="alias_changes")
    alias = models.CharField(max_length=20, choices=ModelAlias.Name.choices)
    from_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.model.name}@{self.alias}: {self.from_version_id} → {self.to_version_id}"


class ModelEvaluation(models.Model):
    """One evaluation of a version, run by a Celery worker: on the model's held-out split (which also
    replaces the version's metrics) or on an uploaded labelled file, whose rows are kept here until it runs."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="evaluations")
    data_name = models.CharField(max_length=200, help_text="The file evaluated on, or the held-out split.")
    held_out = models.BooleanField(default=False)
    rows = models.JSONField(default=list, blank=True, help_text="[text, label] pairs of an uploaded file.")
    size = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    metrics = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.version} on {self.data_name}"


class TrainingExample(models.Model):
    """One labelled text for one kind of model, deduplicated on (kind, text, label, signal).

    A positive example says the text has the label; a negative one says it does not (the bot answered that
    intent and the customer said it did not help, handed over, or rated the chat low): negatives never train a
    model, they wait in the review queue for an ML admin to give the right label or reject them."""

    class Source(models.TextChoices):
        IMPORT = "import", "Import"
        AGENT_CORRECTION = "agent_correction", "Agent correction"
        FEEDBACK = "feedback", "Did this help"
        SUGGESTION = "suggestion", "Suggestion used or rejected"
        RATING = "rating", "Conversation rating"
        HANDOFF = "handoff", "Handoff after a bot answer"
        DEMO = "demo", "Demo seed"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending review"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    class Signal(models.TextChoices):
        POSITIVE = "positive", "Is this label"
        NEGATIVE = "negative", "Is not this label"

    kind = models.CharField(max_length=20, choices=ModelKind.choices)
    text = models.TextField()
    label = models.CharField(max_length=100)
    text_sha256 = models.CharField(max_length=64, editable=False)
    source = models.CharField(max_length=20, choices=Source.choices)
    source_ref = models.CharField(max_length=200, blank=True, help_text="e.g. the message or file line it came from")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACCEPTED)
    signal = models.CharField(max_length=10, choices=Signal.choices, default=Signal.POSITIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the status last changed (at creation for examples accepted as they arrive): what "new accepted
    # examples since the champion was trained" counts.
    status_changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "text_sha256", "label", "signal"], name="example_unique_text_label_signal"
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "status"], name="example_kind_status_idx"),
            models.Index(fields=["kind", "text_sha256"], name="example_kind_text_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{'not ' if self.signal == self.Signal.NEGATIVE else ''}{self.label}"


class ReplyBackend(models.TextChoices):
    EXTRACTIVE = "extractive", "Extractive: the retrieved passage"
    LOCAL = "local", "Local language model"
    OPENAI = "openai", "OpenAI-compatible endpoint"


class PolicyConfig(models.Model):
    """The dialogue policy's settings, one row edited in the admin (apps.assistant.policy reads it)."""

    answer_confidence = models.FloatField(
        default=0.5, help_text="The bot answers an intent predicted with at least this calibrated confidence."
    )
    clarify_margin = models.FloatField(
        default=0.2, help_text="When the top two intents are closer than this, the bot asks which one is meant."
    )
    clarify_confidence = models.FloatField(
        default=0.2, help_text="The second intent must reach this confidence to be offered as an option."
    )
    retrieval_min_score = models.FloatField(
        default=0.3, help_text="Cosine similarity the best passage must reach to be given as an answer."
    )
    handoff_sentiment = models.FloatField(
        default=-0.6, help_text="A message at or below this sentiment score goes to a person."
    )
    max_out_of_scope = models.PositiveSmallIntegerField(
        default=2, help_text="Consecutive messages the bot cannot place before it hands over."
    )
    max_failed_answers = models.PositiveSmallIntegerField(
        default=2, help_text="Answers that did not help (a 'no', or a repeat of the question) before it hands over."
    )
    at_risk_satisfaction = models.FloatField(
        default=2.5,
        help_text="A conversation whose predicted satisfaction (1-5) falls to this is marked at risk, moved up the "
        "agents' queue, and handed over when it is with the bot.",
    )
    reply_backend = models.CharField(max_length=20, choices=ReplyBackend.choices, default=ReplyBackend.EXTRACTIVE)
    # {"intent label": "backend"}: e.g. the local model for chatty intents, extractive for fees and limits.
    reply_backend_by_intent = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "dialogue policy"
        verbose_name_plural = "dialogue policy"

    def __str__(self) -> str:
        return "Dialogue policy"

    def clean(self) -> None:
        errors = {}
        for name in ("answer_confidence", "clarify_margin", "clarify_confidence", "retrieval_min_score"):
            if not 0 <= getattr(self, name) <= 1:
                errors[name] = "Between 0 and 1."
        if not -1 <= self.handoff_sentiment <= 1:
            errors["handoff_sentiment"] = "Between -1 and 1."
        if not 1 <= self.at_risk_satisfaction <= 5:
            errors["at_risk_satisfaction"] = "Between 1 and 5."
        mapping = self.reply_backend_by_intent
        if not isinstance(mapping, dict):
            errors["reply_backend_by_intent"] = 'An object such as {"card_arrival": "local"}.'
        else:
            wrong = {intent: backend for intent, backend in mapping.items() if backend not in ReplyBackend.values}
            if wrong:
                errors["reply_backend_by_intent"] = (
                    f"Unknown backend for {', '.join(sorted(wrong))}; use one of {', '.join(ReplyBackend.values)}."
                )
        if errors:
            raise ValidationError(errors)

    def as_settings(self) -> PolicySettings:
        return PolicySettings(
            answer_confidence=self.answer_confidence,
            clarify_margin=self.clarify_margin,
            clarify_confidence=self.clarify_confidence,
            retrieval_min_score=self.retrieval_min_score,
            handoff_sentiment=self.handoff_sentiment,
            max_out_of_scope=self.max_out_of_scope,
            max_failed_answers=self.max_failed_answers,
            at_risk_satisfaction=self.at_risk_satisfaction,
        )

    def backend_for(self, intent: str) -> str:
        return (self.reply_backend_by_intent or {}).get(intent) or self.reply_backend


class SuggestionUse(models.Model):
    """What an agent did with the replies suggested for one customer message: sent one as is, sent one edited,
    or answered without them (recorded once per message). The acceptance rate is (used + edited) / all."""

    class Outcome(models.TextChoices):
        USED = "used", "Used as is"
        EDITED = "edited", "Edited, then sent"
        IGNORED = "ignored", "Ignored"

    class Source(models.TextChoices):
        KNOWLEDGE = "knowledge", "Knowledge base"
        PAST_REPLY = "past_reply", "Past agent reply"

    message = models.ForeignKey(
        "conversations.Message",
        on_delete=models.CASCADE,
        related_name="suggestion_uses",
        help_text="The customer's message the suggestions were for.",
    )
    reply = models.ForeignKey(
        "conversations.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The agent's reply that carried the suggestion; empty when the suggestions were ignored.",
    )
    suggestion_id = models.CharField(max_length=64, blank=True, help_text='e.g. "kb:12" or "reply:345"')
    source = models.CharField(max_length=20, choices=Source.choices, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["message"], condition=models.Q(outcome="ignored"), name="suggestionuse_ignored_once"
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="suggestionuse_created_idx")]

    def __str__(self) -> str:
        return f"{self.outcome} {self.suggestion_id or '—'} for message {self.message_id}"


class RatedDialogue(models.Model):
    """A conversation with satisfaction ratings, imported for the satisfaction model to learn from (USS data
    set, JSONL exports; ``survey`` is for the desk's own when stored). apps/assistant/dialogues.py reads and
    writes them; the desk's surveyed conversations are read from their messages as they are."""

    class Source(models.TextChoices):
        USS = "uss", "USS data set"
        JSONL = "jsonl", "JSONL import"
        SURVEY = "survey", "Desk survey"

    source = models.CharField(max_length=10, choices=Source.choices)
    external_id = models.CharField(max_length=200, help_text="The id in its source, e.g. SGD:17 for a USS file.")
    # [{"role": "customer"|"agent"|"bot", "text": str, "rating": 1-5 or null}, ...] in conversation order.
    turns = models.JSONField(default=list)
    csat = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The rating (1-5) of the whole conversation, when there is one."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="rateddialogue_unique_source_id"),
            models.CheckConstraint(
                condition=models.Q(csat__isnull=True) | models.Q(csat__gte=1, csat__lte=5),
                name="rateddialogue_csat_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


# The learning loop's models live beside these; imported last, they refer to the ones above by name.
from apps.assistant.models.learning import GateDecision, LearningLoopConfig, ModelComparison  # noqa: E402

__all__ = [
    "AliasChange",
    "GateDecision",
    "LearningLoopConfig",
    "ModelAlias",
    "ModelComparison",
    "ModelEvaluation",
    "ModelKind",
    "ModelVersion",
    "PolicyConfig",
    "RatedDialogue",
    "RegisteredModel",
    "ReplyBackend",
    "SuggestionUse",
    "TrainingExample",
]
