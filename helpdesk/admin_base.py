"""Admin building blocks shared by the apps: views of rows that only services write."""

from django.contrib import admin
from django.http import HttpRequest


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
