"""The audit log: promotions, role changes and admin logins each leave one row; nobody edits the log."""

import pytest
from django.contrib.auth.models import Group

from apps.accounts.models import AuditEvent
from apps.accounts.roles import AGENTS, MANAGERS
from apps.accounts.services import user_set_roles
from apps.assistant.registry import model_version_promote, model_version_rollback
from tests.assistant.registry_helpers import intent_model, version_ready

pytestmark = pytest.mark.django_db


def test_a_role_change_is_audited_once_and_a_no_change_not_at_all(agent_alice, admin_ada):
    user_set_roles(user=agent_alice, roles=[AGENTS, MANAGERS], actor=admin_ada)
    user_set_roles(user=agent_alice, roles=[AGENTS, MANAGERS], actor=admin_ada)

    # (The fixture's own grant of Agents is the row before, with no actor.)
    event = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_CHANGE, actor=admin_ada)
    assert event.target_id == str(agent_alice.pk)
    assert event.detail == {"before": [AGENTS], "after": [AGENTS, MANAGERS], "superuser": False}


def test_a_role_change_in_the_admin_is_audited(client, agent_alice, admin_ada):
    client.force_login(admin_ada)
    managers = Group.objects.get(name=MANAGERS)
    form = {
        "username": "alice",
        "is_active": "on",
        "is_staff": "on",
        "groups": [managers.pk],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00",
    }

    response = client.post(f"/admin/auth/user/{agent_alice.pk}/change/", form)

    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.filter(action=AuditEvent.Action.ROLE_CHANGE, actor=admin_ada).get()
    assert event.target_id == str(agent_alice.pk)
    assert event.detail["before"] == [AGENTS]
    assert event.detail["after"] == [MANAGERS]


def test_promotion_and_rollback_are_audited(mladmin_mo, tmp_path, settings):
    settings.MODEL_STORE = tmp_path / "store"
    model = intent_model()
    first, second = version_ready(model, tmp_path), version_ready(model, tmp_path)
    model_version_promote(version=first, actor=mladmin_mo, reason="first")
    model_version_promote(version=second, actor=mladmin_mo, reason="better")
    model_version_rollback(model=model, actor=mladmin_mo, reason="worse live")

    moves = [e.detail for e in AuditEvent.objects.filter(action=AuditEvent.Action.ALIAS_MOVE).order_by("pk")]

    assert [(m["alias"], m["from_version"], m["to_version"]) for m in moves] == [
        ("champion", None, first.version),
        ("champion", first.version, second.version),
        ("champion", second.version, first.version),
    ]
    assert moves[-1]["reason"] == f"rollback from v{second.version}: worse live"


def test_admin_logins_and_failed_ones_are_audited_without_the_password(client, admin_ada):
    client.post("/admin/login/", {"username": "ada", "password": "wrong-secret"})
    client.post("/admin/login/", {"username": "ada", "password": "pw-ada"})

    failed = AuditEvent.objects.get(action=AuditEvent.Action.ADMIN_LOGIN_FAILED)
    success = AuditEvent.objects.get(action=AuditEvent.Action.ADMIN_LOGIN)
    assert failed.detail == {"username": "ada"}
    assert "wrong-secret" not in str(failed.detail)
    assert failed.ip_address == "127.0.0.1"
    assert success.actor == admin_ada


def test_the_log_is_read_only_and_for_the_admin_only(client, admin_ada, manager_maria, agent_alice):
    user_set_roles(user=agent_alice, roles=[MANAGERS], actor=admin_ada)
    event = AuditEvent.objects.filter(action=AuditEvent.Action.ROLE_CHANGE, actor=admin_ada).get()

    client.force_login(admin_ada)
    assert client.get("/admin/accounts/auditevent/").status_code == 200
    assert client.get("/admin/accounts/auditevent/add/").status_code == 403
    assert client.post(f"/admin/accounts/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    client.force_login(manager_maria)
    assert client.get("/admin/accounts/auditevent/").status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()
