"""The JSON of customers. Output serializers only read; input serializers only validate, services write.

RejectUnknownFieldsMixin lives here because customers is the app the other API apps (tickets, conversations)
already build on; it is plumbing, not customer logic.
"""

from typing import Any

from rest_framework import serializers

from apps.customers.models import Customer
from apps.customers.services import EDITABLE_FIELDS

# The largest id a BigAutoField holds. A filter on a larger one could match nothing, and SQLite cannot even bind
# it (OverflowError: a 500): id filters refuse it with a 400.
ID_MAX_VALUE = 2**63 - 1


class RejectUnknownFieldsMixin:
    """Refuse a body that names a field this serializer does not accept, instead of ignoring it.

    A client that sends ``{"resolved_at": ...}`` or misspells ``priority`` learns so from a 400 rather than
    from a change that silently did not happen.
    """

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({field: ["This field may not be set here."] for field in unknown})
        return super().to_internal_value(data)


class CustomerSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "external_id", "name"]
        read_only_fields = fields


class CustomerSerializer(serializers.ModelSerializer):
    attributes = serializers.DictField(read_only=True, help_text='Facts from the host site, e.g. {"tier": "gold"}.')

    class Meta:
        model = Customer
        fields = [
            "id",
            "external_id",
            "name",
            "email",
            "locale",
            "attributes",
            "consent_marketing",
            "consent_model_training",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CustomerCreateSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    attributes = serializers.DictField(required=False)

    class Meta:
        model = Customer
        fields = ["external_id", *EDITABLE_FIELDS]


class CustomerUpdateSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """The fields of customers.services.EDITABLE_FIELDS, each optional; external_id stays as created."""

    attributes = serializers.DictField(required=False)

    class Meta:
        model = Customer
        fields = list(EDITABLE_FIELDS)
        extra_kwargs = {field: {"required": False} for field in EDITABLE_FIELDS}


class CustomerFilterSerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False, allow_blank=True, help_text="Part of the name, email or external id, any case."
    )
