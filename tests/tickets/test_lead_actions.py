"""The lead's bulk actions on the ticket list (reassign, merge duplicates, close stale pending, export CSV) and
on the conversation list (reassign). Each touched ticket gets its TicketChange rows and each touched object an
AuditEvent; agents are refused every one of them."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import AuditEvent
from apps.conversations.models import Conversation, Message
from apps.conversations.services import conversation_start, message_post
from apps.customers.models import Customer
from apps.tickets.bulk import ticket_merge, tickets_close_stale_pending
from apps.tickets.models import Ticket, TicketChange
from apps.tickets.services import ticket_create, ticket_set_status

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:tickets_ticket_changelist")


def run_action(client, action: str, tickets: list[Ticket], **fields):
    data = {"action": action, "_selected_action": [t.pk for t in tickets], **fields}
    return client.post(CHANGELIST, data)


def ticket_with_chat(customer: Customer, subject: str, texts: list[str]) -> Ticket:
    ticket = ticket_create(customer=customer, subject=subject)
    conversation = conversation_start(customer=customer)
    conversation.ticket = ticket
    conversation.save(update_fields=["ticket"])
    for text in texts:
        message_post(conversation=conversation, role=Message.Role.CUSTOMER, text=text)
    return ticket


def test_reassign_asks_whom_then_reassigns_each_ticket_with_history_and_audit(
    client, manager_maria, agent_alice, agent_bob, customer_carl
):
    first = ticket_create(customer=customer_carl, subject="One", assignee=agent_alice)
    second = ticket_create(customer=customer_carl, subject="Two")
    already = ticket_create(customer=customer_carl, subject="Three", assignee=agent_bob)
    client.force_login(manager_maria)

    form_page = run_action(client, "reassign_tickets", [first, second, already])
    response = run_action(client, "reassign_tickets", [first, second, already], apply="yes", agent=agent_bob.pk)

    assert form_page.status_code == 200
    assert b"Reassign 3 ticket(s): to whom?" in form_page.content
    assert response.status_code == 302
    assert [t.assignee_id for t in Ticket.objects.order_by("pk")] == [agent_bob.pk, agent_bob.pk, agent_bob.pk]
    rows = TicketChange.objects.filter(field="assignee", comment="bulk reassign").order_by("ticket_id")
    assert [(row.ticket_id, row.old_value, row.new_value, row.actor_id) for row in rows] == [
        (first.pk, f"alice (#{agent_alice.pk})", f"bob (#{agent_bob.pk})", manager_maria.pk),
        (second.pk, "", f"bob (#{agent_bob.pk})", manager_maria.pk),
    ]
    audited = AuditEvent.objects.filter(action=AuditEvent.Action.TICKET_REASSIGN).order_by("target_id")
    assert [(e.target_id, e.actor_id) for e in audited] == [
        (str(first.pk), manager_maria.pk),
        (str(second.pk), manager_maria.pk),
    ]


def test_merge_keeps_every_message_and_change_row_and_points_the_duplicates_at_the_survivor(
    manager_maria, customer_carl
):
    survivor = ticket_with_chat(customer_carl, "Card lost", ["I lost my card", "Please block it"])
    duplicate = ticket_with_chat(customer_carl, "Card lost again", ["Hello?", "Anyone?", "Card lost!"])
    other = ticket_with_chat(customer_carl, "Lost card", ["Same here"])
    messages_before = set(Message.objects.values_list("pk", "text"))
    changes_before = set(TicketChange.objects.values_list("pk", "ticket_id", "field", "new_value"))

    merged_at = timezone.now()
    result = ticket_merge(survivor=survivor, duplicates=[duplicate, other], actor=manager_maria)

    assert result.conversations_moved == 2
    assert set(Message.objects.values_list("pk", "text")) == messages_before
    assert set(Message.objects.values_list("conversation__ticket_id", flat=True)) == {survivor.pk}
    # Touched, so the reports' beat job refreshes their facts with the survivor's SLA breaches.
    assert Conversation.objects.filter(ticket=survivor, updated_at__gte=merged_at).count() == 2
    changes_after = set(TicketChange.objects.values_list("pk", "ticket_id", "field", "new_value"))
    assert changes_before < changes_after
    added = sorted((row[1], row[2], row[3]) for row in changes_after - changes_before)
    assert added == sorted(
        [
            (duplicate.pk, "status", "closed"),
            (duplicate.pk, "merged_into", f"#{survivor.pk}"),
            (survivor.pk, "merged", f"#{duplicate.pk}"),
            (other.pk, "status", "closed"),
            (other.pk, "merged_into", f"#{survivor.pk}"),
            (survivor.pk, "merged", f"#{other.pk}"),
        ]
    )
    for ticket in (duplicate, other):
        ticket.refresh_from_db()
        assert (ticket.merged_into_id, ticket.status) == (survivor.pk, "closed")
    survivor.refresh_from_db()
    assert (survivor.merged_into_id, survivor.status) == (None, "new")
    audited = AuditEvent.objects.filter(action=AuditEvent.Action.TICKET_MERGE)
    assert sorted(audited.values_list("target_id", flat=True)) == sorted(
        [str(survivor.pk), str(duplicate.pk), str(other.pk)]
    )


def test_merge_refuses_another_customers_ticket_and_an_already_merged_one_and_changes_nothing(
    manager_maria, customer_carl
):
    dora = Customer.objects.create(external_id="c-2", name="Dora", email="dora@example.com")
    survivor = ticket_with_chat(customer_carl, "Card lost", ["lost"])
    foreign = ticket_with_chat(dora, "Card lost", ["mine too"])
    merged = ticket_create(customer=customer_carl, subject="Old")
    ticket_merge(survivor=survivor, duplicates=[merged], actor=manager_maria)
    rows_before = TicketChange.objects.count()

    with pytest.raises(ValidationError) as refused:
        ticket_merge(survivor=survivor, duplicates=[foreign, merged], actor=manager_maria)

    assert refused.value.messages == [
        f"#{merged.pk} is already merged into #{survivor.pk}.",
        f"#{foreign.pk} belong(s) to another customer than #{survivor.pk}; only duplicates merge.",
    ]
    assert TicketChange.objects.count() == rows_before
    assert foreign.conversations.count() == 1


def test_merge_through_the_admin_defaults_to_the_oldest_as_survivor(client, manager_maria, customer_carl):
    oldest = ticket_with_chat(customer_carl, "First", ["a"])
    newer = ticket_with_chat(customer_carl, "Second", ["b"])
    client.force_login(manager_maria)

    form_page = run_action(client, "merge_tickets", [oldest, newer])
    response = run_action(client, "merge_tickets", [oldest, newer], apply="yes", survivor=oldest.pk)

    assert form_page.context["form"]["survivor"].initial == oldest
    assert response.status_code == 302
    newer.refresh_from_db()
    assert newer.merged_into_id == oldest.pk


def test_close_stale_pending_closes_only_pending_tickets_untouched_for_the_set_days(manager_maria, customer_carl):
    now = timezone.now()
    stale = ticket_create(customer=customer_carl, subject="Waiting on customer")
    fresh = ticket_create(customer=customer_carl, subject="Just asked")
    open_ticket = ticket_create(customer=customer_carl, subject="Open")
    for ticket in (stale, fresh):
        ticket_set_status(ticket=ticket, status="pending", actor=manager_maria)
    Ticket.objects.filter(pk__in=[stale.pk, open_ticket.pk]).update(updated_at=now - timedelta(days=8))

    closed = tickets_close_stale_pending(tickets=[stale, fresh, open_ticket], days=7, actor=manager_maria, now=now)

    assert [t.pk for t in closed] == [stale.pk]
    assert dict(Ticket.objects.values_list("pk", "status")) == {
        stale.pk: "closed",
        fresh.pk: "pending",
        open_ticket.pk: "new",
    }
    row = TicketChange.objects.get(ticket=stale, field="status", new_value="closed")
    assert (row.old_value, row.actor_id, row.comment) == (
        "pending",
        manager_maria.pk,
        "closed: pending with no reply for 7 days",
    )
    assert list(
        AuditEvent.objects.filter(action=AuditEvent.Action.TICKET_STALE_CLOSE).values_list("target_id", flat=True)
    ) == [str(stale.pk)]


def test_export_writes_the_selection_as_csv_with_formulas_defused_and_audits_each_ticket(
    client, manager_maria, customer_carl
):
    first = ticket_create(customer=customer_carl, subject='=HYPERLINK("http://evil")')
    second = ticket_create(customer=customer_carl, subject="Plain")
    ticket_create(customer=customer_carl, subject="Not selected")
    client.force_login(manager_maria)

    response = run_action(client, "export_csv", [second, first])

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["id", "subject", "customer"]
    assert [row[:3] for row in rows[1:]] == [
        [str(first.pk), '\'=HYPERLINK("http://evil")', "Carl Customer"],
        [str(second.pk), "Plain", "Carl Customer"],
    ]
    audited = AuditEvent.objects.filter(action=AuditEvent.Action.TICKET_EXPORT)
    assert sorted(audited.values_list("target_id", flat=True)) == sorted([str(first.pk), str(second.pk)])


@pytest.mark.parametrize("action", ["reassign_tickets", "merge_tickets", "close_stale_pending", "export_csv"])
def test_agents_are_refused_the_lead_actions(client, agent_alice, customer_carl, action):
    tickets = [ticket_create(customer=customer_carl, subject=s) for s in ("One", "Two")]
    client.force_login(agent_alice)

    page = client.get(CHANGELIST)
    response = run_action(client, action, tickets, apply="yes", agent=agent_alice.pk, survivor=tickets[0].pk)

    assert action not in [name for name, _ in page.context["action_form"].fields["action"].choices]
    # Django answers an action the user may not run like an unknown one: back to the list, nothing done.
    assert response.status_code == 302
    assert TicketChange.objects.exclude(field="created").count() == 0
    lead_audit = ["ticket_reassign", "ticket_merge", "ticket_stale_close", "ticket_export"]
    assert AuditEvent.objects.filter(action__in=lead_audit).count() == 0


def test_a_lead_reassigns_live_conversations_in_bulk_and_leaves_closed_and_bot_ones(
    client, manager_maria, agent_alice, agent_bob, customer_carl
):
    live = conversation_start(customer=customer_carl)
    waiting = conversation_start(customer=customer_carl)
    closed = conversation_start(customer=customer_carl)
    with_bot = conversation_start(customer=customer_carl)
    Conversation.objects.filter(pk=live.pk).update(state="agent", assignee=agent_alice)
    Conversation.objects.filter(pk=waiting.pk).update(state="waiting")
    Conversation.objects.filter(pk=closed.pk).update(state="closed", assignee=agent_alice)
    changelist = reverse("admin:conversations_conversation_changelist")
    selection = {"action": "reassign_conversations", "_selected_action": [live.pk, waiting.pk, closed.pk, with_bot.pk]}
    client.force_login(manager_maria)

    response = client.post(changelist, {**selection, "apply": "yes", "agent": agent_bob.pk})

    assert response.status_code == 302
    assert dict(Conversation.objects.values_list("pk", "assignee")) == {
        live.pk: agent_bob.pk,
        waiting.pk: agent_bob.pk,
        closed.pk: agent_alice.pk,
        with_bot.pk: None,
    }
    assert Message.objects.filter(conversation=live, role="system", text="bob joined the conversation.").exists()
    audited = AuditEvent.objects.filter(action=AuditEvent.Action.CONVERSATION_REASSIGN).order_by("target_id")
    assert [(e.target_id, e.detail) for e in audited] == [
        (str(live.pk), {"assignee": [agent_alice.pk, agent_bob.pk]}),
        (str(waiting.pk), {"assignee": [None, agent_bob.pk]}),
    ]
    client.force_login(agent_alice)
    refused = client.post(changelist, {**selection, "apply": "yes", "agent": agent_alice.pk})
    assert refused.status_code == 302
    assert Conversation.objects.get(pk=live.pk).assignee_id == agent_bob.pk
