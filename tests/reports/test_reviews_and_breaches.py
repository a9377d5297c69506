"""Review scores and SLA breaches in the rollup and the reports, on the hand-made desk of conftest.py plus:

| # | agent | team  | reviews (score)        | review score | ticket's breaches |
| - | ----- | ----- | ---------------------- | ------------ | ----------------- |
| 1 | alice | Cards | maria 4.0, ada 5.0     | 4.5          | —                 |
| 2 | bob   | Cards | maria 3.0              | 3.0          | 2                 |
| 3 | alice | Cards | maria 2.0              | 2.0          | 1                 |
| 4 | —     | —     | —                      | —            | —                 |
| 5 | —     | Cards | ada 1.5                | 1.5          | —                 |

So alice: 2 reviewed, (4.5 + 2) / 2 = 3.25, 1 breach; bob: 1 reviewed, 3.0, 2 breaches; Cards: 4 reviewed,
(4.5 + 3 + 2 + 1.5) / 4 = 2.75, 3 breaches; nobody's team: none; the desk as the team.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.conversations.models import Conversation
from apps.oversight.models import ConversationReview
from apps.reports.models import ConversationFact
from apps.reports.selectors import (
    NO_AGENT,
    NO_TEAM,
    ReportFilters,
    report_breakdown,
    report_leaderboard,
    report_summary,
)
from apps.reports.services import conversation_facts_refresh, conversation_facts_refresh_stale
from apps.tickets.models import SLABreach, Ticket
from tests.reports.html_tables import page_tables

pytestmark = pytest.mark.django_db

MARCH = "date_from=2026-03-01&date_to=2026-03-31"
EVERYTHING = ReportFilters()


def _review(conversation: Conversation, reviewer, score: float) -> ConversationReview:
    # Stored directly: these tests are about the rollup; tests/oversight go through the service.
    return ConversationReview.objects.create(
        conversation=conversation, agent=conversation.assignee, team=conversation.team, reviewer=reviewer, score=score
    )


def _ticket_with_breaches(conversation: Conversation, kinds: list[str]) -> Ticket:
    ticket = Ticket.objects.create(customer=conversation.customer, subject=f"About #{conversation.pk}")
    for kind in kinds:
        SLABreach.objects.create(ticket=ticket, kind=kind, due_at=conversation.created_at)
    Conversation.objects.filter(pk=conversation.pk).update(ticket=ticket)
    return ticket


@pytest.fixture
def reviewed_desk(desk, manager_maria, admin_ada):
    c = desk.conversations
    _review(c[0], manager_maria, 4.0)
    _review(c[0], admin_ada, 5.0)
    _review(c[1], manager_maria, 3.0)
    _review(c[2], manager_maria, 2.0)
    _review(c[4], admin_ada, 1.5)
    _ticket_with_breaches(c[1], [SLABreach.Kind.FIRST_RESPONSE, SLABreach.Kind.RESOLUTION])
    _ticket_with_breaches(c[2], [SLABreach.Kind.RESOLUTION])
    conversation_facts_refresh(conversation_ids=[conversation.pk for conversation in c])
    return desk


def test_each_fact_holds_its_review_mean_and_breach_count(reviewed_desk):
    facts = ConversationFact.objects.order_by("conversation_id").values_list("review_score", "sla_breaches")

    assert list(facts) == [(4.5, 0), (3.0, 2), (2.0, 1), (None, 0), (1.5, 0)]


def test_the_refresh_of_a_batch_reads_reviews_and_breaches_once_for_the_batch(reviewed_desk, django_assert_num_queries):
    # Conversations, messages, suggestion outcomes, the reviews' means, the tickets' breaches (one query each
    # for the whole batch); the delete and the upsert in a savepoint.
    with django_assert_num_queries(9):
        written = conversation_facts_refresh(conversation_ids=[c.pk for c in reviewed_desk.conversations])

    assert written == 5


def test_review_scores_and_breaches_by_agent_and_team(reviewed_desk):
    by_agent = {
        f.label: (f.reviewed, f.review_score, f.sla_breaches) for f in report_breakdown(filters=EVERYTHING, by="agent")
    }
    by_team = {
        f.label: (f.reviewed, f.review_score, f.sla_breaches) for f in report_breakdown(filters=EVERYTHING, by="team")
    }
    summary = report_summary(filters=EVERYTHING)

    assert by_agent == {"alice": (2, 3.25, 1), "bob": (1, 3.0, 2), NO_AGENT: (1, 1.5, 0)}
    assert by_team == {"Cards": (4, 2.75, 3), NO_TEAM: (0, None, 0)}
    assert (summary.reviewed, summary.review_score, summary.sla_breaches) == (4, 2.75, 3)


def test_the_leaderboard_sorts_by_review_score_and_breaches(reviewed_desk):
    by_review = report_leaderboard(filters=EVERYTHING, sort="review_score")
    by_breaches = report_leaderboard(filters=EVERYTHING, sort="sla_breaches", descending=False)

    assert [(f.label, f.review_score) for f in by_review] == [("alice", 3.25), ("bob", 3.0)]
    assert [(f.label, f.sla_breaches) for f in by_breaches] == [("alice", 1), ("bob", 2)]


def test_the_dashboard_shows_review_scores_and_breaches(client, manager_maria, reviewed_desk):
    client.force_login(manager_maria)

    response = client.get(f"/reports/?{MARCH}&by=team")

    tables = page_tables(response.content.decode())
    headers = tables["breakdown"]["headers"]
    cards = dict(zip(headers, tables["breakdown"]["rows"][0], strict=True))
    assert (cards["Team"], cards["Review score"], cards["Reviewed"], cards["SLA breaches"]) == (
        "Cards",
        "2.75",
        "4",
        "3",
    )
    assert headers.index("Review score") == headers.index("CSAT (%)") + 1
    assert [[row[0], row[3], row[6]] for row in tables["leaderboard"]["rows"]] == [
        ["alice", "3.25", "1"],
        ["bob", "3.00", "2"],
    ]
    content = response.content.decode()
    assert "<dt>Review score</dt><dd>2.75 / 5</dd><small>4 reviewed by team leads</small>" in content
    assert "<dt>SLA breaches</dt><dd>3</dd><small>targets missed by their tickets</small>" in content


def test_the_beat_job_catches_a_review_and_a_breach_after_the_refresh(reviewed_desk, manager_maria):
    assert conversation_facts_refresh_stale() == 0
    later = timezone.now() + timedelta(seconds=1)
    fourth, fifth = reviewed_desk.conversations[3], reviewed_desk.conversations[4]
    review = _review(fourth, manager_maria, 5.0)
    ConversationReview.objects.filter(pk=review.pk).update(updated_at=later)
    # A second late review of the same conversation: still one refresh for it.
    _review(fifth, manager_maria, 2.5)
    ConversationReview.objects.filter(conversation=fifth).update(updated_at=later)
    ticket = _ticket_with_breaches(fifth, [SLABreach.Kind.FIRST_RESPONSE])
    SLABreach.objects.filter(ticket=ticket).update(detected_at=later)

    assert conversation_facts_refresh_stale() == 2
    assert ConversationFact.objects.values_list("review_score", "sla_breaches").get(pk=fourth.pk) == (5.0, 0)
    assert ConversationFact.objects.values_list("review_score", "sla_breaches").get(pk=fifth.pk) == (2.0, 1)


def test_a_breach_alone_makes_a_fact_stale(reviewed_desk):
    first = reviewed_desk.conversations[0]
    ticket = _ticket_with_breaches(first, [SLABreach.Kind.RESOLUTION])
    SLABreach.objects.filter(ticket=ticket).update(detected_at=timezone.now() + timedelta(seconds=1))
    # (Linking the ticket was a queryset update: the conversation's updated_at did not move.)

    assert conversation_facts_refresh_stale() == 1
    assert ConversationFact.objects.get(pk=first.pk).sla_breaches == 1
