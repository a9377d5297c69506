import uuid

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.models import AgentProfile, Team
from apps.conversations.models import Conversation, Message
from apps.conversations.services import conversation_start, message_post
from apps.customers.models import Customer
from tests.api.conftest import make_conversations

pytestmark = pytest.mark.django_db


def _messages_url(conversation: Conversation) -> str:
    return f"/api/conversations/{conversation.pk}/messages/"


def test_list_filters_by_state_team_assignee_and_customer(client_for, customer_carl, agent_alice, team_cards):
    dora = Customer.objects.create(name="Dora")
    with_bot = conversation_start(customer=customer_carl)
    with_alice = conversation_start(customer=customer_carl, team=team_cards)
    Conversation.objects.filter(pk=with_alice.pk).update(state=Conversation.State.AGENT, assignee=agent_alice)
    doras = conversation_start(customer=dora)
    client = client_for("manager_maria")

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/conversations/?{query}")
        assert response.status_code == 200
        return [row["id"] for row in response.data["results"]]

    assert ids("state=agent") == [with_alice.pk]
    assert ids(f"team={team_cards.pk}") == [with_alice.pk]
    assert ids(f"assignee={agent_alice.pk}") == [with_alice.pk]
    assert ids(f"customer={dora.pk}") == [doras.pk]
    assert ids(f"customer={customer_carl.pk}&state=bot") == [with_bot.pk]
    assert client.get("/api/conversations/?state=lost").status_code == 400


def test_retrieve_shape(client_for, conversation, customer_carl):
    response = client_for("agent_alice").get(f"/api/conversations/{conversation.pk}/")

    assert response.status_code == 200
    assert response.data["customer"] == {"id": customer_carl.pk, "external_id": "c-1", "name": "Carl Customer"}
    assert response.data["state"] == "bot"
    assert response.data["last_seq"] == 0
    assert response.data["ticket"] is None


def test_messages_come_in_seq_order_with_notes_and_resume_after_seq(client_for, conversation, agent_alice):
    for role, text in [("customer", "Hi"), ("bot", "Hello!"), ("note", "VIP"), ("agent", "On it")]:
        message_post(conversation=conversation, role=role, text=text)
    client = client_for("manager_maria")

    everything = client.get(_messages_url(conversation))
    after_two = client.get(_messages_url(conversation) + "?after_seq=2")
    after_all = client.get(_messages_url(conversation) + "?after_seq=4")

    assert [(m["seq"], m["role"], m["text"]) for m in everything.data["results"]] == [
        (1, "customer", "Hi"),
        (2, "bot", "Hello!"),
        (3, "note", "VIP"),
        (4, "agent", "On it"),
    ]
    assert [m["seq"] for m in after_two.data["results"]] == [3, 4]
    assert after_all.data["results"] == []


@pytest.mark.parametrize("after_seq", ["-1", "two"])
def test_a_bad_after_seq_is_a_400(client_for, conversation, after_seq):
    response = client_for("agent_alice").get(_messages_url(conversation) + f"?after_seq={after_seq}")

    assert response.status_code == 400
    assert "after_seq" in response.data


def test_messages_of_a_missing_conversation_are_404(client_for):
    client = client_for("agent_alice")

    assert client.get("/api/conversations/999/messages/").status_code == 404
    assert client.post("/api/conversations/999/messages/", {"text": "x", "role": "agent"}).status_code == 404
    assert not Message.objects.exists()


def test_agent_reply_is_stored_with_the_author_and_text_round_trips(client_for, conversation, agent_alice):
    text = '<b>Bold?</b> & "quotes" — ünïcödé 🎉\n\n  indented line'

    response = client_for("agent_alice").post(
        _messages_url(conversation), {"text": text, "role": "agent"}, format="json"
    )

    assert response.status_code == 201
    message = Message.objects.get(role=Message.Role.AGENT)
    assert message.text == text
    assert response.data["text"] == text
    assert response.data["seq"] == 2
    assert response.data["role"] == "agent"
    assert response.data["author"] == {"id": agent_alice.pk, "username": "alice"}
    conversation.refresh_from_db()
    # The reply took the conversation, which a system line (seq 1) says first.
    assert (conversation.state, conversation.assignee, conversation.last_seq) == ("agent", agent_alice, 2)
    assert conversation.first_agent_response_at is not None


def test_private_note(client_for, conversation):
    response = client_for("admin_ada").post(_messages_url(conversation), {"text": "Check ID", "role": "note"})

    assert response.status_code == 201
    assert Message.objects.get().role == Message.Role.NOTE
    conversation.refresh_from_db()
    # A note is no response to the customer.
    assert conversation.first_agent_response_at is None


def test_same_client_id_is_acknowledged_not_stored_twice(client_for, conversation):
    client = client_for("agent_alice")
    client_id = str(uuid.uuid4())

    first = client.post(_messages_url(conversation), {"text": "Hi", "role": "agent", "client_id": client_id})
    again = client.post(_messages_url(conversation), {"text": "Hi", "role": "agent", "client_id": client_id})
    other = client.post(_messages_url(conversation), {"text": "Hi", "role": "agent", "client_id": str(uuid.uuid4())})

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert again.data == first.data
    assert again.data["client_id"] == client_id
    # The first reply takes the conversation: seq 1 is the system line saying so.
    assert other.data["seq"] == 3
    assert list(Message.objects.order_by("seq").values_list("role", flat=True)) == ["system", "agent", "agent"]
    conversation.refresh_from_db()
    assert conversation.last_seq == 3


def test_text_over_the_limit_is_refused_naming_the_limit_and_nothing_is_stored(client_for, conversation):
    limit = Message.MAX_TEXT_LENGTH

    response = client_for("agent_alice").post(
        _messages_url(conversation), {"text": "x" * (limit + 1), "role": "agent"}, format="json"
    )

    assert response.status_code == 400
    assert str(limit) in response.data["non_field_errors"][0]
    assert not Message.objects.exists()
    conversation.refresh_from_db()
    assert conversation.last_seq == 0
    assert conversation.last_message_at is None


def test_text_at_the_limit_is_stored(client_for, conversation):
    text = "x" * Message.MAX_TEXT_LENGTH

    response = client_for("agent_alice").post(_messages_url(conversation), {"text": text, "role": "agent"})

    assert response.status_code == 201
    assert len(Message.objects.get(role=Message.Role.AGENT).text) == Message.MAX_TEXT_LENGTH


@pytest.mark.parametrize(
    "body",
    [
        {"text": "   ", "role": "agent"},
        {"text": "", "role": "agent"},
        {"text": "hi"},
        {"text": "hi", "role": "customer"},
        {"text": "hi", "role": "bot"},
        {"text": "hi", "role": "agent", "client_id": "not-a-uuid"},
        {"text": "hi", "role": "agent", "seq": 9},
        {"text": "hi", "role": "agent", "author": 1},
    ],
)
def test_bad_posts_are_refused_and_nothing_is_stored(client_for, conversation, body):
    response = client_for("agent_alice").post(_messages_url(conversation), body, format="json")

    assert response.status_code == 400
    assert not Message.objects.exists()


def test_list_query_count_does_not_grow_with_rows(client_for, customer_carl, team_cards, django_assert_num_queries):
    client = client_for("agent_alice")

    def add(count: int) -> None:
        for n, conversation in enumerate(make_conversations(customer_carl, count)):
            assignee = get_user_model().objects.create_user(username=f"a{count}-{n}")
            team = Team.objects.create(name=f"T{count}-{n}", slug=f"t{count}-{n}")
            # Alice is in every team, so every row is in her scope and each has its own team and assignee.
            AgentProfile.objects.get(user__username="alice").teams.add(team)
            Conversation.objects.filter(pk=conversation.pk).update(assignee=assignee, team=team)

    # session, user, roles, the agent's teams, count, page
    add(3)
    with django_assert_num_queries(6):
        assert len(client.get("/api/conversations/").data["results"]) == 3
    add(7)
    with django_assert_num_queries(6):
        assert len(client.get("/api/conversations/").data["results"]) == 10


def test_message_list_query_count_does_not_grow_with_rows(
    client_for, conversation, agent_alice, django_assert_num_queries
):
    client = client_for("manager_maria")

    def add(count: int) -> None:
        for n in range(count):
            message_post(conversation=conversation, role="agent", text=f"m{n}", author=agent_alice)

    # session, user, roles, conversation, count, page with authors
    add(3)
    with django_assert_num_queries(6):
        assert len(client.get(_messages_url(conversation)).data["results"]) == 3
    add(7)
    with django_assert_num_queries(6):
        assert len(client.get(_messages_url(conversation)).data["results"]) == 10
