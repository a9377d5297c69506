from django.db import models
from django.db.models.functions import Lower


class Customer(models.Model):
    """A person the desk serves, identified by the host site's own id when it has one."""

    external_id = models.CharField(
        max_length=100, null=True, blank=True, unique=True, help_text="The host site's id for this customer."
    )
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    locale = models.CharField(max_length=16, default="en")
    # Free-form facts from the host site, e.g. {"tier": "gold", "segment": "student"}.
    attributes = models.JSONField(default=dict, blank=True)
    consent_marketing = models.BooleanField(default=False)
    consent_model_training = models.BooleanField(
        default=True, help_text="Whether this customer's redacted messages may be used to train models."
    )
    # Set when the customer was erased (GDPR) or anonymised by the retention policy; their data is gone.
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(Lower("email"), name="customer_email_lower_idx"),
            models.Index(fields=["created_at"], name="customer_created_idx"),
        ]

    def __str__(self) -> str:
        return self.name or self.email or f"Customer #{self.pk}"

    @property
    def tier(self) -> str:
        return str(self.attributes.get("tier", ""))
