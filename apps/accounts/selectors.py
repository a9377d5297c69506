from django.db.models import QuerySet

from apps.accounts.models import AgentProfile, Team


def team_default() -> Team | None:
    return Team.objects.filter(is_default=True).first()


def agent_profiles_online(*, team: Team | None = None) -> QuerySet[AgentProfile]:
    profiles = AgentProfile.objects.filter(presence=AgentProfile.Presence.ONLINE, user__is_active=True)
    if team is not None:
        profiles = profiles.filter(teams=team)
    return profiles


def agents_are_online(*, team: Team | None = None) -> bool:
    return agent_profiles_online(team=team).exists()


def agent_profile_list() -> QuerySet[AgentProfile]:
    return AgentProfile.objects.select_related("user").order_by("user__username")


def team_for_intent(intent: str) -> Team | None:
    """The team that lists ``intent`` among the intents it handles first, if any."""
    if not intent:
        return None
    for team in Team.objects.all():
        if intent in (team.intents or []):
            return team
    return None
