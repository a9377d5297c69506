"""The dialogue policy's settings in the admin: one row, validated, editable by ML admins only."""

import pytest
from django.urls import reverse

from apps.assistant.models import PolicyConfig
from apps.assistant.selectors import policy_config

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:assistant_policyconfig_changelist")
ADD_URL = reverse("admin:assistant_policyconfig_add")


def form(**changes) -> dict:
    values = {
        "answer_confidence": "0.6",
        "retrieval_min_score": "0.3",
        "clarify_margin": "0.2",
        "clarify_confidence": "0.2",
        "handoff_sentiment": "-0.6",
        "max_out_of_scope": "2",
        "max_failed_answers": "2",
        "at_risk_satisfaction": "2.5",
        "reply_backend": "extractive",
        "reply_backend_by_intent": "{}",
    }
    return {**values, **changes}


def test_the_defaults_serve_until_an_admin_saves_the_row():
    assert policy_config().pk is None
    assert policy_config().as_settings().answer_confidence == 0.5


def test_an_ml_admin_saves_the_policy_and_it_serves(client, mladmin_mo):
    client.force_login(mladmin_mo)

    response = client.post(ADD_URL, form(answer_confidence="0.65", reply_backend_by_intent='{"card_arrival": "local"}'))

    assert response.status_code == 302
    config = policy_config()
    assert config.updated_by == mladmin_mo
    assert config.as_settings().answer_confidence == 0.65
    assert config.backend_for("card_arrival") == "local"
    assert config.backend_for("top_up_failed") == "extractive"


def test_a_second_add_opens_the_one_row(client, mladmin_mo):
    config = PolicyConfig.objects.create()
    client.force_login(mladmin_mo)

    second = client.get(ADD_URL)
    listing = client.get(LIST_URL)

    change_url = reverse("admin:assistant_policyconfig_change", args=[config.pk])
    assert (second.status_code, second["Location"]) == (302, change_url)
    assert listing.status_code == 200
    assert PolicyConfig.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"answer_confidence": "1.5"}, "answer_confidence", "Between 0 and 1."),
        ({"handoff_sentiment": "-2"}, "handoff_sentiment", "Between -1 and 1."),
        ({"at_risk_satisfaction": "0.5"}, "at_risk_satisfaction", "Between 1 and 5."),
        (
            {"reply_backend_by_intent": '{"card_arrival": "gpt"}'},
            "reply_backend_by_intent",
            "Unknown backend for card_arrival; use one of extractive, local, openai.",
        ),
        (
            {"reply_backend_by_intent": '["local"]'},
            "reply_backend_by_intent",
            'An object such as {"card_arrival": "local"}.',
        ),
    ],
)
def test_bad_settings_are_refused_with_the_reason(client, mladmin_mo, changes, field, message):
    client.force_login(mladmin_mo)

    response = client.post(ADD_URL, form(**changes))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    assert not PolicyConfig.objects.exists()


def test_a_manager_reads_the_policy_and_an_agent_does_not_see_it(client, manager_maria, agent_alice):
    config = PolicyConfig.objects.create()
    change_url = reverse("admin:assistant_policyconfig_change", args=[config.pk])

    client.force_login(manager_maria)
    read = client.get(change_url)
    refused_write = client.post(change_url, form(answer_confidence="0.9"))
    client.force_login(agent_alice)
    refused = client.get(change_url)

    assert read.status_code == 200
    assert refused_write.status_code == 403
    assert refused.status_code == 403
    config.refresh_from_db()
    assert config.answer_confidence == 0.5
