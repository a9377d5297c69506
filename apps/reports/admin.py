"""The reports' rollup in the back office: read-only (the services write it), with a way to the dashboard."""

from django.contrib import admin
from django.http import HttpRequest

from apps.reports.models import ConversationFact


@admin.register(ConversationFact)
class ConversationFactAdmin(admin.ModelAdmin):
    list_display = [
        "conversation",
        "created_at",
        "closed_at",
        "channel",
        "team",
        "agent",
        "intent",
        "handed_over",
        "first_response_seconds",
        "rating",
        "predicted_satisfaction",
        "review_score",
        "sla_breaches",
    ]
    list_filter = ["channel", "handed_over", "contained_by_bot", "rating", "team"]
    search_fields = ["intent", "comment"]
    date_hierarchy = "created_at"
    list_select_related = ["conversation", "team", "agent"]
    show_full_result_count = False  # a COUNT(*) over every fact on each page view buys nothing

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ConversationFact | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ConversationFact | None = None) -> bool:
        return False
