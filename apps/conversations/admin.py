from django.contrib import admin
from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from apps.accounts.selectors import work_scope
from apps.conversations.models import CannedReply, Conversation, Message, SatisfactionSurvey
from apps.conversations.services import conversation_close
from apps.tickets.sla_selectors import ticket_breach_list


class _ViewOnly:
    """Rows written by the chat's services (message_post, survey_submit), never typed into a form."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def _intent_with_confidence(message: Message) -> str:
    if not message.intent:
        return ""
    if message.intent_confidence is None:
        return message.intent
    return f"{message.intent} ({message.intent_confidence:.2f})"


def _message_count() -> Coalesce:
    # A correlated subquery rather than Count("messages"): searching messages__text joins messages a second
    # time, which would multiply a joined count by the number of matching messages.
    counted = (
        Message.objects.filter(conversation=OuterRef("pk"))
        .order_by()
        .values("conversation")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counted), 0)


class TranscriptInline(_ViewOnly, admin.TabularInline):
    """The conversation's messages in seq order; private notes get their own row style."""

    model = Message
    template = "admin/conversations/conversation/transcript_inline.html"
    verbose_name_plural = "transcript"
    fields = ("seq", "role", "text", "author", "intent_with_confidence", "decision_with_reason", "created_at")
    readonly_fields = fields
    ordering = ("seq",)
    extra = 0
    can_delete = False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        return super().get_queryset(request).select_related("author")

    @admin.display(description="intent (confidence)")
    def intent_with_confidence(self, message: Message) -> str:
        return _intent_with_confidence(message)

    @admin.display(description="decision")
    def decision_with_reason(self, message: Message) -> str:
        if not message.decision:
            return ""
        if not message.decision_reason:
            return message.get_decision_display()
        return format_html('<span title="{}">{}</span>', message.decision_reason, message.get_decision_display())


_ROUTING_FIELDS = ("customer_link", "channel", "state", "team", "assignee", "ticket_link", "ticket_breaches")
_TIMELINE_FIELDS = ("created_at", "last_message_at", "handoff_requested_at", "first_agent_response_at", "closed_at")


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "customer",
        "state",
        "channel",
        "team",
        "assignee",
        "last_message_at",
        "message_count",
        "csat_rating",
        "created_at",
    )
    list_display_links = ("id", "customer")
    list_filter = ("state", "channel", "team", ("assignee", admin.RelatedOnlyFieldListFilter), "survey__rating")
    search_fields = (
        "id__exact",
        "customer__name",
        "customer__email",
        "customer__external_id",
        "messages__text",
    )
    date_hierarchy = "created_at"
    inlines = (TranscriptInline,)
    actions = ("close_conversations",)
    # State, routing and assignment are moved by the chat's services (which also broadcast to the inbox);
    # the admin reads conversations and closes them, nothing else.
    fieldsets = (
        (None, {"fields": _ROUTING_FIELDS}),
        ("Timeline", {"fields": _TIMELINE_FIELDS}),
        ("Satisfaction", {"fields": ("survey_display",)}),
    )
    readonly_fields = (*_ROUTING_FIELDS, *_TIMELINE_FIELDS, "survey_display")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversation]:
        return (
            super()
            .get_queryset(request)
            # Here rather than in list_select_related: the changelist skips list_select_related whenever
            # get_queryset has already selected something.
            .select_related("customer", "team", "assignee", "ticket", "survey")
            .filter(work_scope(user=request.user).q())
            .annotate(message_count=_message_count(), csat_rating=F("survey__rating"))
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Conversations start at the widget, email or API (conversation_start), never in the back office.
        return False

    @admin.display(description="messages", ordering="message_count")
    def message_count(self, conversation: Conversation) -> int:
        return conversation.message_count

    @admin.display(description="CSAT", ordering="csat_rating")
    def csat_rating(self, conversation: Conversation) -> int | None:
        return conversation.csat_rating

    @admin.display(description="customer")
    def customer_link(self, conversation: Conversation) -> str:
        url = reverse("admin:customers_customer_change", args=[conversation.customer_id])
        return format_html('<a href="{}">{}</a>', url, conversation.customer)

    @admin.display(description="ticket")
    def ticket_link(self, conversation: Conversation) -> str | None:
        if conversation.ticket is None:
            return None
        url = reverse("admin:tickets_ticket_change", args=[conversation.ticket_id])
        return format_html('<a href="{}">{}</a>', url, conversation.ticket)

    @admin.display(description="SLA breaches")
    def ticket_breaches(self, conversation: Conversation) -> str | None:
        if conversation.ticket_id is None:
            return None
        breaches = ticket_breach_list(ticket_id=conversation.ticket_id)
        overdue = (
            (breach.get_kind_display(), formats.localize(timezone.localtime(breach.due_at))) for breach in breaches
        )
        return format_html_join(mark_safe("<br>"), "{} overdue since {}", overdue) or None

    @admin.display(description="survey")
    def survey_display(self, conversation: Conversation) -> str:
        survey = getattr(conversation, "survey", None)
        if survey is None:
            return "Not rated"
        return format_html(
            "<strong>{}/5</strong> on {}<br>{}",
            survey.rating,
            formats.localize(timezone.localtime(survey.updated_at)),
            survey.comment or "(no comment)",
        )

    @admin.action(description="Close selected conversations", permissions=["change"])
    def close_conversations(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> None:
        closing = list(queryset.exclude(state=Conversation.State.CLOSED))
        for conversation in closing:
            conversation_close(conversation=conversation)
        self.message_user(request, f"Closed {len(closing)} conversation(s).")


@admin.register(Message)
class MessageAdmin(_ViewOnly, admin.ModelAdmin):
    list_display = (
        "id",
        "conversation",
        "seq",
        "role",
        "short_text",
        "author",
        "intent_with_confidence",
        "decision",
        "escalate",
        "created_at",
    )
    list_filter = ("role", "decision", "escalate", "created_at")
    list_select_related = ("conversation", "author")
    search_fields = ("text", "intent", "conversation__id__exact")
    date_hierarchy = "created_at"
    raw_id_fields = ("conversation", "author")

    @admin.display(description="text")
    def short_text(self, message: Message) -> str:
        return truncatechars(message.text, 80)

    @admin.display(description="intent (confidence)", ordering="intent")
    def intent_with_confidence(self, message: Message) -> str:
        return _intent_with_confidence(message)


@admin.register(SatisfactionSurvey)
class SatisfactionSurveyAdmin(_ViewOnly, admin.ModelAdmin):
    list_display = ("conversation", "rating", "short_comment", "created_at", "updated_at")
    list_filter = ("rating", "created_at")
    list_select_related = ("conversation",)
    search_fields = ("comment", "conversation__customer__name", "conversation__customer__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("conversation",)

    @admin.display(description="comment")
    def short_comment(self, survey: SatisfactionSurvey) -> str:
        return truncatechars(survey.comment, 80)


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ("title", "shortcut", "team", "short_text", "updated_at")
    list_filter = ("team",)
    list_select_related = ("team",)
    search_fields = ("title", "shortcut", "text")
    prepopulated_fields = {"shortcut": ("title",)}

    @admin.display(description="text")
    def short_text(self, reply: CannedReply) -> str:
        return truncatechars(reply.text, 80)
