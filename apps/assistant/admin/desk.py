"""How the assistant behaves at the desk: the dialogue policy, the rated dialogues it learns satisfaction from,
and how agents use suggested replies. Training examples and the learning loop: admin/learning.py."""

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.template.defaultfilters import truncatechars
from django.urls import reverse

from apps.assistant.models import (
    PolicyConfig,
    RatedDialogue,
    SuggestionUse,
)
from apps.assistant.selectors import suggestion_acceptance_of
from helpdesk.admin_base import AppendOnlyAdminMixin


@admin.register(PolicyConfig)
class PolicyConfigAdmin(admin.ModelAdmin):
    """One row: the dialogue policy's thresholds and the reply backend (per intent where it differs)."""

    list_display = (
        "__str__",
        "answer_confidence",
        "clarify_margin",
        "retrieval_min_score",
        "reply_backend",
        "updated_at",
    )
    readonly_fields = ("updated_at", "updated_by")
    fieldsets = (
        ("When the bot answers", {"fields": ("answer_confidence", "retrieval_min_score")}),
        ("When it asks", {"fields": ("clarify_margin", "clarify_confidence")}),
        (
            "When it hands over",
            {"fields": ("handoff_sentiment", "at_risk_satisfaction", "max_out_of_scope", "max_failed_answers")},
        ),
        ("How it words answers", {"fields": ("reply_backend", "reply_backend_by_intent")}),
        (None, {"fields": ("updated_at", "updated_by")}),
    )

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        # One row (checked here, not in has_add_permission, which every admin page's sidebar calls).
        config = PolicyConfig.objects.order_by("pk").first()
        if config is not None:
            return HttpResponseRedirect(reverse("admin:assistant_policyconfig_change", args=[config.pk]))
        return super().add_view(request, form_url, extra_context)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: PolicyConfig, form: forms.ModelForm, change: bool) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


def _acceptance_line(figures: dict) -> str:
    if not figures["total"]:
        return "No suggestion use recorded here."
    return (
        f"Acceptance rate {figures['acceptance_rate']:.1%}: used {figures['used']}, edited {figures['edited']}, "
        f"ignored {figures['ignored']} of {figures['total']}"
    )


@admin.register(SuggestionUse)
class SuggestionUseAdmin(AppendOnlyAdminMixin, admin.ModelAdmin):
    """What agents did with the suggested replies, written by the inbox (apps.assistant.suggestion_services)
    and only read here. The header gives the acceptance rate of the rows listed, so the filters (outcome,
    source, agent, dates) narrow it too."""

    list_display = ("created_at", "outcome", "source", "suggestion_id", "agent", "customer_text", "reply_text")
    list_filter = ("outcome", "source", ("agent", admin.RelatedOnlyFieldListFilter), "created_at")
    list_select_related = ("message", "reply", "agent")
    search_fields = ("suggestion_id", "message__text", "reply__text")
    date_hierarchy = "created_at"

    @admin.display(description="customer's message")
    def customer_text(self, use: SuggestionUse) -> str:
        return truncatechars(use.message.text, 80)

    @admin.display(description="reply sent")
    def reply_text(self, use: SuggestionUse) -> str:
        return truncatechars(use.reply.text, 80) if use.reply else "—"

    def changelist_view(self, request: HttpRequest, extra_context=None):
        response = super().changelist_view(request, extra_context)
        # The filtered rows exist only once the changelist is built, so the rate joins the context afterwards.
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            response.context_data["subtitle"] = _acceptance_line(suggestion_acceptance_of(uses=changelist.queryset))
        return response


@admin.register(RatedDialogue)
class RatedDialogueAdmin(admin.ModelAdmin):
    """Rated conversations the satisfaction model learns from, written by ``manage.py import_conversations``:
    read here, deleted here (a bad import), never edited (import the file again to replace a conversation)."""

    list_display = ("external_id", "source", "turn_count", "rated_turns", "csat", "created_at")
    list_filter = ("source", "csat", "created_at")
    search_fields = ("external_id",)
    readonly_fields = ("source", "external_id", "csat", "created_at", "transcript")
    exclude = ("turns",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RatedDialogue | None = None) -> bool:
        return False

    @admin.display(description="turns")
    def turn_count(self, dialogue: RatedDialogue) -> int:
        return len(dialogue.turns)

    @admin.display(description="rated turns")
    def rated_turns(self, dialogue: RatedDialogue) -> int:
        return sum(turn.get("rating") is not None for turn in dialogue.turns)

    @admin.display(description="transcript")
    def transcript(self, dialogue: RatedDialogue) -> str:
        return "\n".join(
            f"{turn['role']}: {turn['text']}" + (f"  [rated {turn['rating']}]" if turn.get("rating") else "")
            for turn in dialogue.turns
        )
