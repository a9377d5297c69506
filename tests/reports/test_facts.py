"""The rollup kept up to date: on close and on a survey (after commit), by the beat job, by the command."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.conversations.models import Conversation, SatisfactionSurvey
from apps.conversations.services import agent_message_post, conversation_rate, conversation_resolve, survey_submit
from apps.reports.models import ConversationFact
from apps.reports.services import conversation_fact_refresh, conversation_facts_refresh_stale
from apps.reports.tasks import refresh_stale_facts
from helpdesk.celery import app as celery_app
from tests.reports.conftest import MONDAY, closed_conversation

pytestmark = pytest.mark.django_db

REFRESH_TASK = "apps.reports.tasks.refresh_conversation_fact"


@pytest.fixture
def enqueued(monkeypatch):
    """The tasks the conversations' services queue by name, after a JSON round trip like a broker's."""
    sent: list[tuple] = []

    def record(name, *args):
        sent.append((name, *json.loads(json.dumps(args))))

    monkeypatch.setattr("apps.conversations.services.task_enqueue_by_name", record)
    return sent


def test_closing_a_conversation_queues_its_refresh_only_once_committed(
    conversation, agent_alice, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        conversation_resolve(conversation=conversation, actor=agent_alice)

    assert (REFRESH_TASK, conversation.pk) not in enqueued  # nothing before the commit
    for callback in callbacks:
        callback()
    assert enqueued.count((REFRESH_TASK, conversation.pk)) == 1


def test_a_rolled_back_close_queues_nothing(conversation, enqueued, django_capture_on_commit_callbacks):
    def resolve_then_fail() -> None:
        with transaction.atomic():
            conversation_resolve(conversation=conversation, actor=None)
            raise RuntimeError("rolled back")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        resolve_then_fail()

    assert enqueued == []
    assert not ConversationFact.objects.exists()


def test_the_refresh_goes_to_the_default_queue():
    route = celery_app.amqp.router.route({}, REFRESH_TASK, args=(1,), kwargs={})

    assert route["queue"].name == "default"


def test_a_resolved_conversation_gets_its_facts_when_the_transaction_commits(
    conversation, agent_alice, django_capture_on_commit_callbacks
):
    agent_message_post(conversation=conversation, agent=agent_alice, text="Hello", client_id=None, note=False)

    with django_capture_on_commit_callbacks(execute=True):
        conversation_resolve(conversation=conversation, actor=agent_alice)

    fact = ConversationFact.objects.get()
    conversation.refresh_from_db()
    assert fact.conversation_id == conversation.pk
    assert (fact.agent_id, fact.agent_messages, fact.customer_messages) == (agent_alice.pk, 1, 0)
    assert (fact.handed_over, fact.contained_by_bot, fact.first_response_seconds) == (True, False, None)
    assert fact.resolution_seconds == (conversation.closed_at - conversation.created_at).total_seconds()
    assert fact.rating is None


def test_a_survey_and_its_update_rewrite_the_same_fact(conversation, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        conversation = conversation_resolve(conversation=conversation, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        conversation_rate(conversation=conversation, rating=2, comment="  Slow answers ")
    first = ConversationFact.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        survey_submit(conversation=conversation, rating=5, comment="All good now")

    fact = ConversationFact.objects.get()
    assert (first.rating, first.comment) == (2, "Slow answers")
    assert (fact.rating, fact.comment) == (5, "")  # only low ratings keep their comment
    assert fact.refreshed_at >= first.refreshed_at


def test_a_refresh_is_idempotent(desk, django_assert_num_queries):
    conversation = desk.conversations[0]
    before = ConversationFact.objects.values().get(pk=conversation.pk)

    # The conversation with its survey, its messages, their suggestion outcomes, its reviews (no ticket: no
    # breaches to read); then in a savepoint the delete of facts gone stale and the upsert.
    with django_assert_num_queries(8):
        fact = conversation_fact_refresh(conversation=conversation)

    after = ConversationFact.objects.values().get(pk=conversation.pk)
    assert fact.pk == conversation.pk
    assert ConversationFact.objects.count() == 5
    assert {k: v for k, v in after.items() if k != "refreshed_at"} == {
        k: v for k, v in before.items() if k != "refreshed_at"
    }


def test_what_a_fact_holds(desk):
    fact = ConversationFact.objects.get(pk=desk.conversations[0].pk)

    assert (fact.created_date.isoformat(), fact.created_week.isoformat(), fact.created_month.isoformat()) == (
        "2026-03-02",
        "2026-03-02",
        "2026-03-01",
    )
    assert (fact.created_hour, fact.created_weekday, fact.channel, fact.team_id) == (9, 0, "widget", desk.team.pk)
    assert (fact.intent, fact.customer_messages, fact.agent_messages) == ("card_arrival", 3, 2)
    assert (fact.first_response_seconds, fact.resolution_seconds) == (120.0, 600.0)
    assert (fact.suggestions_used, fact.suggestions_edited, fact.suggestions_ignored) == (1, 1, 0)
    assert (fact.rating, fact.comment) == (5, "")


def test_hours_weekdays_and_dates_are_the_desks_local_ones(customer_carl, settings):
    settings.TIME_ZONE = "Europe/Paris"
    late_sunday_utc = MONDAY - timedelta(minutes=30)  # Monday 00:30 in Paris
    conversation = closed_conversation(customer_carl, started=late_sunday_utc, closed_after=60)

    fact = conversation_fact_refresh(conversation=conversation)

    assert (fact.created_date.isoformat(), fact.created_weekday, fact.created_hour) == ("2026-03-02", 0, 0)


def test_an_agents_correction_is_the_intent(customer_carl):
    conversation = closed_conversation(customer_carl, started=MONDAY, closed_after=60, intent="card_arrival")
    first = conversation.messages.order_by("seq").first()
    first.annotations = {"corrected_intent": {"intent": "lost_card", "by": 1}}
    first.save(update_fields=["annotations"])

    fact = conversation_fact_refresh(conversation=conversation)

    assert fact.intent == "lost_card"


def test_the_intent_of_the_first_customer_message_that_has_one(customer_carl):
    conversation = closed_conversation(customer_carl, started=MONDAY, closed_after=60, intent="")
    conversation.messages.filter(role="customer", seq=2).update(intent="balance")

    fact = conversation_fact_refresh(conversation=conversation)

    assert fact.intent == "balance"


@pytest.mark.skipif(
    not any(f.name == "predicted_satisfaction" for f in Conversation._meta.get_fields()),
    reason="Conversation has no predicted_satisfaction yet",
)
def test_the_predicted_satisfaction_is_copied(customer_carl):
    conversation = closed_conversation(customer_carl, started=MONDAY, closed_after=60, rating=4)
    Conversation.objects.filter(pk=conversation.pk).update(predicted_satisfaction=3.75)

    fact = conversation_fact_refresh(conversation=conversation)

    assert (fact.rating, fact.predicted_satisfaction) == (4, 3.75)


def test_an_open_conversation_has_no_facts(desk):
    conversation = desk.conversations[1]
    Conversation.objects.filter(pk=conversation.pk).update(state=Conversation.State.AGENT)

    assert conversation_fact_refresh(conversation=conversation) is None
    assert not ConversationFact.objects.filter(pk=conversation.pk).exists()


def test_the_beat_job_backfills_and_then_follows_changes(desk, conversation):
    ConversationFact.objects.filter(pk__in=[c.pk for c in desk.conversations[:2]]).delete()

    assert refresh_stale_facts.delay().get() == 2  # the two without facts; the open one has none to have
    assert refresh_stale_facts.delay().get() == 0
    rerated = desk.conversations[3]
    SatisfactionSurvey.objects.filter(conversation=rerated).update(
        rating=1, comment="Changed my mind", updated_at=timezone.now() + timedelta(seconds=1)
    )
    assert refresh_stale_facts.delay().get() == 1
    assert ConversationFact.objects.values_list("rating", "comment").get(pk=rerated.pk) == (1, "Changed my mind")
    assert ConversationFact.objects.count() == 5


def test_the_beat_job_is_scheduled_every_ten_minutes():
    task = PeriodicTask.objects.get(task="apps.reports.tasks.refresh_stale_facts")

    assert (task.enabled, task.interval.every, task.interval.period) == (True, 10, "minutes")


def test_the_command_backfills_and_rewrites_everything_with_all(desk):
    ConversationFact.objects.filter(pk=desk.conversations[0].pk).delete()
    out = StringIO()

    call_command("refresh_report_facts", stdout=out)
    call_command("refresh_report_facts", "--all", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Refreshed the facts of 1 conversations")
    assert lines[1].startswith("Refreshed the facts of 5 conversations")
    assert conversation_facts_refresh_stale() == 0


def test_a_deleted_conversation_takes_its_facts_along(desk):
    desk.conversations[0].delete()

    assert ConversationFact.objects.count() == 4
