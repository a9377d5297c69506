"""The SLA breach job: each missed target is recorded and escalated once, the inbox and the people concerned
are told after the commit, and the admin shows breaches read-only."""

import json
import threading
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.accounts.models import AgentProfile, AuditEvent, Team
from apps.accounts.roles import AGENTS
from apps.accounts.services import agent_profile_ensure, agent_set_presence, user_set_roles
from apps.conversations import events
from apps.conversations.models import Conversation
from apps.conversations.services import conversation_start
from apps.tickets import tasks
from apps.tickets.models import BusinessCalendar, SLABreach, SLAPolicy, Ticket
from apps.tickets.services import ticket_create, ticket_record_first_response, ticket_set_status
from apps.tickets.sla_services import sla_breach_escalate, sla_breaches_escalate
from helpdesk.celery import app as celery_app
from tests.conversations.chat_clients import frames_until, inbox_connect

FIRST_RESPONSE_COMMENT = "SLA breach: first response overdue"


def _agent(username: str, teams: list[Team], *, online: bool = True, email: str = ""):
    user = get_user_model().objects.create_user(username=username, email=email, is_staff=True)
    user_set_roles(user=user, roles=[AGENTS])
    profile = agent_profile_ensure(user=user, teams=teams)
    if online:
        agent_set_presence(profile=profile, presence=AgentProfile.Presence.ONLINE)
    return user


def _overdue(ticket: Ticket, **due_at) -> Ticket:
    """The ticket with its clocks moved into the past, as if it had waited."""
    Ticket.objects.filter(pk=ticket.pk).update(**due_at)
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def team_loans(db) -> Team:
    return Team.objects.create(name="Loans", slug="loans")


@pytest.fixture
def policies(db) -> dict[str, SLAPolicy]:
    """Around the clock: normal 60/240 minutes, high 30/120, urgent 15/60."""
    return {
        priority: SLAPolicy.objects.create(
            name=priority, priority=priority, first_response_minutes=first, resolution_minutes=resolution
        )
        for priority, first, resolution in (("normal", 60, 240), ("high", 30, 120), ("urgent", 15, 60))
    }


@pytest.fixture
def agent_cleo(team_cards):
    return _agent("cleo", [team_cards], email="cleo@example.com")


@pytest.fixture
def inbox_events(monkeypatch) -> list[tuple[str, dict]]:
    """What reached the channel layer (only ever after a commit), each through a JSON round trip."""
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        events, "send_rollback_unsafe", lambda group, event: sent.append((group, json.loads(json.dumps(event))))
    )
    return sent


@pytest.fixture
def maria_with_email(manager_maria):
    get_user_model().objects.filter(pk=manager_maria.pk).update(email="maria@example.com")
    return manager_maria


@pytest.fixture
def late_ticket(policies, customer_carl, team_cards, agent_alice) -> Ticket:
    """A normal ticket of Cards, assigned to Alice (offline), whose first response is a minute overdue."""
    ticket = ticket_create(customer=customer_carl, subject="Card not arrived", team=team_cards, assignee=agent_alice)
    return _overdue(ticket, first_response_due_at=timezone.now() - timedelta(minutes=1))


def _changes(ticket: Ticket) -> list[tuple]:
    rows = ticket.changes.exclude(field="created").order_by("pk")
    return list(rows.values_list("field", "old_value", "new_value", "actor", "comment"))


@pytest.mark.django_db
def test_a_breach_is_recorded_and_escalated_once(
    late_ticket,
    agent_alice,
    agent_cleo,
    maria_with_email,
    team_cards,
    customer_carl,
    inbox_events,
    django_capture_on_commit_callbacks,
):
    # Given Bob, online in Cards too but busier than Cleo, and the ticket's conversation
    bob = _agent("bob", [team_cards], email="bob@example.com")
    ticket_create(customer=customer_carl, subject="Other", team=team_cards, assignee=bob)
    conversation = conversation_start(customer=customer_carl, team=team_cards)
    Conversation.objects.filter(pk=conversation.pk).update(ticket=late_ticket)
    due_at = late_ticket.first_response_due_at

    # When the job runs twice, and the beat task twice more
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        runs = [sla_breaches_escalate(), sla_breaches_escalate(), tasks.sla_breaches_escalate.delay().get()]
        runs.append(tasks.sla_breaches_escalate.delay().get())

    # Then one breach, one step up, one reassignment to the least-loaded online agent, told once
    assert runs == [1, 0, 0, 0]
    breach = SLABreach.objects.get()
    assert (breach.ticket_id, breach.kind, breach.due_at) == (late_ticket.pk, "first_response", due_at)
    assert breach.escalation == {
        "priority": ["normal", "high"],
        "assignee": [agent_alice.pk, agent_cleo.pk],
        "notified": 2,
    }
    assert breach.escalated_at is not None
    late_ticket.refresh_from_db()
    assert (late_ticket.priority, late_ticket.assignee_id) == ("high", agent_cleo.pk)
    assert _changes(late_ticket) == [
        ("priority", "normal", "high", None, FIRST_RESPONSE_COMMENT),
        ("assignee", f"alice (#{agent_alice.pk})", f"cleo (#{agent_cleo.pk})", None, FIRST_RESPONSE_COMMENT),
    ]
    audit = AuditEvent.objects.get(action="sla_escalation")
    assert (audit.action, audit.actor_id, audit.actor_name) == ("sla_escalation", None, "")
    assert (audit.target_type, audit.target_id) == ("tickets.ticket", str(late_ticket.pk))
    assert audit.detail == {
        "breach": breach.pk,
        "kind": "first_response",
        "due_at": due_at.isoformat(),
        "priority": ["normal", "high"],
        "assignee": [agent_alice.pk, agent_cleo.pk],
        "notified": 2,
    }
    assert len(callbacks) == 2  # the inbox event and the mail, of the one escalation
    assert [(message.subject, message.to) for message in mail.outbox] == [
        (f"SLA breach on ticket #{late_ticket.pk}: first response overdue", ["cleo@example.com", "maria@example.com"])
    ]
    assert f"/admin/tickets/ticket/{late_ticket.pk}/change/" in mail.outbox[0].body
    assert inbox_events == [
        (
            "inbox",
            {
                "type": "chat.sla_breach",
                "breach": {
                    "id": breach.pk,
                    "ticket": late_ticket.pk,
                    "kind": "first_response",
                    "due_at": due_at.isoformat(),
                    "conversation": conversation.pk,
                    "team": team_cards.pk,
                    "assignee": agent_cleo.pk,
                    "subject": "Card not arrived",
                },
            },
        )
    ]


@pytest.mark.django_db
def test_the_beat_job_runs_the_registered_task_every_minute():
    job = PeriodicTask.objects.get(task="apps.tickets.tasks.sla_breaches_escalate")

    assert (job.enabled, job.interval.every, job.interval.period) == (True, 1, "minutes")
    assert job.task in celery_app.tasks


@pytest.mark.django_db
def test_nothing_is_told_before_the_commit(late_ticket, inbox_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sla_breaches_escalate()

    # The callbacks wait for a commit (captured here, not run): nothing left before it.
    assert len(callbacks) == 1  # the inbox event; nobody has an address to mail
    assert inbox_events == []
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_run_that_finds_the_breach_already_recorded_does_nothing(late_ticket, inbox_events):
    # As when an overlapping run committed the breach after this run listed the ticket; the ticket overdue again.
    sla_breaches_escalate()
    _overdue(late_ticket, first_response_due_at=timezone.now() - timedelta(minutes=1))
    changes_before = late_ticket.changes.count()

    assert sla_breach_escalate(ticket_id=late_ticket.pk, kind="first_response", now=timezone.now()) is False
    assert sla_breaches_escalate() == 0
    assert SLABreach.objects.count() == 1
    assert late_ticket.changes.count() == changes_before
    assert AuditEvent.objects.filter(action="sla_escalation").count() == 1


@pytest.mark.django_db
def test_met_resolved_and_merged_tickets_are_not_breached(policies, customer_carl, agent_alice, inbox_events):
    now = timezone.now()
    answered = ticket_create(customer=customer_carl, subject="Answered")
    ticket_record_first_response(ticket=answered, at=now, actor=agent_alice)
    resolved = ticket_create(customer=customer_carl, subject="Resolved")
    ticket_set_status(ticket=resolved, status=Ticket.Status.RESOLVED, actor=agent_alice)
    merged = ticket_create(customer=customer_carl, subject="Duplicate")
    Ticket.objects.filter(pk=merged.pk).update(merged_into=resolved)

    # Two hours on: every first response (60 minutes) is overdue, no resolution (240) yet.
    assert sla_breaches_escalate(now=now + timedelta(hours=2)) == 0

    assert not SLABreach.objects.exists()
    assert inbox_events == []
    # Five hours on, the answered ticket missed its resolution: that breach is its own kind.
    assert sla_breaches_escalate(now=now + timedelta(hours=5)) == 1
    assert list(SLABreach.objects.values_list("ticket", "kind")) == [(answered.pk, "resolution")]


def test_a_ticket_waiting_on_the_customer_never_misses_its_resolution_target(policies, customer_carl, agent_alice):
    now = timezone.now()
    waiting = ticket_create(customer=customer_carl, subject="Asked for a screenshot")
    ticket_record_first_response(ticket=waiting, at=now, actor=agent_alice)
    ticket_set_status(ticket=waiting, status=Ticket.Status.PENDING, actor=agent_alice)

    assert sla_breaches_escalate(now=now + timedelta(days=3)) == 0

    assert not SLABreach.objects.exists()


@pytest.mark.django_db
def test_the_escalation_team_s_least_loaded_online_agent_takes_the_ticket(
    policies, customer_carl, team_cards, team_loans, agent_alice
):
    policies["normal"].escalation_team = team_loans
    policies["normal"].save()
    dan = _agent("dan", [team_loans])
    eve = _agent("eve", [team_loans])
    _agent("frank", [team_loans], online=False)  # idle, but away from the desk
    _agent("gina", [team_cards])  # idle and online, but not of the escalation team
    dans = ticket_create(customer=customer_carl, subject="Dan's", assignee=dan)
    ticket_record_first_response(ticket=dans, at=timezone.now(), actor=dan)  # not late itself
    Conversation.objects.create(customer=customer_carl, assignee=dan, state=Conversation.State.AGENT)
    Conversation.objects.create(customer=customer_carl, assignee=eve, state=Conversation.State.AGENT)
    Conversation.objects.create(customer=customer_carl, assignee=eve, state=Conversation.State.CLOSED)
    ticket = ticket_create(customer=customer_carl, subject="Late", team=team_cards)

    sla_breaches_escalate(now=timezone.now() + timedelta(minutes=61))

    ticket.refresh_from_db()
    assert ticket.assignee_id == eve.pk  # load 1 (a live conversation) against Dan's 2
    assert ticket.team_id == team_cards.pk
    assert _changes(ticket) == [
        ("priority", "normal", "high", None, FIRST_RESPONSE_COMMENT),
        ("assignee", "", f"eve (#{eve.pk})", None, FIRST_RESPONSE_COMMENT),
        ("status", "new", "open", None, "assigned"),
    ]


@pytest.mark.django_db
def test_an_agent_with_no_room_under_capacity_is_passed_over(policies, customer_carl, team_cards):
    full = _agent("full", [team_cards])
    AgentProfile.objects.filter(user=full).update(capacity=1)
    Conversation.objects.create(customer=customer_carl, assignee=full, state=Conversation.State.WAITING)
    ticket = ticket_create(customer=customer_carl, subject="Late", team=team_cards)

    sla_breaches_escalate(now=timezone.now() + timedelta(minutes=61))

    ticket.refresh_from_db()
    assert ticket.assignee_id is None
    assert SLABreach.objects.get().escalation == {"priority": ["normal", "high"], "assignee": None, "notified": 0}


@pytest.mark.django_db
def test_an_urgent_ticket_with_nobody_online_is_recorded_and_left_as_it_is(
    policies, customer_carl, team_cards, agent_alice, maria_with_email, django_capture_on_commit_callbacks
):
    ticket = ticket_create(customer=customer_carl, subject="Fraud", priority="urgent", team=team_cards)

    with django_capture_on_commit_callbacks(execute=True):
        assert sla_breaches_escalate(now=timezone.now() + timedelta(minutes=16)) == 1

    ticket.refresh_from_db()
    assert (ticket.priority, ticket.assignee_id) == ("urgent", None)
    assert _changes(ticket) == []
    assert SLABreach.objects.get().escalation == {"priority": None, "assignee": None, "notified": 1}
    assert AuditEvent.objects.filter(action="sla_escalation").count() == 1
    assert [message.to for message in mail.outbox] == [["maria@example.com"]]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_inbox_tells_agents_in_scope_of_a_breach(
    agent_alice, team_loans, policies, customer_carl, team_cards
):
    await database_sync_to_async(_agent)("lou", [team_loans], online=False)
    ticket = await database_sync_to_async(ticket_create)(customer=customer_carl, subject="Late", team=team_cards)
    alice, _ = await inbox_connect("alice")
    lou, _ = await inbox_connect("lou")

    await database_sync_to_async(sla_breaches_escalate)(now=timezone.now() + timedelta(minutes=61))

    frame = (await frames_until(alice, "sla.breach"))[-1]
    breach = await SLABreach.objects.aget()
    assert frame == {
        "type": "sla.breach",
        "breach": {
            "id": breach.pk,
            "ticket": ticket.pk,
            "kind": "first_response",
            "due_at": breach.due_at.isoformat(),
            "conversation": None,
            "team": team_cards.pk,
            "assignee": None,
            "subject": "Late",
        },
    }
    assert await lou.receive_nothing(timeout=0.3)
    await alice.disconnect()
    await lou.disconnect()


@pytest.mark.django_db
def test_managers_see_calendars_and_breaches_but_cannot_add_or_change_breaches(
    client, manager_maria, late_ticket, customer_carl
):
    sla_breaches_escalate()
    breach = SLABreach.objects.get()
    calendar = BusinessCalendar.objects.create(name="Office hours", timezone="Europe/Berlin")
    conversation = Conversation.objects.create(customer=customer_carl, ticket=late_ticket)
    client.force_login(manager_maria)

    assert client.get(reverse("admin:tickets_businesscalendar_changelist")).status_code == 200
    assert client.get(reverse("admin:tickets_businesscalendar_change", args=[calendar.pk])).status_code == 200
    breaches = client.get(reverse("admin:tickets_slabreach_changelist")).content.decode()
    assert f'href="/admin/tickets/ticket/{late_ticket.pk}/change/"' in breaches
    assert "priority normal → high, 0 notified" in breaches
    assert client.get(reverse("admin:tickets_slabreach_add")).status_code == 403
    change_url = reverse("admin:tickets_slabreach_change", args=[breach.pk])
    assert client.get(change_url).status_code == 200  # a read-only view
    assert client.post(change_url, {"kind": "resolution"}).status_code == 403
    assert SLABreach.objects.get().kind == "first_response"
    ticket_page = client.get(reverse("admin:tickets_ticket_change", args=[late_ticket.pk])).content.decode()
    assert "priority normal → high, 0 notified" in ticket_page  # the breaches inline
    conversation_page = client.get(reverse("admin:conversations_conversation_change", args=[conversation.pk]))
    assert "First response overdue since" in conversation_page.content.decode()


@pytest.mark.django_db
def test_a_calendar_needs_a_real_time_zone_and_a_policy_a_calendar_with_hours(client, manager_maria):
    client.force_login(manager_maria)
    inlines = {f"{prefix}-{field}": 0 for prefix in ("hours", "holidays") for field in ("TOTAL_FORMS", "INITIAL_FORMS")}

    response = client.post(
        reverse("admin:tickets_businesscalendar_add"), {"name": "Mars", "timezone": "Mars/Olympus", **inlines}
    )
    assert response.status_code == 200
    assert "&#x27;Mars/Olympus&#x27; is not an IANA time zone" in response.content.decode()
    assert not BusinessCalendar.objects.exists()

    empty = BusinessCalendar.objects.create(name="Empty", timezone="UTC")
    response = client.post(
        reverse("admin:tickets_slapolicy_add"),
        {
            "name": "Low",
            "priority": "low",
            "first_response_minutes": 60,
            "resolution_minutes": 120,
            "calendar": empty.pk,
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert "Empty has no opening hours yet" in response.content.decode()
    assert not SLAPolicy.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_runs_on_postgresql_escalate_each_breach_once(policies, customer_carl):
    if connection.vendor != "postgresql":
        pytest.skip("row locks (SKIP LOCKED) need PostgreSQL; CI runs this with DATABASE_URL set")
    tickets = [
        _overdue(
            ticket_create(customer=customer_carl, subject=f"Waiting {n}"),
            first_response_due_at=timezone.now() - timedelta(minutes=5),
        )
        for n in range(20)
    ]
    start = threading.Barrier(2)
    escalated: list[int] = []

    def run() -> None:
        try:
            start.wait()
            escalated.append(sla_breaches_escalate())
        finally:
            connections.close_all()

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=60)

    assert sum(escalated) == 20
    assert SLABreach.objects.filter(kind="first_response").count() == 20
    assert set(Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("priority", flat=True)) == {"high"}
    bumps = AuditEvent.objects.filter(action=AuditEvent.Action.SLA_ESCALATION)
    assert bumps.count() == 20
