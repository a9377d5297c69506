"""The demo seed leaves the reports filled in; the rollup is read-only in the admin, for managers."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from apps.accounts.roles import AGENTS, MANAGERS, ML_ADMINS
from apps.conversations.models import Conversation
from apps.reports.models import ConversationFact
from apps.reports.services import conversation_facts_refresh_stale

pytestmark = pytest.mark.django_db


def test_the_demo_seed_gives_every_closed_conversation_its_facts():
    call_command("seed_demo", "--customers", "10", "--conversations", "40", stdout=StringIO())

    closed = set(Conversation.objects.filter(state=Conversation.State.CLOSED).values_list("pk", flat=True))
    assert closed
    assert set(ConversationFact.objects.values_list("pk", flat=True)) == closed
    assert ConversationFact.objects.filter(rating__isnull=False).exists()
    assert conversation_facts_refresh_stale() == 0  # nothing left stale for the beat job


def test_only_managers_read_the_facts_in_the_admin():
    def codenames(group: str) -> set[str]:
        return set(Group.objects.get(name=group).permissions.values_list("codename", flat=True))

    assert "view_conversationfact" in codenames(MANAGERS)
    assert not {"add_conversationfact", "change_conversationfact", "delete_conversationfact"} & codenames(MANAGERS)
    assert not {"view_conversationfact"} & (codenames(AGENTS) | codenames(ML_ADMINS))


def test_the_facts_list_links_to_the_dashboard(client, manager_maria, mladmin_mo, desk):
    client.force_login(manager_maria)
    listing = client.get("/admin/reports/conversationfact/")
    client.force_login(mladmin_mo)
    refused = client.get("/admin/reports/conversationfact/")

    assert listing.status_code == 200
    assert 'href="/reports/"' in listing.content.decode()
    assert "Add conversation fact" not in listing.content.decode()
    assert refused.status_code == 403
