"""Reviews in the admin: who sees which, the review page (timeline, rubric form, refusals), the rubric's admin,
and the conversation page's link."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from apps.conversations.models import Message
from apps.conversations.services import conversation_start, message_post
from apps.oversight.models import ConversationReview, ReviewCriterion
from apps.oversight.services import conversation_review_submit
from tests.oversight.conftest import all_scores

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:oversight_conversationreview_changelist")


def review_page(conversation) -> str:
    return reverse("admin:oversight_conversationreview_review", args=[conversation.pk])


def review_change(review) -> str:
    return reverse("admin:oversight_conversationreview_change", args=[review.pk])


def _logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def reviews(handled, conversation, customer_carl, agent_bob, manager_maria, admin_ada, rubric, enqueued):
    """Maria's review of Alice's conversation, and Ada's of one Bob handled."""
    alices = conversation_review_submit(
        conversation=handled, reviewer=manager_maria, scores=all_scores(rubric, 4, 4, 4, 4), comment="Good"
    )
    bobs_conversation = conversation_start(customer=customer_carl)
    message_post(conversation=bobs_conversation, role=Message.Role.AGENT, text="Hi", author=agent_bob)
    bobs = conversation_review_submit(
        conversation=bobs_conversation, reviewer=admin_ada, scores=all_scores(rubric, 2, 2, 2, 2), comment=""
    )
    return {"alice": alices, "bob": bobs}


def _listed_ids(response) -> list[int]:
    return sorted(int(pk) for pk in re.findall(rb'name="_selected_action" value="(\d+)"', response.content)) or sorted(
        int(pk) for pk in re.findall(rb"/admin/oversight/conversationreview/(\d+)/change/", response.content)
    )


def test_an_agent_sees_only_the_reviews_of_themselves(client, agent_alice, reviews):
    client = _logged_in(client, agent_alice)

    listed = client.get(CHANGELIST)
    own = client.get(review_change(reviews["alice"]))
    other = client.get(review_change(reviews["bob"]))

    assert listed.status_code == 200
    assert _listed_ids(listed) == [reviews["alice"].pk]
    assert own.status_code == 200
    assert other.status_code == 404
    assert (
        client.get(reverse("admin:oversight_conversationreview_history", args=[reviews["bob"].pk])).status_code == 404
    )


def test_an_agent_reads_their_review_but_cannot_change_or_add(client, agent_alice, reviews):
    response = _logged_in(client, agent_alice).get(review_change(reviews["alice"]))

    content = response.content.decode()
    assert not re.search(r'<(input|textarea|select)[^>]*name="(comment|score|agent)"', content)
    assert "Good" in content
    assert ">4<" in content or "<p>4</p>" in content  # a criterion's score in the read-only inline
    assert "Open the review page" not in content  # agents do not review
    assert client.get(reverse("admin:oversight_conversationreview_add")).status_code == 403


def test_managers_list_every_review_in_a_fixed_number_of_queries(
    client, manager_maria, reviews, django_assert_num_queries
):
    client = _logged_in(client, manager_maria)

    # Session, user, its permissions (own, groups'), roles; the team and agent filters' choices; the count, the
    # full count, the page of reviews with their conversations, users and teams; the date hierarchy's two.
    with django_assert_num_queries(12):
        response = client.get(CHANGELIST)

    assert _listed_ids(response) == sorted(r.pk for r in reviews.values())
    assert "4.00" in response.content.decode()


def test_the_review_page_shows_the_timeline_escaped_and_the_prefilled_form(
    client, manager_maria, handled, reviews, rubric
):
    message_post(conversation=handled, role=Message.Role.CUSTOMER, text="<script>alert('x')</script><b>hi</b>")

    response = _logged_in(client, manager_maria).get(review_page(handled))

    content = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert('x')</script>" not in content
    assert "<b>hi</b>" not in content
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&lt;b&gt;hi&lt;/b&gt;" in content
    assert re.findall(r'data-seq="(\d+)"', content) == ["1", "2", "3"]
    assert "csrfmiddlewaretoken" in content
    for criterion in rubric:  # Maria's 4s are checked
        assert re.search(rf'name="criterion_{criterion.pk}" value="4"[^>]*checked', content)
    assert re.search(r'<textarea name="comment"[^>]*>\s*Good</textarea>', content)


def test_a_lead_submits_a_review_through_the_page(client, manager_maria, handled, rubric, enqueued):
    client = _logged_in(client, manager_maria)
    form = {f"criterion_{c.pk}": str(score) for c, score in zip(rubric, (5, 4, 3, 4), strict=True)}

    response = client.post(review_page(handled), {**form, "comment": "Nice recovery"})

    assert response.status_code == 302
    assert response["Location"] == review_page(handled)
    review = ConversationReview.objects.get()
    assert (review.reviewer_id, review.score, review.comment) == (manager_maria.pk, 4.0, "Nice recovery")


def test_an_incomplete_form_stores_nothing_and_says_why(client, manager_maria, handled, rubric, enqueued):
    client = _logged_in(client, manager_maria)

    response = client.post(review_page(handled), {f"criterion_{rubric[0].pk}": "5", "comment": ""})

    assert response.status_code == 200
    assert response.content.decode().count("This field is required.") == 3
    assert not ConversationReview.objects.exists()
    assert enqueued == []


def test_the_page_refuses_a_post_without_the_csrf_token(manager_maria, handled, rubric):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager_maria)
    form = {f"criterion_{c.pk}": "3" for c in rubric}

    response = client.post(review_page(handled), form)

    assert response.status_code == 403
    assert not ConversationReview.objects.exists()


@pytest.mark.parametrize("user_fixture", ["agent_alice", "agent_bob", "mladmin_mo"])
def test_agents_and_ml_admins_may_not_open_the_review_page(client, request, handled, rubric, user_fixture):
    client = _logged_in(client, request.getfixturevalue(user_fixture))
    form = {f"criterion_{c.pk}": "5" for c in rubric}

    assert client.get(review_page(handled)).status_code == 403
    assert client.post(review_page(handled), form).status_code == 403
    assert not ConversationReview.objects.exists()


def test_anonymous_users_are_sent_to_log_in(client, handled):
    response = client.get(review_page(handled))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_lead_who_handled_the_conversation_gets_no_form(client, manager_maria, handled, rubric, enqueued):
    message_post(conversation=handled, role=Message.Role.AGENT, text="Me too", author=manager_maria)
    client = _logged_in(client, manager_maria)

    page = client.get(review_page(handled)).content.decode()
    posted = client.post(review_page(handled), {f"criterion_{c.pk}": "5" for c in rubric})

    assert "You handled this conversation yourself" in page
    assert '<form method="post" novalidate>' not in page
    assert posted.status_code == 200
    assert "You handled this conversation yourself" in posted.content.decode()
    assert not ConversationReview.objects.exists()


def test_the_conversation_page_links_leads_to_the_review_and_lists_reviews(
    client, manager_maria, agent_alice, handled, reviews
):
    conversation_url = reverse("admin:conversations_conversation_change", args=[handled.pk])

    as_lead = _logged_in(client, manager_maria).get(conversation_url).content.decode()
    as_agent = _logged_in(Client(), agent_alice).get(conversation_url).content.decode()

    assert f'href="{review_page(handled)}">Review this conversation</a>' in as_lead
    assert review_change(reviews["alice"]) in as_lead
    assert "Review this conversation" not in as_agent
    assert review_change(reviews["alice"]) in as_agent  # a review of herself


def test_leads_edit_the_rubric_and_agents_only_read_it(client, manager_maria, agent_alice, rubric):
    criterion = rubric[0]
    change = reverse("admin:oversight_reviewcriterion_change", args=[criterion.pk])
    lead = _logged_in(client, manager_maria)

    lead.post(change, {"name": "Welcome", "description": "Says hello", "position": 7, "is_active": "on"})

    assert ReviewCriterion.objects.values_list("name", "position").get(pk=criterion.pk) == ("Welcome", 7)
    agent = _logged_in(Client(), agent_alice)
    assert agent.get(reverse("admin:oversight_reviewcriterion_changelist")).status_code == 200
    assert agent.post(change, {"name": "Mine", "position": 1}).status_code == 403
