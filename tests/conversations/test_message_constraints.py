import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.conversations.models import Message, SatisfactionSurvey
from apps.conversations.selectors import message_list
from apps.conversations.services import conversation_start, message_post, survey_submit

pytestmark = pytest.mark.django_db


def test_message_post_numbers_messages_one_after_another(conversation):
    first = message_post(conversation=conversation, role="customer", text="Where is my card?")
    second = message_post(conversation=conversation, role="bot", text="It usually arrives in 3 days.")

    assert (first.message.seq, second.message.seq) == (1, 2)
    conversation.refresh_from_db()
    assert conversation.last_seq == 2
    assert conversation.last_message_at == second.message.created_at


def test_seq_is_per_conversation(conversation, customer_carl):
    other = conversation_start(customer=customer_carl)
    message_post(conversation=conversation, role="customer", text="one")

    posted = message_post(conversation=other, role="customer", text="first in the other one")

    assert posted.message.seq == 1


def test_duplicate_seq_in_one_conversation_is_refused_by_the_database(conversation):
    message_post(conversation=conversation, role="customer", text="hello")

    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(conversation=conversation, seq=1, role="bot", text="same seq")


def test_duplicate_client_id_in_one_conversation_is_refused_by_the_database(conversation):
    client_id = uuid.uuid4()
    Message.objects.create(conversation=conversation, seq=1, role="customer", text="a", client_id=client_id)

    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(conversation=conversation, seq=2, role="customer", text="b", client_id=client_id)


def test_same_client_id_in_two_conversations_is_allowed(conversation, customer_carl):
    client_id = uuid.uuid4()
    other = conversation_start(customer=customer_carl)

    message_post(conversation=conversation, role="customer", text="a", client_id=client_id)
    posted = message_post(conversation=other, role="customer", text="a", client_id=client_id)

    assert posted.created is True


def test_messages_without_client_id_do_not_collide(conversation):
    message_post(conversation=conversation, role="bot", text="a")
    message_post(conversation=conversation, role="bot", text="b")

    assert Message.objects.filter(conversation=conversation, client_id__isnull=True).count() == 2


def test_resend_with_the_same_client_id_stores_one_message_and_returns_its_seq(conversation):
    client_id = uuid.uuid4()
    first = message_post(conversation=conversation, role="customer", text="hi", client_id=client_id)

    again = message_post(conversation=conversation, role="customer", text="hi", client_id=client_id)

    assert again.created is False
    assert again.message.pk == first.message.pk
    assert again.message.seq == 1
    assert Message.objects.filter(conversation=conversation).count() == 1
    conversation.refresh_from_db()
    assert conversation.last_seq == 1


def test_seq_zero_is_refused_by_the_database(conversation):
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(conversation=conversation, seq=0, role="customer", text="zero")


def test_oversize_text_is_refused_with_the_limit_and_nothing_is_stored(conversation):
    with pytest.raises(ValidationError, match="at most 4000 characters; got 4001"):
        message_post(conversation=conversation, role="customer", text="x" * 4001)

    assert not Message.objects.exists()
    conversation.refresh_from_db()
    assert conversation.last_seq == 0


def test_unknown_role_and_empty_text_are_refused(conversation):
    with pytest.raises(ValidationError, match="role must be one of"):
        message_post(conversation=conversation, role="robot", text="hi")
    with pytest.raises(ValidationError, match="needs some text"):
        message_post(conversation=conversation, role="customer", text="   ")

    assert not Message.objects.exists()


def test_first_agent_reply_is_stamped_once(conversation):
    message_post(conversation=conversation, role="customer", text="help")
    first_reply = message_post(conversation=conversation, role="agent", text="Hello, I am Alice").message
    message_post(conversation=conversation, role="agent", text="Anything else?")

    conversation.refresh_from_db()
    assert conversation.first_agent_response_at == first_reply.created_at


def test_resume_query_skips_notes_for_the_customer(conversation):
    message_post(conversation=conversation, role="customer", text="one")
    message_post(conversation=conversation, role="note", text="VIP, be nice")
    message_post(conversation=conversation, role="agent", text="two")

    for_customer = list(message_list(conversation=conversation, after_seq=1, include_notes=False))
    for_agent = list(message_list(conversation=conversation, after_seq=1))

    assert [message.seq for message in for_customer] == [3]
    assert [message.seq for message in for_agent] == [2, 3]


@pytest.mark.parametrize("rating", [0, 6, -1])
def test_rating_outside_one_to_five_is_refused_by_the_database(conversation, rating):
    with pytest.raises(IntegrityError), transaction.atomic():
        SatisfactionSurvey.objects.create(conversation=conversation, rating=rating)


@pytest.mark.parametrize("rating", [0, 6, "5", 4.5, True])
def test_survey_submit_refuses_a_rating_that_is_not_one_to_five(conversation, rating):
    with pytest.raises(ValidationError, match="rating must be a whole number from 1 to 5"):
        survey_submit(conversation=conversation, rating=rating)

    assert not SatisfactionSurvey.objects.exists()


def test_a_second_survey_answer_updates_the_first(conversation):
    survey_submit(conversation=conversation, rating=2, comment="slow")

    survey_submit(conversation=conversation, rating=5, comment="sorted in the end")

    survey = SatisfactionSurvey.objects.get()
    assert (survey.rating, survey.comment) == (5, "sorted in the end")
