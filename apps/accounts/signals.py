"""Logins are Django's own event, not a service of ours: they reach the audit log through its auth signals."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from apps.accounts.audit import Action, audit_record


def _client_ip(request: HttpRequest | None) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client wrote unless a trusted proxy rewrites it.
    return request.META.get("REMOTE_ADDR") if request is not None else None


def login_audit(sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any) -> None:
    audit_record(action=Action.ADMIN_LOGIN, actor=user, target=user, ip_address=_client_ip(request))


def login_failed_audit(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs) -> None:
    # The username tried, never the password (Django already masks it in ``credentials``).
    detail = {"username": str(credentials.get("username", ""))[:150]}
    audit_record(action=Action.ADMIN_LOGIN_FAILED, actor=None, detail=detail, ip_address=_client_ip(request))
