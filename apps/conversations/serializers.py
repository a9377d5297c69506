"""The JSON of conversations and messages. Output serializers only read; input ones validate, services write."""

from rest_framework import serializers

from apps.conversations.models import Conversation, Message
from apps.customers.serializers import ID_MAX_VALUE, CustomerSummarySerializer, RejectUnknownFieldsMixin
from apps.tickets.serializers import TeamSummarySerializer, UserSummarySerializer


class ConversationSerializer(serializers.ModelSerializer):
    customer = CustomerSummarySerializer(read_only=True)
    team = TeamSummarySerializer(read_only=True, allow_null=True)
    assignee = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Conversation
        fields = [
            "id",
            "customer",
            "ticket",
            "channel",
            "state",
            "team",
            "assignee",
            "last_seq",
            "created_at",
            "updated_at",
            "last_message_at",
            "handoff_requested_at",
            "first_agent_response_at",
            "closed_at",
        ]
        read_only_fields = fields


class MessageSerializer(serializers.ModelSerializer):
    """A message as stored: ``text`` is plain text, never rendered, returned exactly as kept."""

    author = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "conversation",
            "seq",
            "role",
            "text",
            "client_id",
            "author",
            "intent",
            "intent_confidence",
            "sentiment",
            "escalate",
            "predicted_satisfaction",
            "decision",
            "decision_reason",
            "created_at",
        ]
        read_only_fields = fields


class MessagePostSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    # The length limit and the blank check are conversations.services.message_post's, applied once there.
    text = serializers.CharField(
        trim_whitespace=False,
        help_text=f"At most {Message.MAX_TEXT_LENGTH} characters once surrounding whitespace is stripped.",
    )
    role = serializers.ChoiceField(
        choices=[(Message.Role.AGENT, "Reply to the customer"), (Message.Role.NOTE, "Private note for staff")]
    )
    client_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="Your id for this message; sending it again stores nothing new."
    )
    suggestion = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=64,
        help_text='The id of the suggested reply the text came from (e.g. "kb:12"), if one was inserted: whether '
        "it was sent as is or edited counts towards the suggestions' acceptance rate. Ignored for notes.",
    )


class ConversationFilterSerializer(serializers.Serializer):
    """The query parameters of the conversation list; each narrows it."""

    state = serializers.ChoiceField(choices=Conversation.State.choices, required=False)
    team = serializers.IntegerField(
        source="team_id", required=False, min_value=1, max_value=ID_MAX_VALUE, help_text="Team id."
    )
    assignee = serializers.IntegerField(
        source="assignee_id", required=False, min_value=1, max_value=ID_MAX_VALUE, help_text="User id."
    )
    customer = serializers.IntegerField(
        source="customer_id", required=False, min_value=1, max_value=ID_MAX_VALUE, help_text="Customer id."
    )


class MessageListFilterSerializer(serializers.Serializer):
    after_seq = serializers.IntegerField(
        required=False, default=0, min_value=0, help_text="Only messages with a higher seq: the resume cursor."
    )
