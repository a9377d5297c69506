"""The admin of the SLA's rules and records: business calendars, and the breaches the beat job recorded.
Imported by tickets.admin, which registers the SLA policies and the tickets themselves."""

import zoneinfo

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.accounts.selectors import work_scope
from apps.tickets.models import BusinessCalendar, BusinessHours, Holiday, SLABreach, Ticket
from helpdesk.admin_base import AppendOnlyAdminMixin, ReadOnlyTabularInline


class BusinessCalendarForm(forms.ModelForm):
    class Meta:
        model = BusinessCalendar
        fields = ("name", "timezone")

    def clean_timezone(self) -> str:
        # The model keeps a plain string; a zone zoneinfo cannot load would fail every due time counted in it.
        name = self.cleaned_data["timezone"]
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise forms.ValidationError(f"{name!r} is not an IANA time zone, e.g. Europe/Berlin.") from exc
        return name


class BusinessHoursInline(admin.TabularInline):
    model = BusinessHours
    extra = 0
    fields = ("weekday", "opens_at", "closes_at")


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0
    fields = ("date", "name")


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    form = BusinessCalendarForm
    list_display = ("name", "timezone", "opening_hours", "holiday_count")
    search_fields = ("name",)
    inlines = (BusinessHoursInline, HolidayInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[BusinessCalendar]:
        queryset = super().get_queryset(request).prefetch_related("hours")
        return queryset.annotate(holiday_count=Count("holidays"))

    @admin.display(description="opening hours")
    def opening_hours(self, calendar: BusinessCalendar) -> str:
        return ", ".join(str(hours) for hours in calendar.hours.all()) or "none: due times cannot be counted"

    @admin.display(description="holidays", ordering="holiday_count")
    def holiday_count(self, calendar: BusinessCalendar) -> int:
        return calendar.holiday_count


class SLAPolicyForm(forms.ModelForm):
    """The admin's policy form (the admin names its model and fields), refusing a calendar without hours."""

    def clean_calendar(self) -> BusinessCalendar | None:
        calendar = self.cleaned_data["calendar"]
        if calendar is not None and not calendar.hours.exists():
            # Its tickets' targets would fall back to the wall clock (tickets.services._apply_sla logs an error).
            raise forms.ValidationError(f"{calendar} has no opening hours yet; add them to the calendar first.")
        return calendar


def _escalation_text(breach: SLABreach) -> str:
    done = breach.escalation or {}
    parts = []
    if done.get("priority"):
        parts.append("priority {} → {}".format(*done["priority"]))
    if done.get("assignee"):
        parts.append("reassigned")
    parts.append(f"{done.get('notified', 0)} notified")
    return ", ".join(parts)


class SLABreachInline(ReadOnlyTabularInline):
    """The ticket's missed targets, recorded by the beat job (tickets.sla_services)."""

    model = SLABreach
    verbose_name_plural = "SLA breaches"
    fields = ("kind", "due_at", "detected_at", "escalated_at", "escalation_done")
    readonly_fields = fields

    @admin.display(description="escalation")
    def escalation_done(self, breach: SLABreach) -> str:
        return _escalation_text(breach)


@admin.register(SLABreach)
class SLABreachAdmin(AppendOnlyAdminMixin, admin.ModelAdmin):
    """View only: the beat job records each breach once and nothing edits it afterwards."""

    list_display = ("detected_at", "ticket_link", "kind", "due_at", "escalated_at", "escalation_done")
    list_filter = ("kind", "detected_at", "due_at")
    search_fields = ("ticket__id__exact", "ticket__subject")
    date_hierarchy = "detected_at"
    fields = ("ticket_link", "kind", "due_at", "detected_at", "escalated_at", "escalation_done", "escalation")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[SLABreach]:
        # The breaches of the tickets the user works on (accounts.selectors.WorkScope).
        tickets = Ticket.objects.filter(work_scope(user=request.user).q())
        return super().get_queryset(request).select_related("ticket").filter(ticket__in=tickets)

    @admin.display(description="ticket", ordering="ticket")
    def ticket_link(self, breach: SLABreach) -> str:
        url = reverse("admin:tickets_ticket_change", args=[breach.ticket_id])
        return format_html('<a href="{}">{}</a>', url, breach.ticket)

    @admin.display(description="escalation")
    def escalation_done(self, breach: SLABreach) -> str:
        return _escalation_text(breach)
