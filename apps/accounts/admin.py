from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from apps.accounts.models import AgentProfile, AuditEvent, Team
from apps.accounts.roles import ROLE_GROUPS
from apps.accounts.services import role_change_audit


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "is_default", "agent_count", "intents", "created_at")
    list_filter = ("is_default",)
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(agent_count=Count("agents"))

    @admin.display(description="agents", ordering="agent_count")
    def agent_count(self, team: Team) -> int:
        return team.agent_count


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "display_name", "presence", "capacity", "team_names", "presence_changed_at")
    list_filter = ("presence", "teams")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email", "display_name")
    filter_horizontal = ("teams",)

    def get_readonly_fields(self, request: HttpRequest, obj: AgentProfile | None = None):
        # Presence is the agent's live status, set from the inbox through agent_set_presence (which stamps the
        # time); a profile stays with the user it was made for.
        live = ("presence", "presence_changed_at")
        return live if obj is None else ("user", *live)

    def get_queryset(self, request: HttpRequest) -> QuerySet[AgentProfile]:
        return super().get_queryset(request).prefetch_related("teams")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A plain select of staff users: managers may edit profiles but may not view users, so the user
        # autocomplete and raw-id lookup (both need auth.view_user) would not work for them.
        if db_field.name == "user":
            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True, is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="teams")
    def team_names(self, profile: AgentProfile) -> str:
        return ", ".join(team.name for team in profile.teams.all())


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class AuditedUserAdmin(UserAdmin):
    """Django's user admin; a change of someone's role groups or superuser flag lands in the audit log."""

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        user = form.instance
        before = _roles_of(user) if change else []
        super().save_related(request, form, formsets, change)
        after = _roles_of(user)
        if before != after:
            role_change_audit(user=user, before=before, after=after, actor=request.user)

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        was_superuser = change and User.objects.filter(pk=obj.pk, is_superuser=True).exists()
        super().save_model(request, obj, form, change)
        if change and was_superuser != obj.is_superuser:
            detail_roles = _roles_of(obj)
            role_change_audit(
                user=obj,
                before=detail_roles + (["Admin"] if was_superuser else []),
                after=detail_roles + (["Admin"] if obj.is_superuser else []),
                actor=request.user,
            )


def _roles_of(user) -> list[str]:
    return sorted(user.groups.filter(name__in=ROLE_GROUPS).values_list("name", flat=True)) if user.pk else []


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the log is written by the services that act, never by hand."""

    list_display = ("created_at", "action", "actor_name", "target_type", "target_id", "target_name", "ip_address")
    list_filter = ("action", "target_type")
    search_fields = ("actor_name", "target_id", "target_name")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
