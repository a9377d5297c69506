"""The reports API's query parameters (validated here, turned into ReportFilters) and its output shapes."""

from rest_framework import serializers

from apps.conversations.models import Conversation
from apps.customers.serializers import ID_MAX_VALUE
from apps.reports.selectors import Dimension, LeaderboardSort, Period, ReportFilters

BREAKDOWN_CHOICES = [*Dimension.values, "period"]
MAX_COMMENTS = 500


class ReportQuerySerializer(serializers.Serializer):
    """Filters shared by every report endpoint. Without dates: every closed conversation. An agent's
    figures are always their own: ``agent`` may only name themselves."""

    date_from = serializers.DateField(required=False, help_text="First day (inclusive), desk time zone.")
    date_to = serializers.DateField(required=False, help_text="Last day (inclusive), desk time zone.")
    team = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX_VALUE, help_text="Team id.")
    agent = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX_VALUE, help_text="Agent (user) id.")
    intent = serializers.CharField(required=False, max_length=100)
    channel = serializers.ChoiceField(required=False, choices=Conversation.Channel.choices)

    def validate(self, attrs: dict) -> dict:
        if "date_from" in attrs and "date_to" in attrs and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": "must not be before date_from"})
        return attrs

    def report_filters(self, *, agent_id: int | None) -> ReportFilters:
        data = self.validated_data
        return ReportFilters(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            team_id=data.get("team"),
            agent_id=agent_id,
            intent=data.get("intent"),
            channel=data.get("channel"),
        )


class BreakdownQuerySerializer(ReportQuerySerializer):
    by = serializers.ChoiceField(choices=BREAKDOWN_CHOICES, default=Dimension.TEAM)
    period = serializers.ChoiceField(choices=Period.choices, default=Period.WEEK, help_text="With by=period.")


class LeaderboardQuerySerializer(ReportQuerySerializer):
    sort = serializers.ChoiceField(choices=LeaderboardSort.choices, default=LeaderboardSort.CONVERSATIONS)
    order = serializers.ChoiceField(choices=["desc", "asc"], default="desc")


class CommentsQuerySerializer(ReportQuerySerializer):
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=MAX_COMMENTS)


class FiguresSerializer(serializers.Serializer):
    """Shares are fractions (0-1), times seconds; null where there is nothing to measure."""

    key = serializers.JSONField(
        read_only=True, help_text="The agent's or team's id, the intent, the channel, or the period's first day."
    )
    label = serializers.CharField(read_only=True)
    conversations = serializers.IntegerField(read_only=True)
    rated = serializers.IntegerField(read_only=True)
    csat = serializers.FloatField(read_only=True, allow_null=True, help_text="Share of ratings 4-5 among rated.")
    mean_rating = serializers.FloatField(read_only=True, allow_null=True)
    handed_over = serializers.IntegerField(read_only=True)
    response_rate = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Share of handed-over conversations an agent replied in."
    )
    handoff_rate = serializers.FloatField(read_only=True, allow_null=True)
    containment_rate = serializers.FloatField(read_only=True, allow_null=True)
    first_response_median = serializers.FloatField(read_only=True, allow_null=True)
    first_response_p90 = serializers.FloatField(read_only=True, allow_null=True)
    resolution_median = serializers.FloatField(read_only=True, allow_null=True)
    resolution_p90 = serializers.FloatField(read_only=True, allow_null=True)
    suggestions = serializers.IntegerField(read_only=True)
    suggestion_acceptance = serializers.FloatField(read_only=True, allow_null=True)
    reviewed = serializers.IntegerField(read_only=True, help_text="Conversations reviewed by a team lead.")
    review_score = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Mean of the reviewed conversations' review scores (1-5)."
    )
    sla_breaches = serializers.IntegerField(read_only=True, help_text="SLA targets their tickets missed.")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        key = instance.key
        data["key"] = key.isoformat() if hasattr(key, "isoformat") else key
        return data


class HeatmapSerializer(serializers.Serializer):
    weekdays = serializers.ListField(child=serializers.CharField(), read_only=True)
    cells = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        read_only=True,
        help_text="cells[weekday][hour]: conversations started; Monday first, hours 0-23.",
    )


class CalibrationRowSerializer(serializers.Serializer):
    key = serializers.IntegerField(read_only=True, help_text="The actual rating, or the prediction rounded.")
    conversations = serializers.IntegerField(read_only=True)
    mean_predicted = serializers.FloatField(read_only=True, allow_null=True)
    mean_rating = serializers.FloatField(read_only=True, allow_null=True)


class CalibrationSerializer(serializers.Serializer):
    by_rating = CalibrationRowSerializer(many=True, read_only=True)
    by_prediction = CalibrationRowSerializer(many=True, read_only=True)


class LowRatingCommentSerializer(serializers.Serializer):
    conversation = serializers.IntegerField(source="conversation_id", read_only=True)
    closed_at = serializers.DateTimeField(read_only=True)
    rating = serializers.IntegerField(read_only=True)
    comment = serializers.CharField(read_only=True)
    agent = serializers.CharField(read_only=True)
    team = serializers.CharField(read_only=True)
    intent = serializers.CharField(read_only=True)
    channel = serializers.CharField(read_only=True)
