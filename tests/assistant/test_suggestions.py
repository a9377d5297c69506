"""Suggested replies for agents: knowledge passages and past agent replies ranked for a customer's message
(with the tiny random encoder), and the acceptance figures and admin page built on what agents did with them."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.assistant import suggestions
from apps.assistant.models import SuggestionUse
from apps.assistant.retrieval import knowledge_index
from apps.assistant.selectors import suggestion_acceptance
from apps.assistant.suggestions import MIN_SCORE, SNIPPET_CHARS, PastReplyIndex, suggestions_for
from apps.conversations.models import Conversation, Message
from apps.conversations.services import conversation_resolve, conversation_start, message_post
from apps.customers.models import Customer
from apps.knowledge.services import article_save

pytestmark = pytest.mark.django_db

CARD_REPLY = "Your new card is on its way; it arrives within 5 working days."
LOST_REPLY = "I have frozen your card. A replacement is on its way."
TRANSFER_REPLY = "Transfers can stay pending for up to a day."


@pytest.fixture(autouse=True)
def fresh_indexes(tiny_encoder, monkeypatch):
    """Every test on the tiny encoder, with nothing loaded from another test's database."""
    knowledge_index.reset()
    monkeypatch.setattr(suggestions, "past_replies", PastReplyIndex())
    yield
    knowledge_index.reset()


def _chat(agent, *turns: tuple[str, str], closed: bool = True) -> Conversation:
    """A conversation of ``turns`` (role, text); agents' turns are written by ``agent``."""
    customer = Customer.objects.create(name="Carla")
    conversation = conversation_start(customer=customer)
    for role, text in turns:
        author = agent if role in (Message.Role.AGENT, Message.Role.NOTE) else None
        message_post(conversation=conversation, role=role, text=text, author=author)
    if closed:
        conversation_resolve(conversation=conversation, actor=agent)
    return conversation


def _question(text: str) -> Message:
    """A new customer message in an open conversation: what suggestions are made for."""
    conversation = conversation_start(customer=Customer.objects.create(name="Quentin"))
    return message_post(conversation=conversation, role=Message.Role.CUSTOMER, text=text).message


def _reply_of(conversation: Conversation, text: str) -> Message:
    return conversation.messages.get(role=Message.Role.AGENT, text=text)


def _past_history(agent) -> dict[str, Conversation]:
    return {
        "card": _chat(agent, ("customer", "my card has not arrived yet"), ("agent", CARD_REPLY)),
        "lost": _chat(agent, ("customer", "i lost my card please block"), ("agent", LOST_REPLY)),
        "transfer": _chat(agent, ("customer", "my transfer is still pending"), ("agent", TRANSFER_REPLY)),
    }


# --- Past replies ---------------------------------------------------------------------------------------


def test_a_near_duplicate_past_question_brings_its_agent_reply_first(agent_alice):
    history = _past_history(agent_alice)

    found = suggestions_for(message=_question("my card has not arrived yet please help"))

    card = history["card"]
    assert found[0] == {
        "id": f"reply:{_reply_of(card, CARD_REPLY).pk}",
        "source": "past_reply",
        "text": CARD_REPLY,
        "title": f"Reply by alice in #{card.pk}",
        "url": "",
        "score": found[0]["score"],
    }
    assert [s["text"] for s in found] == [CARD_REPLY, *[s["text"] for s in found[1:]]]
    assert len(found) == 3
    assert found[0]["score"] > found[1]["score"] >= found[2]["score"] >= MIN_SCORE
    assert json.loads(json.dumps(found)) == found


def test_notes_bot_and_system_messages_are_never_suggested(agent_alice):
    _chat(
        agent_alice,
        ("customer", "my card has not arrived yet"),
        ("note", "Customer sounds upset, card posted Monday"),
        ("bot", "Cards arrive within 5 working days."),
    )

    found = suggestions_for(message=_question("my card has not arrived yet"))

    assert found == []


def test_the_answer_paired_with_a_question_is_the_first_agent_reply_after_it(agent_alice):
    card = _chat(
        agent_alice,
        ("customer", "my card has not arrived yet"),
        ("note", "checking the courier"),
        ("agent", CARD_REPLY),
        ("agent", "Anything else I can do for you?"),
    )

    found = suggestions_for(message=_question("my card has not arrived yet"))

    assert [(s["id"], s["text"]) for s in found] == [(f"reply:{_reply_of(card, CARD_REPLY).pk}", CARD_REPLY)]


def test_replies_in_open_conversations_are_not_used(agent_alice):
    _chat(agent_alice, ("customer", "my card has not arrived yet"), ("agent", CARD_REPLY), closed=False)

    assert suggestions_for(message=_question("my card has not arrived yet")) == []


def test_identical_replies_are_suggested_once(agent_alice):
    _chat(agent_alice, ("customer", "my card has not arrived yet"), ("agent", CARD_REPLY))
    _chat(agent_alice, ("customer", "where is my new card"), ("agent", f"  {CARD_REPLY.upper()} "))
    _chat(agent_alice, ("customer", "i lost my card"), ("agent", LOST_REPLY))

    found = suggestions_for(message=_question("my card has not arrived yet"))

    assert [s["text"].strip().casefold() for s in found] == [CARD_REPLY.casefold(), LOST_REPLY.casefold()]


def test_the_index_refreshes_when_a_conversation_closes_and_embeds_only_the_new_question(agent_alice, monkeypatch):
    _chat(agent_alice, ("customer", "i lost my card please block"), ("agent", LOST_REPLY))
    pending = _chat(agent_alice, ("customer", "my card has not arrived yet"), ("agent", CARD_REPLY), closed=False)
    message = _question("my card has not arrived yet")
    assert [s["text"] for s in suggestions_for(message=message)] == [LOST_REPLY]
    encoder = knowledge_index.encoder()[0]
    embedded: list[str] = []
    real_embed = encoder.embed
    monkeypatch.setattr(encoder, "embed", lambda texts, **kw: embedded.extend(texts) or real_embed(texts, **kw))

    conversation_resolve(conversation=pending, actor=agent_alice)
    found = suggestions_for(message=message)

    assert [s["text"] for s in found] == [CARD_REPLY, LOST_REPLY]
    # The new question, then the query itself: the question already indexed is not embedded again.
    assert embedded == ["my card has not arrived yet", "my card has not arrived yet"]


def test_an_unchanged_index_costs_one_query_per_search(agent_alice, django_assert_num_queries):
    _past_history(agent_alice)
    index = PastReplyIndex()
    index.refresh()

    with django_assert_num_queries(1):
        index.refresh()

    assert len(index.replies) == 3


def test_the_index_keeps_the_most_recent_pairs_up_to_its_limit(agent_alice):
    history = _past_history(agent_alice)
    Message.objects.filter(conversation=history["card"]).update(created_at=timezone.now() - timedelta(days=30))
    index = PastReplyIndex(limit=2)

    index.refresh()

    assert sorted(reply.text for reply in index.replies) == sorted([LOST_REPLY, TRANSFER_REPLY])


# --- Knowledge passages ---------------------------------------------------------------------------------

LONG_PASSAGE = (
    "## Delivery\n"
    "New cards arrive **within 5 working days** of your order. "
    + "We post every card by tracked mail, and the courier may ask for a signature at the door. " * 4
    + "If it has not arrived after 10 days, freeze it in the app."
)


def test_knowledge_passages_come_trimmed_with_their_article(agent_alice):
    article = article_save(title="Where is my new card?", body=LONG_PASSAGE, slug="new-card", intents=["card_arrival"])
    passage = article.passages.get()

    found = suggestions_for(message=_question("when will my card arrive"))

    assert [(s["id"], s["source"], s["title"], s["url"]) for s in found] == [
        (f"kb:{passage.pk}", "knowledge", "Where is my new card?", "/help/new-card/")
    ]
    text = found[0]["text"]
    assert text.startswith("New cards arrive within 5 working days of your order. We post every card")
    assert text.endswith("signature at the door.")  # whole sentences only
    assert len(text) <= SNIPPET_CHARS
    assert "**" not in text
    assert "#" not in text


def test_knowledge_and_past_replies_are_mixed_by_score(agent_alice):
    article_save(title="Lost card", body="Freeze a lost card in the app, then order a new one.", slug="lost")
    _past_history(agent_alice)

    found = suggestions_for(message=_question("i lost my card"), k=4)

    assert {s["source"] for s in found} == {"knowledge", "past_reply"}
    assert [s["score"] for s in found] == sorted((s["score"] for s in found), reverse=True)
    assert len(found) == 4


def test_a_customer_in_another_locale_gets_no_english_articles(agent_alice):
    article_save(title="Lost card", body="Freeze a lost card in the app.", slug="lost")
    message = _question("i lost my card")
    Customer.objects.filter(conversations=message.conversation).update(locale="de")

    assert suggestions_for(message=message) == []


# --- What agents did with them --------------------------------------------------------------------------


def _use(agent, outcome: str, *, days_ago: int = 0) -> SuggestionUse:
    message = _question("my card has not arrived yet")
    use = SuggestionUse.objects.create(message=message, agent=agent, outcome=outcome)
    SuggestionUse.objects.filter(pk=use.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return use


def test_the_acceptance_rate_counts_used_and_edited_among_all(agent_alice, admin_ada):
    for outcome in ("used", "used", "edited", "ignored"):
        _use(agent_alice, outcome)
    _use(admin_ada, "ignored")
    _use(agent_alice, "ignored", days_ago=40)

    assert suggestion_acceptance() == {
        "used": 2,
        "edited": 1,
        "ignored": 3,
        "total": 6,
        "acceptance_rate": 0.5,
    }
    assert suggestion_acceptance(since=timezone.now() - timedelta(days=7), agent=agent_alice) == {
        "used": 2,
        "edited": 1,
        "ignored": 1,
        "total": 4,
        "acceptance_rate": 0.75,
    }


def test_no_uses_means_no_rate_rather_than_zero():
    assert suggestion_acceptance() == {"used": 0, "edited": 0, "ignored": 0, "total": 0, "acceptance_rate": None}


CHANGELIST = "/admin/assistant/suggestionuse/"


@pytest.mark.parametrize("user_fixture", ["manager_maria", "mladmin_mo", "admin_ada"])
def test_managers_and_ml_admins_read_the_acceptance_rate_in_the_admin(client, request, agent_alice, user_fixture):
    for outcome in ("used", "edited", "ignored", "ignored"):
        _use(agent_alice, outcome)
    client.force_login(request.getfixturevalue(user_fixture))

    html = client.get(CHANGELIST).content.decode()
    filtered = client.get(CHANGELIST, {"outcome__exact": "used"}).content.decode()

    assert "Acceptance rate 50.0%: used 1, edited 1, ignored 2 of 4" in html
    assert "Acceptance rate 100.0%: used 1, edited 0, ignored 0 of 1" in filtered
    assert f'href="{CHANGELIST}add/"' not in html


def test_the_admin_page_of_suggestion_uses_is_read_only(client, manager_maria, agent_alice):
    use = _use(agent_alice, "used")
    client.force_login(manager_maria)

    response = client.post(f"{CHANGELIST}{use.pk}/change/", {"outcome": "ignored"})

    assert response.status_code == 403
    use.refresh_from_db()
    assert use.outcome == "used"


def test_agents_cannot_open_the_suggestion_uses(client, agent_alice):
    client.force_login(agent_alice)

    assert client.get(CHANGELIST).status_code == 403
