"""The model registry (MLflow's vocabulary) and the training data every model learns from."""

from django.conf import settings
from django.db import models


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
    """One labelled text for one kind of model, deduplicated on (kind, text, label)."""

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

    kind = models.CharField(max_length=20, choices=ModelKind.choices)
    text = models.TextField()
    label = models.CharField(max_length=100)
    text_sha256 = models.CharField(max_length=64, editable=False)
    source = models.CharField(max_length=20, choices=Source.choices)
    source_ref = models.CharField(max_length=200, blank=True, help_text="e.g. the message or file line it came from")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACCEPTED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "text_sha256", "label"], name="example_unique_text_label"),
        ]
        indexes = [models.Index(fields=["kind", "status"], name="example_kind_status_idx")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.label}"
