import json

from django import forms
from django.contrib import admin
from django.db.models import Count, Model, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.conversations.models import Conversation
from apps.customers.models import Customer
from apps.tickets.models import Ticket
from helpdesk.admin_base import ReadOnlyTabularInline

# A customer's change page shows the most recent ones inline and links to the filtered changelist for the rest.
RECENT_INLINE_ROWS = 10


def _count_per_customer(model: type[Model]) -> Subquery:
    # A correlated subquery per related table: two Count() joins would multiply each other's rows.
    counted = (
        model.objects.filter(customer=OuterRef("pk"))
        .order_by()
        .values("customer")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counted), 0)


class _RecentFormSet(BaseInlineFormSet):
    """Only the newest RECENT_INLINE_ROWS of the relation; the rest are a link away."""

    def get_queryset(self):
        if not hasattr(self, "_recent"):
            self._recent = super().get_queryset()[:RECENT_INLINE_ROWS]
        return self._recent


class _RecentRowsInline(ReadOnlyTabularInline):
    formset = _RecentFormSet
    show_change_link = True


class ConversationInline(_RecentRowsInline):
    model = Conversation
    verbose_name_plural = f"recent conversations (newest {RECENT_INLINE_ROWS})"
    fields = ("state", "channel", "team", "assignee", "last_message_at", "created_at")
    readonly_fields = fields
    ordering = ("-created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversation]:
        return super().get_queryset(request).select_related("team", "assignee")


class TicketInline(_RecentRowsInline):
    model = Ticket
    verbose_name_plural = f"recent tickets (newest {RECENT_INLINE_ROWS})"
    fields = ("subject", "status", "priority", "team", "assignee", "created_at")
    readonly_fields = fields
    ordering = ("-created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        return super().get_queryset(request).select_related("team", "assignee")


class _IndentedJSONField(forms.JSONField):
    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, cls=self.encoder)


class CustomerForm(forms.ModelForm):
    attributes = _IndentedJSONField(
        required=False, widget=forms.Textarea(attrs={"rows": 8, "cols": 60, "style": "font-family: monospace"})
    )

    class Meta:
        model = Customer
        fields = (
            "external_id",
            "name",
            "email",
            "locale",
            "attributes",
            "consent_marketing",
            "consent_model_training",
        )

    def clean_attributes(self):
        attributes = self.cleaned_data["attributes"]
        if attributes is None:
            return {}
        if not isinstance(attributes, dict):
            raise forms.ValidationError('Attributes are a JSON object, e.g. {"tier": "gold"}.')
        return attributes


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    form = CustomerForm
    list_display = (
        "id",
        "name",
        "email",
        "external_id",
        "tier",
        "locale",
        "conversation_count",
        "ticket_count",
        "consent_model_training",
        "created_at",
    )
    list_display_links = ("id", "name")
    list_filter = ("locale", "consent_marketing", "consent_model_training", "created_at")
    search_fields = ("name", "email", "external_id", "id__exact")
    date_hierarchy = "created_at"
    readonly_fields = ("related_links", "attributes_display", "created_at", "updated_at")
    inlines = (ConversationInline, TicketInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                conversation_count=_count_per_customer(Conversation),
                ticket_count=_count_per_customer(Ticket),
            )
        )

    def get_fieldsets(self, request: HttpRequest, obj: Customer | None = None):
        # Who may edit gets an indented JSON textarea; who may only look gets the same JSON as a <pre>.
        attributes = "attributes" if self.has_change_permission(request, obj) else "attributes_display"
        fieldsets = [
            (None, {"fields": ("external_id", "name", "email", "locale")}),
            ("Attributes from the host site", {"fields": (attributes,)}),
            ("Consent", {"fields": ("consent_marketing", "consent_model_training")}),
        ]
        if obj is not None:
            fieldsets.append(("History", {"fields": ("related_links", "created_at", "updated_at")}))
        return fieldsets

    @admin.display(description="tier", ordering="attributes__tier")
    def tier(self, customer: Customer) -> str:
        return customer.tier

    @admin.display(description="conversations", ordering="conversation_count")
    def conversation_count(self, customer: Customer) -> int:
        return customer.conversation_count

    @admin.display(description="tickets", ordering="ticket_count")
    def ticket_count(self, customer: Customer) -> int:
        return customer.ticket_count

    @admin.display(description="attributes")
    def attributes_display(self, customer: Customer) -> str:
        return format_html(
            '<pre style="margin: 0">{}</pre>',
            json.dumps(customer.attributes, ensure_ascii=False, indent=2, sort_keys=True),
        )

    @admin.display(description="all of this customer's")
    def related_links(self, customer: Customer) -> str:
        conversations = reverse("admin:conversations_conversation_changelist")
        tickets = reverse("admin:tickets_ticket_changelist")
        return format_html(
            '<a href="{}?customer__id__exact={}">conversations ({})</a> · '
            '<a href="{}?customer__id__exact={}">tickets ({})</a>',
            conversations,
            customer.pk,
            customer.conversation_count,
            tickets,
            customer.pk,
            customer.ticket_count,
        )
