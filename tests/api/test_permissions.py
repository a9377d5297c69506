import pytest
from django.contrib.auth.models import AnonymousUser

from apps.accounts.permissions import user_has_role, user_list_with_role, user_role_names
from apps.accounts.roles import AGENTS, MANAGERS, ML_ADMINS
from apps.accounts.services import user_set_roles

pytestmark = pytest.mark.django_db


def test_each_user_has_exactly_their_role(agent_alice, manager_maria, mladmin_mo, plain_user_pat):
    assert [user_has_role(user, AGENTS) for user in (agent_alice, manager_maria, mladmin_mo, plain_user_pat)] == [
        True,
        False,
        False,
        False,
    ]
    assert user_has_role(manager_maria, AGENTS, MANAGERS)
    assert user_has_role(mladmin_mo, ML_ADMINS)
    assert user_role_names(plain_user_pat) == frozenset()


def test_superusers_pass_every_check_without_a_query(admin_ada, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert user_has_role(admin_ada, AGENTS)
        assert user_has_role(admin_ada, ML_ADMINS)
        assert user_has_role(admin_ada)


def test_anonymous_and_inactive_users_pass_none(agent_alice):
    agent_alice.is_active = False

    assert not user_has_role(AnonymousUser(), AGENTS)
    assert not user_has_role(None, AGENTS)
    assert not user_has_role(agent_alice, AGENTS)


def test_roles_are_read_once_per_user_object(agent_alice, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert user_has_role(agent_alice, AGENTS)
        assert not user_has_role(agent_alice, MANAGERS)


def test_a_misspelt_role_is_an_error_not_a_refusal(agent_alice):
    with pytest.raises(ValueError, match="Agent"):
        user_has_role(agent_alice, "Agent")


def test_user_list_with_role_holds_the_role_and_the_superusers(agent_alice, manager_maria, admin_ada, plain_user_pat):
    user_set_roles(user=manager_maria, roles=[MANAGERS, AGENTS])

    assert list(user_list_with_role(AGENTS)) == [agent_alice, manager_maria, admin_ada]
