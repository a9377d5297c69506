"""The conversation admin: a read-only transcript in seq order, the survey, counts without N+1."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.conversations.models import Conversation, Message
from apps.conversations.services import conversation_start, message_post, survey_submit
from apps.customers.models import Customer

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:conversations_conversation_changelist")


def change_url(conversation: Conversation) -> str:
    return reverse("admin:conversations_conversation_change", args=[conversation.pk])


@pytest.fixture
def chat(conversation, agent_alice) -> Conversation:
    message_post(conversation=conversation, role=Message.Role.CUSTOMER, text="My card has not arrived")
    message_post(conversation=conversation, role=Message.Role.BOT, text="Cards take 5 days")
    message_post(conversation=conversation, role=Message.Role.NOTE, text="Courier lost it", author=agent_alice)
    message_post(conversation=conversation, role=Message.Role.AGENT, text="Sending a new one", author=agent_alice)
    Message.objects.filter(conversation=conversation, seq=1).update(
        intent="card_arrival", intent_confidence=0.934, decision=Message.Decision.ANSWER
    )
    survey_submit(conversation=conversation, rating=2, comment="Too slow")
    return conversation


def test_transcript_lists_every_message_in_seq_order(client, agent_alice, chat):
    client.force_login(agent_alice)

    response = client.get(change_url(chat))

    assert response.status_code == 200
    seqs = [int(seq) for seq in re.findall(rb'data-seq="(\d+)"', response.content)]
    assert seqs == [1, 2, 3, 4]
    html = response.content.decode()
    texts = ["My card has not arrived", "Cards take 5 days", "Courier lost it", "Sending a new one"]
    assert [html.index(text) for text in texts] == sorted(html.index(text) for text in texts)
    assert "card_arrival (0.93)" in html
    assert "Answered" in html


def test_transcript_is_read_only(client, admin_ada, chat):
    client.force_login(admin_ada)

    response = client.get(change_url(chat))

    transcript = next(f for f in response.context["inline_admin_formsets"] if f.opts.model is Message)
    permissions = (transcript.has_add_permission, transcript.has_change_permission, transcript.has_delete_permission)
    assert permissions == (False, False, False)
    assert not re.search(rb'<(input|textarea|select)[^>]*name="messages-\d', response.content)
    assert b"messages-TOTAL_FORMS" in response.content  # only the management form travels with a POST


def test_private_notes_are_marked_in_the_transcript(client, agent_alice, chat):
    client.force_login(agent_alice)

    html = client.get(change_url(chat)).content.decode()

    rows = re.findall(r'<tr class="transcript-row ([^"]*)"', html)
    assert rows == ["role-customer", "role-bot", "role-note transcript-note", "role-agent"]
    assert "Private note" in html


def test_survey_is_shown_on_the_conversation(client, agent_alice, chat):
    client.force_login(agent_alice)

    html = client.get(change_url(chat)).content.decode()

    assert "<strong>2/5</strong>" in html
    assert "Too slow" in html


def test_posting_the_conversation_leaves_the_transcript_untouched(client, admin_ada, chat):
    client.force_login(admin_ada)
    before = list(Message.objects.filter(conversation=chat).values_list("seq", "role", "text"))

    response = client.post(change_url(chat), {"messages-TOTAL_FORMS": 4, "messages-INITIAL_FORMS": 4})

    assert response.status_code == 302
    assert list(Message.objects.filter(conversation=chat).values_list("seq", "role", "text")) == before


def test_close_action_goes_through_the_service(client, agent_alice, chat):
    client.force_login(agent_alice)

    client.post(CHANGELIST, {"action": "close_conversations", "_selected_action": [chat.pk]})

    chat.refresh_from_db()
    assert chat.state == Conversation.State.CLOSED
    assert chat.closed_at is not None


def test_changelist_shows_message_count_and_csat(client, agent_alice, chat):
    client.force_login(agent_alice)

    response = client.get(CHANGELIST)

    (row,) = response.context["results"]
    assert '<td class="field-message_count">4</td>' in row
    assert '<td class="field-csat_rating">2</td>' in row


def test_message_count_is_right_when_searching_message_text(client, agent_alice, chat):
    # Searching messages__text joins messages; a joined Count("messages") would count matches twice over.
    message_post(conversation=chat, role=Message.Role.CUSTOMER, text="card card card")
    client.force_login(agent_alice)

    response = client.get(CHANGELIST, {"q": "card"})

    (row,) = response.context["results"]
    assert '<td class="field-message_count">5</td>' in row


def _make_conversations(count: int) -> None:
    for n in range(count):
        customer = Customer.objects.create(name=f"Customer {n}")
        conversation = conversation_start(customer=customer)
        message_post(conversation=conversation, role=Message.Role.CUSTOMER, text=f"Question {n}")
        survey_submit(conversation=conversation, rating=1 + n % 5)


def _changelist_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    return len(queries)


# Session, user, (for a role: its permissions), the counts, the team, assignee and rating filters, the date
# hierarchy and the page itself; message count and rating are annotations of the page query.
@pytest.mark.parametrize(("user_fixture", "max_queries"), [("admin_ada", 10), ("agent_alice", 14)])
def test_changelist_query_count_does_not_grow_with_rows(
    client, request, django_assert_max_num_queries, user_fixture, max_queries
):
    client.force_login(request.getfixturevalue(user_fixture))
    _make_conversations(5)
    with django_assert_max_num_queries(max_queries):
        five_rows = _changelist_queries(client)

    _make_conversations(15)
    twenty_rows = _changelist_queries(client)

    assert twenty_rows == five_rows
