"""The team lead's bulk actions on the ticket list: reassign, merge duplicates, close stale pending, export CSV.

Leads are Managers (and the Admin); the actions call apps.tickets.bulk, which writes each ticket's history and
audit rows. The two that need a choice (to whom, into which) show a form first and run on its POST.
"""

import csv

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from apps.accounts.audit import Action, audit_record_many
from apps.accounts.models import Team
from apps.accounts.permissions import user_has_role
from apps.accounts.roles import MANAGERS
from apps.accounts.selectors import agent_user_list
from apps.tickets.bulk import ticket_merge, tickets_close_stale_pending, tickets_reassign
from apps.tickets.models import Ticket
from apps.tickets.selectors import TICKET_EXPORT_HEADERS, ticket_export_rows
from helpdesk.admin_base import bulk_action_form_page
from helpdesk.text import spreadsheet_safe


class ReassignForm(forms.Form):
    agent = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(), required=False, help_text="Empty: back to the team's queue."
    )
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, help_text="Empty: keep each team.")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = agent_user_list()


class MergeForm(forms.Form):
    survivor = forms.ModelChoiceField(
        queryset=Ticket.objects.none(), help_text="The others are closed and point at it; their chats move to it."
    )

    def __init__(self, *args, tickets: QuerySet[Ticket], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["survivor"].queryset = tickets
        self.fields["survivor"].initial = tickets.order_by("created_at", "pk").first()


class TicketLeadActions:
    """Mixed into TicketAdmin: the lead's actions and the permission that gates them."""

    lead_actions = ("reassign_tickets", "merge_tickets", "close_stale_pending", "export_csv")

    def has_lead_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, MANAGERS)

    @admin.action(description="Reassign selected tickets…", permissions=["lead"])
    def reassign_tickets(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> TemplateResponse | None:
        form = ReassignForm(request.POST if request.POST.get("apply") == "yes" else None)
        if not form.is_valid():
            intro = f"Reassign {queryset.count()} ticket(s): to whom?"
            return bulk_action_form_page(
                self,
                request,
                action="reassign_tickets",
                form=form,
                items=list(queryset),
                intro=intro,
                submit="Reassign",
            )
        agent, team = form.cleaned_data["agent"], form.cleaned_data["team"]
        changed = tickets_reassign(tickets=queryset, agent=agent, team=team, actor=request.user)
        self.message_user(request, f"{len(changed)} ticket(s) reassigned to {agent or 'the queue'}.")
        return None

    @admin.action(description="Merge selected duplicate tickets…", permissions=["lead"])
    def merge_tickets(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> TemplateResponse | None:
        if queryset.count() < 2:
            self.message_user(request, "Select two tickets or more to merge.", messages.WARNING)
            return None
        form = MergeForm(request.POST if request.POST.get("apply") == "yes" else None, tickets=queryset)
        if not form.is_valid():
            intro = f"Merge {queryset.count()} tickets: which one survives?"
            return bulk_action_form_page(
                self, request, action="merge_tickets", form=form, items=list(queryset), intro=intro, submit="Merge"
            )
        survivor = form.cleaned_data["survivor"]
        try:
            result = ticket_merge(survivor=survivor, duplicates=queryset.exclude(pk=survivor.pk), actor=request.user)
        except ValidationError as error:
            self.message_user(request, "Not merged: " + " ".join(error.messages), messages.ERROR)
            return None
        merged = ", ".join(f"#{ticket.pk}" for ticket in result.merged)
        self.message_user(
            request, f"Merged {merged} into #{survivor.pk}; {result.conversations_moved} conversation(s) moved."
        )
        return None

    @admin.action(description="Close selected stale pending tickets", permissions=["lead"])
    def close_stale_pending(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        days = settings.HELPDESK_STALE_PENDING_DAYS
        closed = tickets_close_stale_pending(tickets=queryset, days=days, actor=request.user)
        skipped = queryset.count() - len(closed)
        note = f" {skipped} skipped: not pending, or changed within {days} days." if skipped else ""
        self.message_user(request, f"{len(closed)} stale pending ticket(s) closed.{note}")

    @admin.action(description="Export selected tickets to CSV", permissions=["lead"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> HttpResponse:
        tickets = list(queryset.select_related("customer", "team", "assignee").order_by("pk"))
        audit_record_many(action=Action.TICKET_EXPORT, actor=request.user, targets=tickets)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="tickets-{timezone.localdate()}.csv"'
        writer = csv.writer(response)
        writer.writerow(TICKET_EXPORT_HEADERS)
        writer.writerows([spreadsheet_safe(cell) for cell in row] for row in ticket_export_rows(tickets))
        return response
