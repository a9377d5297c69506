"""Shared fixtures: named users for each role and small domain objects."""

import sys

import pytest
from channels.layers import channel_layers
from django.contrib.auth import get_user_model
from django.db import connections

from apps.accounts.models import Team
from apps.accounts.roles import AGENTS, MANAGERS, ML_ADMINS
from apps.accounts.services import agent_profile_ensure, user_set_roles
from apps.conversations.services import conversation_start
from apps.customers.models import Customer
from helpdesk.celery import app as celery_app


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    # Unit tests run tasks in-process even when REDIS_URL points at a broker; the worker test opts out.
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    # Persistent connections would outlive the threads that ASGI and channels tests run sync code in, and
    # PostgreSQL then refuses to drop the test database while they are open.
    for alias in connections:
        connections[alias].settings_dict["CONN_MAX_AGE"] = 0


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness costs about half a second per named user; tests need no strong hashes.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """A channel layer object per test: the Redis layer binds its locks to the event loop that first used them,
    and each async test (and each async_to_sync broadcast) runs in a loop of its own."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _fresh_champions():
    """Served models forgotten after each test: the next test's database can reuse a version's primary key for
    another model. Only when something imported the serving module: tests that never touch torch stay free of it."""
    yield
    serving = sys.modules.get("apps.assistant.serving")
    if serving is not None:
        for cache in serving.caches:
            cache.reset()


def _staff_user(username: str, roles: list[str]):
    user = get_user_model().objects.create_user(username=username, password="pw-" + username, is_staff=True)
    user_set_roles(user=user, roles=roles)
    return user


@pytest.fixture
def team_cards(db) -> Team:
    return Team.objects.create(name="Cards", slug="cards", intents=["card_arrival"])


@pytest.fixture
def agent_alice(db, team_cards):
    user = _staff_user("alice", [AGENTS])
    agent_profile_ensure(user=user, teams=[team_cards])
    return user


@pytest.fixture
def agent_bob(db, team_cards):
    """Alice's teammate in Cards."""
    user = _staff_user("bob", [AGENTS])
    agent_profile_ensure(user=user, teams=[team_cards])
    return user


@pytest.fixture
def manager_maria(db):
    return _staff_user("maria", [MANAGERS])


@pytest.fixture
def mladmin_mo(db):
    return _staff_user("mo", [ML_ADMINS])


@pytest.fixture
def admin_ada(db):
    return get_user_model().objects.create_superuser(username="ada", password="pw-ada", email="ada@example.com")


@pytest.fixture
def customer_carl(db) -> Customer:
    return Customer.objects.create(
        external_id="c-1", name="Carl Customer", email="carl@example.com", attributes={"tier": "gold"}
    )


@pytest.fixture
def plain_user_pat(db):
    """Logged-in but neither staff nor in any role."""
    return get_user_model().objects.create_user(username="pat", password="pw-pat")


@pytest.fixture
def conversation(customer_carl):
    return conversation_start(customer=customer_carl)
