from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html_join

from apps.accounts.selectors import work_scope
from apps.conversations.selectors import conversation_list
from apps.tickets.admin_actions import TicketLeadActions
from apps.tickets.models import SLAPolicy, Ticket, TicketChange
from apps.tickets.services import EDITABLE_FIELDS, ticket_assign, ticket_create, ticket_set_status, ticket_update
from apps.tickets.sla_admin import SLABreachInline, SLAPolicyForm
from helpdesk.admin_base import AppendOnlyAdminMixin, ReadOnlyTabularInline


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    form = SLAPolicyForm
    list_display = (
        "name",
        "priority",
        "team",
        "first_response_minutes",
        "resolution_minutes",
        "calendar",
        "escalation_team",
        "is_active",
    )
    list_filter = ("is_active", "priority", "team", "calendar")
    list_select_related = ("team", "calendar", "escalation_team")
    search_fields = ("name",)


class TicketChangeInline(ReadOnlyTabularInline):
    """The ticket's audit trail: written only by tickets.services, so nobody adds, edits or removes a row."""

    model = TicketChange
    verbose_name_plural = "history"
    fields = ("created_at", "field", "old_value", "new_value", "actor", "comment")
    readonly_fields = fields
    ordering = ("created_at", "pk")

    def get_queryset(self, request: HttpRequest) -> QuerySet[TicketChange]:
        return super().get_queryset(request).select_related("actor")


class TicketAdminForm(forms.ModelForm):
    change_comment = forms.CharField(
        required=False,
        max_length=TicketChange._meta.get_field("comment").max_length,
        help_text="Why; kept with each change in the history.",
    )

    class Meta:
        model = Ticket
        fields = ("customer", *EDITABLE_FIELDS)


# Fields the services compute: the SLA and its clocks, and the record's own timestamps.
_SERVICE_LEVEL_FIELDS = (
    "sla_policy",
    "first_response_due_at",
    "resolution_due_at",
    "sla_paused_at",
    "sla_paused_minutes",
    "first_response_at",
    "resolved_at",
    "closed_at",
)
_RECORD_FIELDS = ("created_at", "updated_at", "conversation_links", "merged_into", "merged_ticket_links")
_COMPUTED_FIELDS = (*_SERVICE_LEVEL_FIELDS, *_RECORD_FIELDS)


@admin.register(Ticket)
class TicketAdmin(TicketLeadActions, admin.ModelAdmin):
    form = TicketAdminForm
    list_display = (
        "id",
        "subject",
        "customer",
        "status",
        "priority",
        "team",
        "assignee",
        "first_response_due_at",
        "resolution_due_at",
        "created_at",
    )
    list_display_links = ("id", "subject")
    list_filter = ("status", "priority", "team", ("assignee", admin.RelatedOnlyFieldListFilter), "created_at")
    list_select_related = ("customer", "team", "assignee")
    search_fields = ("id__exact", "subject", "description", "intent", "customer__name", "customer__email")
    date_hierarchy = "created_at"
    autocomplete_fields = ("customer",)
    inlines = (SLABreachInline, TicketChangeInline)
    actions = ("mark_resolved", "close", "reopen", "assign_to_me", *TicketLeadActions.lead_actions)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        # An agent works on their teams' tickets, unrouted ones and theirs (accounts.selectors.WorkScope).
        return super().get_queryset(request).filter(work_scope(user=request.user).q())

    def get_fieldsets(self, request: HttpRequest, obj: Ticket | None = None):
        if obj is None:
            # ticket_create decides the first status (new, or open when assigned).
            main = ("customer", "subject", "description", "priority", "team", "assignee", "intent")
            return [(None, {"fields": main})]
        main = ["customer", "subject", "description", "status", "priority", "team", "assignee", "intent"]
        if self.has_change_permission(request, obj):
            main.append("change_comment")
        return [
            (None, {"fields": main}),
            ("Service level", {"fields": _SERVICE_LEVEL_FIELDS}),
            ("Record", {"fields": _RECORD_FIELDS}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Ticket | None = None):
        # No service moves a ticket to another customer, so the customer is fixed once the ticket exists.
        return _COMPUTED_FIELDS if obj is None else ("customer", *_COMPUTED_FIELDS)

    def get_form(self, request: HttpRequest, obj: Ticket | None = None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if "assignee" in form.base_fields:
            # A plain select of active staff (agents may not view users, so a user autocomplete would refuse
            # them), plus the current assignee: were they left out, saving would silently unassign the ticket.
            current = obj.assignee_id if obj is not None else None
            staff = Q(is_staff=True, is_active=True) | Q(pk=current)
            form.base_fields["assignee"].queryset = get_user_model().objects.filter(staff)
        return form

    def save_model(self, request: HttpRequest, obj: Ticket, form: TicketAdminForm, change: bool) -> None:
        """Write through tickets.services, so the admin user is the actor of every audited change."""
        if not change:
            created = ticket_create(
                customer=obj.customer,
                subject=obj.subject,
                description=obj.description,
                priority=obj.priority,
                team=obj.team,
                assignee=obj.assignee,
                intent=obj.intent,
                actor=request.user,
            )
            # The admin goes on to log, redirect and save inlines with ``obj``: make it the stored ticket.
            obj.pk = created.pk
            obj.refresh_from_db()
            return
        changes = {field: form.cleaned_data[field] for field in form.changed_data if field in EDITABLE_FIELDS}
        # ticket_update re-reads the row under a lock and compares with the stored values, not the form's.
        ticket_update(ticket=obj, actor=request.user, comment=form.cleaned_data.get("change_comment", ""), **changes)

    @admin.display(description="merged into this one")
    def merged_ticket_links(self, ticket: Ticket) -> str | None:
        links = format_html_join(
            ", ",
            '<a href="{}">#{}</a>',
            (
                (reverse("admin:tickets_ticket_change", args=[pk]), pk)
                for pk in ticket.merged_tickets.values_list("pk", flat=True)
            ),
        )
        return links or None

    @admin.display(description="conversations")
    def conversation_links(self, ticket: Ticket) -> str | None:
        conversations = conversation_list().filter(ticket=ticket).order_by("created_at")
        links = format_html_join(
            ", ",
            '<a href="{}">#{}</a> ({})',
            (
                (reverse("admin:conversations_conversation_change", args=[c.pk]), c.pk, c.get_state_display())
                for c in conversations
            ),
        )
        return links or None

    def _set_status(self, request: HttpRequest, tickets: QuerySet[Ticket], status: str, done: str) -> None:
        changed, refused = 0, []
        for ticket in tickets:
            try:
                ticket_set_status(ticket=ticket, status=status, actor=request.user, comment="admin action")
            except ValidationError as error:
                refused.append(f"#{ticket.pk}: {'; '.join(error.messages)}")
            else:
                changed += 1
        self.message_user(request, f"{changed} ticket(s) {done}.")
        if refused:
            self.message_user(request, "Refused: " + " | ".join(refused), messages.WARNING)

    @admin.action(description="Mark selected tickets resolved", permissions=["change"])
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._set_status(request, queryset.filter(status__in=Ticket.OPEN_STATUSES), Ticket.Status.RESOLVED, "resolved")

    @admin.action(description="Close selected tickets", permissions=["change"])
    def close(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._set_status(request, queryset.exclude(status=Ticket.Status.CLOSED), Ticket.Status.CLOSED, "closed")

    @admin.action(description="Reopen selected tickets", permissions=["change"])
    def reopen(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._set_status(request, queryset.exclude(status__in=Ticket.OPEN_STATUSES), Ticket.Status.OPEN, "reopened")

    @admin.action(description="Assign selected tickets to me", permissions=["change"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        tickets = list(queryset.exclude(assignee=request.user))
        for ticket in tickets:
            ticket_assign(ticket=ticket, agent=request.user, actor=request.user)
        self.message_user(request, f"{len(tickets)} ticket(s) assigned to you.")


@admin.register(TicketChange)
class TicketChangeAdmin(AppendOnlyAdminMixin, admin.ModelAdmin):
    """View only, for everyone: the history is append-only and written by tickets.services."""

    list_display = ("created_at", "ticket", "field", "old_value", "new_value", "actor", "comment")
    list_filter = ("field", "created_at")
    list_select_related = ("ticket", "actor")
    search_fields = ("ticket__id__exact", "ticket__subject", "field", "old_value", "new_value", "comment")
    date_hierarchy = "created_at"
