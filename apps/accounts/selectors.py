from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from apps.accounts.models import AgentProfile, Team
from apps.accounts.permissions import user_has_role
from apps.accounts.roles import MANAGERS


def team_default() -> Team | None:
    return Team.objects.filter(is_default=True).first()


def agent_profiles_online(*, team: Team | None = None) -> QuerySet[AgentProfile]:
    profiles = AgentProfile.objects.filter(presence=AgentProfile.Presence.ONLINE, user__is_active=True)
    if team is not None:
        profiles = profiles.filter(teams=team)
    return profiles


def agents_are_online(*, team: Team | None = None) -> bool:
    return agent_profiles_online(team=team).exists()


def agent_user_list() -> QuerySet:
    """Active users with an agent profile (whom work can be given to), by username."""
    return get_user_model().objects.filter(is_active=True, agent_profile__isnull=False).order_by("username")


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


@dataclass(frozen=True)
class WorkScope:
    """Which conversations and tickets a staff user works on. Managers and the Admin see all (``team_ids`` is
    None); an agent sees those of their teams, those not routed to any team yet, and those assigned to them."""

    user_id: int
    team_ids: frozenset[int] | None

    @property
    def sees_all(self) -> bool:
        return self.team_ids is None

    def q(self) -> Q:
        """The filter for a queryset of a model with ``team`` and ``assignee`` (Conversation, Ticket)."""
        if self.team_ids is None:
            return Q()
        return Q(team__in=self.team_ids) | Q(team__isnull=True) | Q(assignee_id=self.user_id)

    def allows(self, *, team_id: int | None, assignee_id: int | None) -> bool:
        if self.team_ids is None:
            return True
        return team_id is None or team_id in self.team_ids or assignee_id == self.user_id


def work_scope(*, user: AbstractBaseUser) -> WorkScope:
    """The user's scope, cached on the user object like their roles: one request or one socket asks once."""
    cached = getattr(user, _SCOPE_CACHE_ATTR, None)
    if cached is not None:
        return cached
    if user_has_role(user, MANAGERS):
        scope = WorkScope(user_id=user.pk, team_ids=None)
    else:
        through = AgentProfile.teams.through.objects.filter(agentprofile__user_id=user.pk)
        scope = WorkScope(user_id=user.pk, team_ids=frozenset(through.values_list("team_id", flat=True)))
    setattr(user, _SCOPE_CACHE_ATTR, scope)
    return scope


_SCOPE_CACHE_ATTR = "_helpdesk_work_scope"
