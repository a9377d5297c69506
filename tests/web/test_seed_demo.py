"""manage.py seed_demo: a small seed creates what it says, a re-run changes nothing, passwords show once."""

import csv
import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Min
from django.utils import timezone

from apps.accounts.models import AgentProfile, Team
from apps.accounts.roles import AGENTS, MANAGERS, ML_ADMINS
from apps.conversations.models import CannedReply, Conversation, Message, SatisfactionSurvey
from apps.customers.models import Customer
from apps.knowledge.models import Article, ArticleRevision
from apps.oversight.models import ConversationReview, ReviewCriterion, ReviewScore
from apps.recommendations.models import Interaction, Product
from apps.reports.models import ConversationFact
from apps.tickets.models import BusinessCalendar, BusinessHours, Holiday, SLAPolicy, Ticket, TicketChange
from apps.tickets.services import ticket_assign, ticket_create, ticket_record_first_response, ticket_set_status
from apps.tickets.sla import sla_due_times
from apps.web.demo.catalogue import SAMPLE_UTTERANCES, intent_profiles
from apps.web.demo.history import ticket_audit_rows
from apps.web.demo.plans import PlannedTicket

SMALL = ("--customers", "20", "--conversations", "60")
PASSWORD_LINE = re.compile(r"^\s+(agent|manager|mladmin|admin)\s+(\S+)\s+\(", re.MULTILINE)
DEMO_MODELS = (
    Customer,
    Conversation,
    Message,
    SatisfactionSurvey,
    Ticket,
    TicketChange,
    Team,
    AgentProfile,
    SLAPolicy,
    BusinessCalendar,
    BusinessHours,
    Holiday,
    Article,
    ArticleRevision,
    Product,
    CannedReply,
    ConversationReview,
    ReviewScore,
)


def seed_demo(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *SMALL, *args, stdout=out)
    return out.getvalue()


def printed_passwords(output: str) -> dict[str, str]:
    return dict(PASSWORD_LINE.findall(output))


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in DEMO_MODELS}


@pytest.mark.django_db
def test_small_seed_creates_what_it_says(settings):
    output = seed_demo()

    assert Customer.objects.filter(external_id__startswith="demo-").count() == 20
    assert Customer.objects.filter(external_id="demo-0001").exists()
    assert Conversation.objects.count() == 60
    assert f"conversations     60  (60 new), {Message.objects.count()} messages" in output
    assert set(Ticket.objects.values_list("status", flat=True)) == set(Ticket.Status.values)
    assert set(Conversation.objects.values_list("state", flat=True)) == set(Conversation.State.values)
    assert set(Conversation.objects.values_list("channel", flat=True)) == {"widget", "email"}
    assert Team.objects.filter(is_default=True).count() == 1
    office = BusinessCalendar.objects.get(name="Office hours")
    assert dict(SLAPolicy.objects.filter(team=None, is_active=True).values_list("priority", "calendar")) == {
        "urgent": None,
        "high": None,
        "normal": office.pk,
        "low": office.pk,
    }
    assert [str(hours) for hours in office.hours.all()] == [
        f"{day} 09:00-17:00" for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
    ]
    assert office.holidays.count() == 6
    assert 25 <= Article.objects.count() <= 40
    assert Product.objects.count() >= 10
    assert 5 <= CannedReply.objects.count() <= 8
    train = settings.SHARED_DATA_DIR / "banking77" / "train.csv"
    assert f"customer messages from {train if train.is_file() else SAMPLE_UTTERANCES}" in output


@pytest.mark.django_db
def test_the_manager_has_reviewed_some_closed_conversations_and_the_reports_count_them():
    output = seed_demo()

    reviews = list(ConversationReview.objects.select_related("conversation", "reviewer").prefetch_related("scores"))
    assert reviews
    assert f"reviews {len(reviews)}" in output
    criteria = ReviewCriterion.objects.filter(is_active=True).count()
    for review in reviews:
        assert review.reviewer.username == "manager"
        assert review.conversation.state == "closed"
        assert review.agent_id == review.conversation.assignee_id is not None
        marks = [score.score for score in review.scores.all()]
        assert len(marks) == criteria
        assert review.score == sum(marks) / criteria
        assert review.created_at <= timezone.now()
    facts = dict(
        ConversationFact.objects.filter(review_score__isnull=False).values_list("conversation", "review_score")
    )
    assert facts == {review.conversation_id: review.score for review in reviews}


@pytest.mark.django_db
def test_articles_and_teams_cover_all_77_intents():
    seed_demo()

    published = Article.objects.filter(published=True).values_list("intents", flat=True)
    assert {intent for intents in published for intent in intents} == set(intent_profiles())
    assert len(intent_profiles()) == 77
    routed = [intent for intents in Team.objects.values_list("intents", flat=True) for intent in intents]
    assert sorted(routed) == sorted(intent_profiles())


def test_intents_are_the_banking77_categories(settings):
    categories = settings.SHARED_DATA_DIR / "banking77" / "categories.json"
    if not categories.is_file():
        pytest.skip(f"{categories} is absent; test_falls_back_to_the_shipped_sample checks the sample's intents")
    assert set(json.loads(categories.read_text())) == set(intent_profiles())


@pytest.mark.django_db
def test_demo_logins_have_their_roles_and_printed_passwords_work():
    output = seed_demo()

    users = {user.username: user for user in get_user_model().objects.all()}
    assert list(users["agent"].groups.values_list("name", flat=True)) == [AGENTS]
    assert list(users["manager"].groups.values_list("name", flat=True)) == [MANAGERS]
    assert list(users["mladmin"].groups.values_list("name", flat=True)) == [ML_ADMINS]
    assert users["admin"].is_superuser
    assert users["admin"].is_staff
    assert users["agent"].agent_profile.teams.count() == 3
    assert AgentProfile.objects.count() == 6  # the demo login and five agents on the floor
    passwords = printed_passwords(output)
    assert sorted(passwords) == ["admin", "agent", "manager", "mladmin"]
    for username, password in passwords.items():
        assert authenticate(username=username, password=password) == users[username]


@pytest.mark.django_db
def test_seeded_history_is_consistent():
    before = timezone.now()
    seed_demo()

    # Every conversation numbers its messages 1..last_seq, in time order, and its timestamps follow them.
    conversations = Conversation.objects.annotate(
        n=Count("messages"), first=Min("messages__seq"), last=Max("messages__seq")
    )
    assert {(c.first, c.last, c.n) for c in conversations} == {(1, c.last_seq, c.last_seq) for c in conversations}
    for conversation in Conversation.objects.prefetch_related("messages"):
        moments = [message.created_at for message in conversation.messages.all()]
        assert moments == sorted(moments)
        assert (conversation.created_at, conversation.last_message_at) == (moments[0], moments[-1])
    # Nothing happens in the future; the history spans 90 days and the live conversations are recent.
    assert not Message.objects.filter(created_at__gt=before).exists()
    assert not TicketChange.objects.filter(created_at__gt=before).exists()
    assert before - Conversation.objects.order_by("created_at").first().created_at < timedelta(days=91)
    live = Conversation.objects.exclude(state=Conversation.State.CLOSED)
    assert all(before - conversation.created_at < timedelta(hours=6) for conversation in live)
    # Customers ask with a BANKING77 intent; tickets follow their conversation.
    asked = Message.objects.filter(role=Message.Role.CUSTOMER).exclude(intent="")
    assert set(asked.values_list("intent", flat=True)) <= set(intent_profiles())
    assert all(0 < confidence < 1 for confidence in asked.values_list("intent_confidence", flat=True))
    for conversation in Conversation.objects.exclude(ticket=None).select_related("ticket"):
        ticket = conversation.ticket
        assert (ticket.created_at, ticket.first_response_at) == (
            conversation.handoff_requested_at,
            conversation.first_agent_response_at,
        )
        assert ticket.changes.first().field == "created"
        # Due times as ticket_create counts them: office hours for normal and low.
        assert (ticket.first_response_due_at, ticket.resolution_due_at) == sla_due_times(
            policy=ticket.sla_policy, start=ticket.created_at
        )
        if conversation.state == Conversation.State.CLOSED:
            assert ticket.resolved_at == conversation.closed_at
    # Ratings are 1-5, on closed conversations, after they closed.
    surveys = SatisfactionSurvey.objects.select_related("conversation")
    assert surveys.exists()
    assert {survey.rating for survey in surveys} <= {1, 2, 3, 4, 5}
    assert {survey.conversation.state for survey in surveys} == {Conversation.State.CLOSED}
    assert all(before > survey.created_at > survey.conversation.closed_at for survey in surveys)
    # Every demo customer has a history with products for the recommender, in the past, of active items only.
    interactions = Interaction.objects.all()
    assert set(interactions.values_list("customer_id", flat=True)) == set(
        Customer.objects.filter(external_id__startswith="demo-").values_list("pk", flat=True)
    )
    assert not interactions.filter(occurred_at__gt=before).exists()
    assert interactions.filter(action="purchase").exists()
    assert interactions.filter(article__isnull=False).exists()


@pytest.mark.django_db
def test_second_run_changes_no_counts_and_prints_no_passwords():
    first = seed_demo()
    before = counts()
    hashes = dict(get_user_model().objects.values_list("username", "password"))

    second = seed_demo()

    assert counts() == before
    assert dict(get_user_model().objects.values_list("username", "password")) == hashes
    assert printed_passwords(second) == {}
    assert not any(password in second for password in printed_passwords(first).values())
    assert "already exist; run with --reset-passwords" in second
    assert "(0 new)" in second


@pytest.mark.django_db
def test_reset_passwords_prints_new_ones_that_authenticate():
    old = printed_passwords(seed_demo())

    new = printed_passwords(seed_demo("--reset-passwords"))

    assert sorted(new) == sorted(old)
    for username, password in new.items():
        assert password != old[username]
        assert authenticate(username=username, password=password).username == username
        assert authenticate(username=username, password=old[username]) is None


@pytest.mark.django_db
def test_falls_back_to_the_shipped_sample_without_train_csv(settings, tmp_path):
    settings.SHARED_DATA_DIR = tmp_path

    output = seed_demo()

    assert str(SAMPLE_UTTERANCES) in output
    with SAMPLE_UTTERANCES.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    sample = {row["text"] for row in rows}
    assert len(sample) == 385
    assert {row["category"] for row in rows} == set(intent_profiles())
    chat_questions = Message.objects.filter(
        role=Message.Role.CUSTOMER, conversation__channel=Conversation.Channel.WIDGET
    ).exclude(intent="")
    assert set(chat_questions.values_list("text", flat=True)) <= sample


@pytest.mark.django_db
def test_too_few_conversations_is_refused():
    with pytest.raises(CommandError, match="10 conversations"):
        call_command("seed_demo", "--conversations", "3", stdout=StringIO())
    assert Customer.objects.count() == 0


def _planned(team, agent, *, status, pending=False):
    start = timezone.now() - timedelta(days=10)
    planned = PlannedTicket(
        subject="Where is my card?",
        description="",
        priority="normal",
        team=team,
        intent="card_arrival",
        status=status,
        created_at=start,
    )
    if status == Ticket.Status.NEW:
        return planned
    planned.assignee, planned.assigned_at = agent, start + timedelta(minutes=3)
    planned.first_response_at = start + timedelta(minutes=5)
    if pending:
        planned.pending_at = start + timedelta(minutes=6)
    else:
        planned.resolved_at = start + timedelta(minutes=20)
        planned.closed_at = planned.resolved_at + timedelta(days=3)
    return planned


def _audit(changes) -> list[tuple]:
    return [(change.field, change.old_value, change.new_value, change.actor_id, change.comment) for change in changes]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "pending"),
    [(Ticket.Status.NEW, False), (Ticket.Status.PENDING, True), (Ticket.Status.CLOSED, False)],
)
def test_seeded_audit_rows_are_what_ticket_services_write(customer_carl, team_cards, agent_alice, status, pending):
    planned = _planned(team_cards, agent_alice, status=status, pending=pending)
    ticket = ticket_create(customer=customer_carl, subject=planned.subject, team=team_cards, intent=planned.intent)
    seeded = [change for change, _ in ticket_audit_rows(ticket, planned)]

    # Walk the same ticket through the services, with the actors and comments of the seeded status changes.
    if planned.assignee:
        ticket_assign(ticket=ticket, agent=agent_alice, actor=agent_alice)
        ticket_record_first_response(ticket=ticket, at=planned.first_response_at, actor=agent_alice)
    for change in seeded[4:]:
        ticket_set_status(ticket=ticket, status=change.new_value, actor=change.actor, comment=change.comment)

    assert _audit(ticket.changes.order_by("pk")) == _audit(seeded)
    ticket.refresh_from_db()
    assert ticket.status == status
