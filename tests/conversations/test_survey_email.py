"""The survey by e-mail for conversations that became tickets: signed one-click links, a confirm page."""

import re

import pytest
from django.core import mail
from django.test import Client

from apps.conversations.models import Conversation, SatisfactionSurvey
from apps.conversations.services import conversation_resolve
from apps.conversations.surveys import survey_token_issue
from apps.tickets.services import ticket_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket_conversation(conversation, customer_carl):
    customer_carl.email = "carl@example.com"
    customer_carl.save(update_fields=["email"])
    conversation.ticket = ticket_create(customer=customer_carl, subject="Card never came")
    conversation.save(update_fields=["ticket"])
    return conversation


def survey_url(conversation: Conversation, rating: int | None = None) -> str:
    url = f"/survey/{survey_token_issue(conversation=conversation)}/"
    return url if rating is None else f"{url}?rating={rating}"


def test_resolving_a_ticket_conversation_mails_five_signed_links(
    ticket_conversation, agent_alice, django_capture_on_commit_callbacks, settings
):
    settings.HELPDESK_PUBLIC_URL = "https://help.example.com"

    with django_capture_on_commit_callbacks(execute=True):
        conversation_resolve(conversation=ticket_conversation, actor=agent_alice)

    [message] = mail.outbox
    links = re.findall(r"https://help\.example\.com/survey/[^/\s]+/\?rating=(\d)", message.body)
    assert message.to == ["carl@example.com"]
    assert message.subject == f"How did we do? Your conversation #{ticket_conversation.pk}"
    assert links == ["1", "2", "3", "4", "5"]


def test_a_chat_that_never_became_a_ticket_gets_no_mail(conversation, agent_alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        conversation_resolve(conversation=conversation, actor=agent_alice)

    assert mail.outbox == []


def test_opening_a_link_records_nothing_and_confirming_records_the_rating(client, ticket_conversation):
    opened = client.get(survey_url(ticket_conversation, rating=4))

    assert opened.status_code == 200
    assert opened.context["form"].initial["rating"] == "4"
    assert not SatisfactionSurvey.objects.exists()  # mail scanners open every link

    confirmed = client.post(survey_url(ticket_conversation), {"rating": "4", "comment": "Quick and kind"})

    assert confirmed.status_code == 200
    assert 'id="survey-thanks"' in confirmed.content.decode()
    survey = SatisfactionSurvey.objects.get(conversation=ticket_conversation)
    assert (survey.rating, survey.comment) == (4, "Quick and kind")


def test_a_second_answer_updates_the_first(client, ticket_conversation):
    client.post(survey_url(ticket_conversation), {"rating": "2"})

    page = client.get(survey_url(ticket_conversation))
    client.post(survey_url(ticket_conversation), {"rating": "5", "comment": "Sorted in the end"})

    assert page.context["form"].initial["rating"] == 2
    assert "You rated it 2 of 5" in page.content.decode()
    assert list(SatisfactionSurvey.objects.values_list("rating", "comment")) == [(5, "Sorted in the end")]


def test_a_bad_link_is_refused_with_a_clear_page(client):
    response = client.get("/survey/not-a-token/?rating=5")

    assert response.status_code == 400
    assert "This survey link is not valid." in response.content.decode()
    assert not SatisfactionSurvey.objects.exists()


def test_a_link_is_revoked_with_the_conversations_widget_key(client, ticket_conversation):
    url = survey_url(ticket_conversation)
    Conversation.objects.filter(pk=ticket_conversation.pk).update(widget_key="rotated")

    response = client.post(url, {"rating": "1"})

    assert response.status_code == 400
    assert "This survey link is no longer valid." in response.content.decode()
    assert not SatisfactionSurvey.objects.exists()


def test_an_out_of_range_rating_is_refused_and_nothing_stored(client, ticket_conversation):
    response = client.post(survey_url(ticket_conversation), {"rating": "9"})

    assert response.status_code == 400
    assert response.context["form"].errors["rating"]
    assert not SatisfactionSurvey.objects.exists()


def test_confirming_needs_the_pages_csrf_token(ticket_conversation):
    strict = Client(enforce_csrf_checks=True)

    response = strict.post(survey_url(ticket_conversation), {"rating": "5"})

    assert response.status_code == 403
    assert not SatisfactionSurvey.objects.exists()
