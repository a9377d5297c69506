from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from apps.tickets.models import SLAPolicy, Ticket, TicketChange
from apps.tickets.services import (
    ticket_assign,
    ticket_create,
    ticket_record_first_response,
    ticket_set_status,
    ticket_update,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sla_default_high(db) -> SLAPolicy:
    return SLAPolicy.objects.create(name="High", priority="high", first_response_minutes=30, resolution_minutes=240)


@pytest.fixture
def ticket(customer_carl) -> Ticket:
    return ticket_create(customer=customer_carl, subject="Card not arrived", intent="card_arrival")


def test_create_writes_one_audit_row_and_starts_new(ticket):
    assert ticket.status == Ticket.Status.NEW
    assert list(ticket.changes.values_list("field", "new_value")) == [("created", "new")]


def test_every_changed_field_gets_its_own_audit_row_with_the_actor(ticket, agent_alice, team_cards):
    audit = ticket_update(
        ticket=ticket, actor=agent_alice, comment="triage", priority="high", team=team_cards, subject="Card not arrived"
    )

    assert {(row.field, row.old_value, row.new_value) for row in audit} == {
        ("priority", "normal", "high"),
        ("team", "", f"Cards (#{team_cards.pk})"),
    }
    stored = TicketChange.objects.filter(ticket=ticket).exclude(field="created")
    assert stored.count() == 2
    assert set(stored.values_list("actor", flat=True)) == {agent_alice.pk}
    assert set(stored.values_list("comment", flat=True)) == {"triage"}


def test_an_update_that_changes_nothing_writes_no_row(ticket, agent_alice):
    audit = ticket_update(ticket=ticket, actor=agent_alice, subject=ticket.subject)

    assert audit == []
    assert ticket.changes.count() == 1


def test_fields_outside_the_editable_set_are_refused_and_nothing_changes(ticket, agent_alice):
    with pytest.raises(ValueError, match="resolved_at"):
        ticket_update(ticket=ticket, actor=agent_alice, resolved_at=None, subject="new subject")

    ticket.refresh_from_db()
    assert ticket.subject == "Card not arrived"
    assert ticket.changes.count() == 1


def test_assigning_a_new_ticket_opens_it_and_audits_both(ticket, agent_alice):
    ticket_assign(ticket=ticket, agent=agent_alice, actor=agent_alice)

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert list(ticket.changes.exclude(field="created").values_list("field", "new_value")) == [
        ("assignee", f"alice (#{agent_alice.pk})"),
        ("status", "open"),
    ]


def test_resolving_stamps_resolved_at_and_reopening_clears_it(ticket, agent_alice):
    ticket_set_status(ticket=ticket, status=Ticket.Status.RESOLVED, actor=agent_alice)
    ticket.refresh_from_db()
    assert ticket.resolved_at is not None

    ticket_set_status(ticket=ticket, status=Ticket.Status.OPEN, actor=agent_alice, comment="customer wrote back")

    ticket.refresh_from_db()
    assert ticket.resolved_at is None
    assert ticket.changes.filter(field="status").count() == 2


def test_closing_stamps_closed_at_and_keeps_the_resolution_time(ticket, agent_alice):
    ticket_set_status(ticket=ticket, status=Ticket.Status.RESOLVED, actor=agent_alice)
    ticket.refresh_from_db()
    resolved_at = ticket.resolved_at

    ticket_set_status(ticket=ticket, status=Ticket.Status.CLOSED, actor=agent_alice)

    ticket.refresh_from_db()
    assert ticket.resolved_at == resolved_at
    assert ticket.closed_at is not None


def test_resolved_without_resolved_at_is_refused_by_the_database(customer_carl):
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.create(customer=customer_carl, subject="x", status=Ticket.Status.RESOLVED)


def test_due_dates_follow_the_sla_policy_of_the_priority(customer_carl, sla_default_high):
    ticket = ticket_create(customer=customer_carl, subject="Blocked card", priority="high")

    assert ticket.sla_policy == sla_default_high
    assert ticket.first_response_due_at - ticket.created_at == pytest.approx(
        timedelta(minutes=30), abs=timedelta(seconds=1)
    )
    assert ticket.resolution_due_at - ticket.created_at == pytest.approx(
        timedelta(minutes=240), abs=timedelta(seconds=1)
    )


def test_a_teams_own_policy_wins_and_a_priority_change_recomputes_due_dates(
    ticket, agent_alice, team_cards, sla_default_high
):
    cards_high = SLAPolicy.objects.create(
        name="Cards high", priority="high", team=team_cards, first_response_minutes=10, resolution_minutes=60
    )
    assert ticket.sla_policy is None

    ticket_update(ticket=ticket, actor=agent_alice, priority="high", team=team_cards)

    ticket.refresh_from_db()
    assert ticket.sla_policy == cards_high
    assert ticket.resolution_due_at == ticket.created_at + timedelta(minutes=60)


def test_two_active_default_policies_for_one_priority_are_refused(sla_default_high):
    with pytest.raises(IntegrityError), transaction.atomic():
        SLAPolicy.objects.create(name="High again", priority="high", first_response_minutes=5, resolution_minutes=50)


def test_first_response_is_recorded_once(ticket, agent_alice):
    first = ticket.created_at + timedelta(minutes=3)
    ticket_record_first_response(ticket=ticket, at=first, actor=agent_alice)
    ticket_record_first_response(ticket=ticket, at=first + timedelta(minutes=5), actor=agent_alice)

    ticket.refresh_from_db()
    assert ticket.first_response_at == first
    assert ticket.changes.filter(field="first_response_at").count() == 1
