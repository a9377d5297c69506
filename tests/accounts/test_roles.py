import pytest
from django.contrib.auth.models import Group

from apps.accounts.roles import AGENTS, MANAGERS, ML_ADMINS
from apps.accounts.services import agent_set_presence, roles_sync, user_set_roles

pytestmark = pytest.mark.django_db


def test_the_data_migration_and_sync_leave_the_three_role_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {AGENTS, MANAGERS, ML_ADMINS}


def _codenames(group_name: str) -> set[str]:
    return set(Group.objects.get(name=group_name).permissions.values_list("codename", flat=True))


def test_each_role_has_its_permissions_and_not_the_others():
    agents, managers, ml_admins = _codenames(AGENTS), _codenames(MANAGERS), _codenames(ML_ADMINS)

    assert {"change_ticket", "add_message", "view_customer"} <= agents
    assert not {"view_modelversion", "view_trainingexample", "delete_ticket", "change_cannedreply"} & agents
    assert {"view_ticket", "change_cannedreply", "change_slapolicy"} <= managers
    assert not {"change_ticket", "add_message", "view_modelversion"} & managers
    assert {"change_modelversion", "view_trainingexample", "view_aliaschange"} <= ml_admins
    assert not {"view_customer", "view_conversation", "view_message", "view_ticket"} & ml_admins
    # History is append-only for everyone below Admin.
    assert not {"change_aliaschange", "delete_aliaschange", "change_ticketchange"} & (agents | managers | ml_admins)


def test_sync_restores_a_permission_removed_by_hand():
    group = Group.objects.get(name=AGENTS)
    group.permissions.clear()

    roles_sync()

    assert "change_ticket" in _codenames(AGENTS)


def test_setting_roles_makes_the_user_staff_and_refuses_unknown_roles(plain_user_pat):
    with pytest.raises(ValueError, match="Unknown roles"):
        user_set_roles(user=plain_user_pat, roles=["Wizards"])
    assert plain_user_pat.groups.count() == 0

    user_set_roles(user=plain_user_pat, roles=[MANAGERS])

    plain_user_pat.refresh_from_db()
    assert plain_user_pat.is_staff is True
    assert list(plain_user_pat.groups.values_list("name", flat=True)) == [MANAGERS]


def test_presence_changes_are_stamped_and_bad_values_refused(agent_alice):
    profile = agent_alice.agent_profile

    agent_set_presence(profile=profile, presence="online")
    with pytest.raises(ValueError, match="presence must be one of"):
        agent_set_presence(profile=profile, presence="asleep")

    profile.refresh_from_db()
    assert profile.presence == "online"
    assert profile.presence_changed_at is not None
