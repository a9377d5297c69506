"""Admin building blocks shared by the apps: views of rows that only services write, and the second step of a
bulk action that needs a choice."""

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse


class AppendOnlyAdminMixin:
    """History written by services (audit rows, alias moves): nobody adds, edits or deletes it here,
    superusers included."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReadOnlyTabularInline(AppendOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False


def bulk_action_form_page(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    action: str,
    form: forms.Form,
    items: list,
    intro: str,
    submit: str,
) -> TemplateResponse:
    """The page that asks for the action's choice (to whom, into which) over the selection, and posts back to
    the same action with ``apply=yes``; the action runs when the posted form is valid."""
    opts = model_admin.opts
    context = {
        **model_admin.admin_site.each_context(request),
        "title": intro.split(":")[0],
        "intro": intro,
        "items": items,
        "form": form,
        "action": action,
        "submit_label": submit,
        "cancel_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        "opts": opts,
    }
    return TemplateResponse(request, "admin/bulk_action_form.html", context)
