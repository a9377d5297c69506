"""The JSON of tickets. Output serializers only read; input serializers only validate, services write."""

from typing import Any

from rest_framework import serializers

from apps.accounts.models import Team
from apps.accounts.permissions import user_list_with_role
from apps.accounts.roles import AGENTS
from apps.customers.serializers import ID_MAX_VALUE, CustomerSummarySerializer, RejectUnknownFieldsMixin
from apps.tickets.models import Priority, SLABreach, Ticket, TicketChange
from apps.tickets.services import EDITABLE_FIELDS


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(source="get_username", read_only=True)


class TeamSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "slug", "name"]
        read_only_fields = fields


class TicketChangeSerializer(serializers.ModelSerializer):
    actor = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = TicketChange
        fields = ["id", "field", "old_value", "new_value", "actor", "comment", "created_at"]
        read_only_fields = fields


class SLABreachSerializer(serializers.ModelSerializer):
    class Meta:
        model = SLABreach
        fields = ["id", "kind", "due_at", "detected_at", "escalated_at", "escalation"]
        read_only_fields = fields


class TicketSerializer(serializers.ModelSerializer):
    customer = CustomerSummarySerializer(read_only=True)
    team = TeamSummarySerializer(read_only=True, allow_null=True)
    assignee = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "subject",
            "description",
            "status",
            "priority",
            "customer",
            "team",
            "assignee",
            "intent",
            "first_response_due_at",
            "resolution_due_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
            "merged_into",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TicketDetailSerializer(TicketSerializer):
    """A ticket with its audit trail, oldest change first, and the SLA targets it missed."""

    changes = TicketChangeSerializer(many=True, read_only=True)
    sla_breaches = SLABreachSerializer(many=True, read_only=True)

    class Meta(TicketSerializer.Meta):
        fields = [*TicketSerializer.Meta.fields, "changes", "sla_breaches"]
        read_only_fields = fields


def _assignable_users() -> Any:
    # Tickets are worked by agents; the Admin role (superusers) may take one too.
    return user_list_with_role(AGENTS)


class TicketCreateSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    assignee = serializers.PrimaryKeyRelatedField(queryset=_assignable_users(), required=False, allow_null=True)

    class Meta:
        model = Ticket
        fields = ["customer", "subject", "description", "priority", "team", "assignee", "intent"]
        # Text is stored as sent; the API never renders it as HTML.
        extra_kwargs = {"description": {"trim_whitespace": False}}


class TicketUpdateSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """The fields of tickets.services.EDITABLE_FIELDS, each optional, plus a comment for the audit rows."""

    assignee = serializers.PrimaryKeyRelatedField(queryset=_assignable_users(), required=False, allow_null=True)
    comment = serializers.CharField(
        max_length=TicketChange._meta.get_field("comment").max_length,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="Why; stored on every audit row this change writes.",
    )

    class Meta:
        model = Ticket
        fields = [*EDITABLE_FIELDS, "comment"]
        extra_kwargs = {
            "description": {"trim_whitespace": False},
            **{field: {"required": False} for field in EDITABLE_FIELDS},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not set(attrs) & set(EDITABLE_FIELDS):
            raise serializers.ValidationError(f"Name at least one of {list(EDITABLE_FIELDS)} to change.")
        return attrs


class TicketFilterSerializer(serializers.Serializer):
    """The query parameters of the ticket list; each narrows it."""

    status = serializers.ChoiceField(choices=Ticket.Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    team = serializers.IntegerField(
        source="team_id", required=False, min_value=1, max_value=ID_MAX_VALUE, help_text="Team id."
    )
    assignee = serializers.IntegerField(
        source="assignee_id", required=False, min_value=1, max_value=ID_MAX_VALUE, help_text="User id."
    )
