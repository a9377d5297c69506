"""The audit log of sensitive actions: every service that promotes a model, exports or erases a customer, or
changes someone's roles calls ``audit_record`` in its own transaction, so the action and its row commit together.
Logins to the admin are recorded from Django's auth signals (the one event the project does not perform itself).
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models

from apps.accounts.models import AuditEvent

Action = AuditEvent.Action


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | None,
    target: models.Model | None = None,
    target_name: str | None = None,
    detail: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Appends one row to the audit log; ``detail`` must be JSON-safe and must not carry the PII being acted on
    (an erasure records ids and counts, never the erased text). ``target_name`` defaults to str(target); pass one
    for a target whose str() is personal data (a customer's name)."""
    if target_name is None:
        target_name = str(target) if target is not None else ""
    return AuditEvent.objects.create(
        action=action,
        actor=actor if actor is not None and actor.pk else None,
        actor_name=actor.get_username() if actor is not None and actor.pk else "",
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_name=target_name[:200],
        detail=detail or {},
        ip_address=ip_address or None,
    )


def audit_record_many(
    *, action: str, actor: AbstractBaseUser | None, targets: list[models.Model], detail: dict[str, Any] | None = None
) -> list[AuditEvent]:
    """``audit_record`` for each of ``targets`` in one insert (an export of a thousand tickets: one query)."""
    return AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                action=action,
                actor=actor if actor is not None and actor.pk else None,
                actor_name=actor.get_username() if actor is not None and actor.pk else "",
                target_type=target._meta.label_lower,
                target_id=str(target.pk),
                target_name=str(target)[:200],
                detail=detail or {},
            )
            for target in targets
        ]
    )
