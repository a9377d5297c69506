from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.db import transaction
from django.utils import timezone

from apps.accounts.audit import Action, audit_record
from apps.accounts.models import AgentProfile, Team
from apps.accounts.roles import ROLE_GROUPS, ROLE_PERMISSIONS


@transaction.atomic
def roles_sync() -> None:
    """Create the role groups and give each exactly the permissions of ROLE_PERMISSIONS.

    Permissions of models whose app is not installed yet are skipped; the next migrate adds them.
    """
    for group_name in ROLE_GROUPS:
        group, _ = Group.objects.get_or_create(name=group_name)
        wanted = []
        for model_label, actions in ROLE_PERMISSIONS.get(group_name, {}).items():
            app_label, model_name = model_label.split(".")
            codenames = [f"{action}_{model_name}" for action in actions]
            wanted.extend(Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))
        group.permissions.set(wanted)


@transaction.atomic
def user_set_roles(*, user: AbstractBaseUser, roles: list[str], actor: AbstractBaseUser | None = None) -> None:
    """Make ``user`` a member of exactly ``roles`` (role group names); staff so they can use the admin. A change
    is audited."""
    unknown = set(roles) - set(ROLE_GROUPS)
    if unknown:
        raise ValueError(f"Unknown roles {sorted(unknown)}; known: {list(ROLE_GROUPS)}")
    before = sorted(user.groups.filter(name__in=ROLE_GROUPS).values_list("name", flat=True))
    user.groups.set(Group.objects.filter(name__in=roles))
    if roles and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    if before != sorted(roles):
        role_change_audit(user=user, before=before, after=sorted(roles), actor=actor)


def role_change_audit(
    *, user: AbstractBaseUser, before: list[str], after: list[str], actor: AbstractBaseUser | None
) -> None:
    detail = {"before": before, "after": after, "superuser": user.is_superuser}
    audit_record(action=Action.ROLE_CHANGE, actor=actor, target=user, detail=detail)


def agent_profile_ensure(*, user: AbstractBaseUser, teams: list[Team], capacity: int = 5) -> AgentProfile:
    profile, _ = AgentProfile.objects.get_or_create(user=user, defaults={"capacity": capacity})
    profile.teams.set(teams)
    return profile


def agent_set_presence(*, profile: AgentProfile, presence: str) -> AgentProfile:
    if presence not in AgentProfile.Presence.values:
        raise ValueError(f"presence must be one of {AgentProfile.Presence.values}, got {presence!r}")
    if profile.presence != presence:
        profile.presence = presence
        profile.presence_changed_at = timezone.now()
        profile.save(update_fields=["presence", "presence_changed_at"])
    return profile
