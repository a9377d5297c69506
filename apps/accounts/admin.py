from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from apps.accounts.models import AgentProfile, Team


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
