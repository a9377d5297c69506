"""Role checks for API views, views and consumers, built on the role groups of apps.accounts.roles.

The Admin role is a superuser and passes every check. Inactive and anonymous users pass none. These are
synchronous (one query per user object at most); a consumer calls them through ``database_sync_to_async``.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from apps.accounts.roles import AGENTS, MANAGERS, ML_ADMINS, ROLE_GROUPS

# Cached on the user object like Django's own _perm_cache: a user loaded for one request or one socket sees
# the roles it had when first asked.
_ROLE_CACHE_ATTR = "_helpdesk_role_names"

AnyUser = AbstractBaseUser | AnonymousUser


def user_role_names(user: AnyUser | None) -> frozenset[str]:
    """The role groups ``user`` is a member of (empty for anonymous and inactive users)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, _ROLE_CACHE_ATTR, None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ROLE_GROUPS).values_list("name", flat=True))
        setattr(user, _ROLE_CACHE_ATTR, cached)
    return cached


def user_has_role(user: AnyUser | None, *roles: str) -> bool:
    """Whether ``user`` is in any of ``roles``; a superuser (the Admin role) always is."""
    unknown = set(roles) - set(ROLE_GROUPS)
    if unknown:
        # A misspelt role would otherwise silently lock everybody but the superusers out.
        raise ValueError(f"Unknown roles {sorted(unknown)}; known: {list(ROLE_GROUPS)}")
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return not user_role_names(user).isdisjoint(roles)


def user_list_with_role(*roles: str) -> QuerySet:
    """Active users in any of ``roles``, and the active superusers (who hold every role)."""
    return (
        get_user_model()
        .objects.filter(Q(groups__name__in=roles) | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("pk")
    )


class RolePermission(BasePermission):
    """Readers may use the safe methods (GET, HEAD, OPTIONS), writers every method; superusers pass."""

    read_roles: tuple[str, ...] = ()
    write_roles: tuple[str, ...] = ()

    def has_permission(self, request: Request, view: Any) -> bool:
        roles = self.read_roles if request.method in SAFE_METHODS else self.write_roles
        return user_has_role(request.user, *roles)


class IsAgent(RolePermission):
    read_roles = write_roles = (AGENTS,)


class IsManager(RolePermission):
    read_roles = write_roles = (MANAGERS,)


class IsMLAdmin(RolePermission):
    read_roles = write_roles = (ML_ADMINS,)


class IsAgentOrManager(RolePermission):
    read_roles = write_roles = (AGENTS, MANAGERS)


class IsAgentOrReadOnlyManager(RolePermission):
    """Agents read and write, managers only read: the desk's work is the agents', managers watch it."""

    read_roles = (AGENTS, MANAGERS)
    write_roles = (AGENTS,)
