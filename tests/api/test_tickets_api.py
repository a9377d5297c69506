import pytest
from django.contrib.auth import get_user_model

from apps.accounts.models import AgentProfile, Team
from apps.tickets.bulk import ticket_merge
from apps.tickets.models import SLABreach, Ticket, TicketChange
from apps.tickets.services import ticket_create, ticket_update
from tests.api.conftest import make_tickets

pytestmark = pytest.mark.django_db


def test_list_filters_by_status_team_assignee_and_priority(client_for, customer_carl, agent_alice, team_cards):
    plain, urgent_for_alice, pending_cards = make_tickets(customer_carl, 3)
    ticket_update(ticket=urgent_for_alice, actor=None, priority="urgent", assignee=agent_alice)
    ticket_update(ticket=pending_cards, actor=None, status="pending", team=team_cards)
    client = client_for("manager_maria")

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/tickets/?{query}")
        assert response.status_code == 200
        return [row["id"] for row in response.data["results"]]

    assert ids("status=new") == [plain.pk]
    assert ids("status=pending") == [pending_cards.pk]
    assert ids(f"team={team_cards.pk}") == [pending_cards.pk]
    assert ids(f"assignee={agent_alice.pk}") == [urgent_for_alice.pk]
    assert ids("priority=urgent") == [urgent_for_alice.pk]
    assert ids("priority=urgent&status=new") == []
    assert ids("ordering=created_at") == [plain.pk, urgent_for_alice.pk, pending_cards.pk]
    assert ids("") == [pending_cards.pk, urgent_for_alice.pk, plain.pk]


@pytest.mark.parametrize("query", ["status=bogus", "priority=very", "team=abc", "assignee=0"])
def test_a_bad_filter_is_a_400_not_an_empty_list(client_for, ticket, query):
    response = client_for("agent_alice").get(f"/api/tickets/?{query}")

    assert response.status_code == 400


def test_list_row_shape(client_for, ticket, customer_carl):
    response = client_for("agent_alice").get("/api/tickets/")

    row = response.data["results"][0]
    assert row["customer"] == {"id": customer_carl.pk, "external_id": "c-1", "name": "Carl Customer"}
    assert row["team"] is None
    assert row["assignee"] is None
    assert "changes" not in row
    assert response.data["count"] == 1


def test_retrieve_carries_the_history_with_actors(client_for, ticket, agent_alice):
    ticket_update(ticket=ticket, actor=agent_alice, comment="triage", priority="high")

    response = client_for("manager_maria").get(f"/api/tickets/{ticket.pk}/")

    assert response.status_code == 200
    assert [(c["field"], c["old_value"], c["new_value"]) for c in response.data["changes"]] == [
        ("created", "", "new"),
        ("priority", "normal", "high"),
    ]
    assert response.data["changes"][0]["actor"] is None
    assert response.data["changes"][1]["actor"] == {"id": agent_alice.pk, "username": "alice"}
    assert response.data["changes"][1]["comment"] == "triage"


def test_retrieve_carries_the_sla_breaches_and_the_merge(client_for, ticket, customer_carl, manager_maria):
    survivor = ticket_create(customer=customer_carl, subject="The same problem, earlier")
    ticket_merge(survivor=survivor, duplicates=[ticket], actor=manager_maria)
    breach = SLABreach.objects.create(ticket=ticket, kind="first_response", due_at=ticket.created_at)

    merged = client_for("agent_alice").get(f"/api/tickets/{ticket.pk}/").data

    assert merged["merged_into"] == survivor.pk
    assert merged["status"] == "closed"
    assert merged["sla_breaches"] == [
        {
            "id": breach.pk,
            "kind": "first_response",
            "due_at": breach.due_at.isoformat().replace("+00:00", "Z"),
            "detected_at": breach.detected_at.isoformat().replace("+00:00", "Z"),
            "escalated_at": None,
            "escalation": {},
        }
    ]


def test_create_goes_through_the_service_with_the_request_user_as_actor(client_for, customer_carl, agent_alice):
    description = "  <script>alert(1)</script>\n  Two lines, kept as sent.  "

    response = client_for("agent_alice").post(
        "/api/tickets/",
        {
            "customer": customer_carl.pk,
            "subject": "Card stuck",
            "description": description,
            "priority": "high",
            "assignee": agent_alice.pk,
        },
        format="json",
    )

    assert response.status_code == 201
    ticket = Ticket.objects.get()
    assert response.data["id"] == ticket.pk
    # The service's rule: an assigned ticket starts open.
    assert response.data["status"] == "open"
    assert response.data["description"] == description == ticket.description
    assert [(c["field"], c["actor"]["id"]) for c in response.data["changes"]] == [("created", agent_alice.pk)]


def test_create_refuses_an_assignee_who_is_no_agent(client_for, customer_carl, plain_user_pat, manager_maria):
    client = client_for("agent_alice")

    for outsider in (plain_user_pat, manager_maria):
        response = client.post(
            "/api/tickets/", {"customer": customer_carl.pk, "subject": "x", "assignee": outsider.pk}, format="json"
        )
        assert response.status_code == 400
        assert "assignee" in response.data
    assert not Ticket.objects.exists()


def test_create_refuses_fields_the_service_sets(client_for, customer_carl):
    response = client_for("agent_alice").post(
        "/api/tickets/", {"customer": customer_carl.pk, "subject": "x", "status": "closed"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.data) == ["status"]
    assert not Ticket.objects.exists()


def test_patch_audits_every_changed_field_with_the_actor(client_for, ticket, agent_alice, team_cards):
    response = client_for("agent_alice").patch(
        f"/api/tickets/{ticket.pk}/",
        {"priority": "high", "team": team_cards.pk, "subject": ticket.subject, "comment": "triage"},
        format="json",
    )

    assert response.status_code == 200
    rows = TicketChange.objects.exclude(field="created")
    assert {(row.field, row.old_value, row.new_value, row.actor_id, row.comment) for row in rows} == {
        ("priority", "normal", "high", agent_alice.pk, "triage"),
        ("team", "", f"Cards (#{team_cards.pk})", agent_alice.pk, "triage"),
    }
    assert response.data["priority"] == "high"
    assert response.data["team"] == {"id": team_cards.pk, "slug": "cards", "name": "Cards"}
    assert [c["field"] for c in response.data["changes"]] == ["created", "priority", "team"]


def test_patch_resolving_stamps_resolved_at(client_for, ticket):
    response = client_for("admin_ada").patch(f"/api/tickets/{ticket.pk}/", {"status": "resolved"}, format="json")

    assert response.status_code == 200
    assert response.data["status"] == "resolved"
    assert response.data["resolved_at"] is not None


@pytest.mark.parametrize(
    "body",
    [
        {"customer": 99},
        {"resolved_at": "2030-01-01T00:00:00Z"},
        {"id": 7},
        {"priority": "high", "prioritty": "low"},
        {"priority": "very"},
        {"assignee": 123456},
        {"comment": "nothing else"},
        {},
    ],
)
def test_patch_refuses_anything_but_editable_fields_and_writes_nothing(client_for, ticket, body):
    before = Ticket.objects.values().get(pk=ticket.pk)

    response = client_for("agent_alice").patch(f"/api/tickets/{ticket.pk}/", body, format="json")

    assert response.status_code == 400
    assert Ticket.objects.values().get(pk=ticket.pk) == before
    assert list(TicketChange.objects.values_list("field", flat=True)) == ["created"]


def test_patch_names_the_field_it_refuses(client_for, ticket):
    response = client_for("agent_alice").patch(f"/api/tickets/{ticket.pk}/", {"customer": 99}, format="json")

    assert response.data == {"customer": ["This field may not be set here."]}


def test_patch_of_a_missing_ticket_is_404(client_for):
    response = client_for("agent_alice").patch("/api/tickets/999/", {"priority": "high"}, format="json")

    assert response.status_code == 404


def _team(slug: str) -> Team:
    return Team.objects.create(name=slug.title(), slug=slug)


def _assigned_tickets(customer, count: int) -> None:
    # Every row has a team and an assignee, so a missing select_related would show up as extra queries.
    for n, ticket in enumerate(make_tickets(customer, count)):
        agent = get_user_model().objects.create_user(username=f"agent{count}-{n}", is_superuser=True)
        team = _team(f"t{count}-{n}")
        # Alice is in every team, so every ticket is in her scope.
        AgentProfile.objects.get(user__username="alice").teams.add(team)
        ticket_update(ticket=ticket, actor=None, team=team, assignee=agent)


def test_list_query_count_does_not_grow_with_rows(client_for, customer_carl, django_assert_num_queries):
    client = client_for("agent_alice")
    # session, user, roles, the agent's teams, count, page
    _assigned_tickets(customer_carl, 3)
    with django_assert_num_queries(6):
        assert len(client.get("/api/tickets/").data["results"]) == 3

    _assigned_tickets(customer_carl, 7)
    with django_assert_num_queries(6):
        assert len(client.get("/api/tickets/").data["results"]) == 10


def test_detail_query_count_does_not_grow_with_history(client_for, ticket, agent_alice, django_assert_num_queries):
    client = client_for("agent_alice")
    # session, user, roles, the agent's teams, ticket, changes with actors, SLA breaches
    with django_assert_num_queries(7):
        client.get(f"/api/tickets/{ticket.pk}/")

    for priority in ("high", "low", "urgent", "normal"):
        ticket_update(ticket=ticket, actor=agent_alice, priority=priority)
    with django_assert_num_queries(7):
        assert len(client.get(f"/api/tickets/{ticket.pk}/").data["changes"]) == 5
