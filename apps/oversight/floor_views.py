"""The floor page inside the admin (/admin/floor/): the admin's look and login, for team leads only."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from apps.accounts.permissions import user_has_role
from apps.accounts.roles import MANAGERS
from apps.oversight.floor import floor_snapshot


def floor_allowed(user) -> bool:
    """Team leads (Managers) and the Admin; the floor socket asks the same."""
    return user_has_role(user, MANAGERS)


def floor(request: HttpRequest) -> HttpResponse:
    if not floor_allowed(request.user):
        raise PermissionDenied("The floor is for team leads (Managers).")
    context = {**admin.site.each_context(request), "title": "Floor", "snapshot": floor_snapshot()}
    return TemplateResponse(request, "admin/oversight/floor.html", context)


# admin_view: anonymous users go to the admin's login, non-staff too; then the role check above.
floor_view = admin.site.admin_view(floor)
