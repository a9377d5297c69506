"""Recommendations end to end: the widget's "You may find these helpful" and the agent's "Suggest to customer",
in two real browsers on one server."""

import pytest
from django.conf import settings
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from apps.accounts.services import agent_set_presence
from apps.customers.models import Customer
from apps.recommendations.models import Interaction, Product
from apps.recommendations.services import interaction_record
from tests.browser.test_chat_flow import (
    _console_errors,
    _enabled,
    _in_widget,
    _page_shows,
    _text,
    _wait,
    _widget_host,
    _widget_says,
    _widget_shows,
)


@pytest.fixture
def catalogue(transactional_db):
    """Two products, the first bought and viewed more by other customers: the popular ones come first."""
    insurance = Product.objects.create(
        name="Travel insurance",
        slug="travel-insurance",
        category="travel",
        description="Cover for trips <b>abroad</b>",
        url="https://bank.example/travel-insurance",
    )
    lounge = Product.objects.create(
        name="Lounge pass",
        slug="lounge-pass",
        category="travel",
        description="Airport lounges",
        url="https://bank.example/lounge-pass",
    )
    others = [Customer.objects.create(name=f"Other {n}") for n in range(3)]
    for customer in others:
        interaction_record(customer=customer, item=f"product:{insurance.pk}", action="view", source="host")
    interaction_record(customer=others[0], item=f"product:{lounge.pk}", action="view", source="host")
    return insurance, lounge


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_a_customer_sees_and_opens_recommendations_and_an_agent_suggests_one(
    live_server_url, chromium, client, agent_alice, catalogue
):
    _, lounge = catalogue
    # Given: a customer starts a chat from the bank's site.
    customer = chromium("customer")
    customer.get(f"{live_server_url}/")
    _wait(customer, _widget_says("data-view", "prechat"), "the widget's pre-chat form")
    _in_widget(customer, ".hd-launcher").click()
    _wait(customer, _widget_shows("#hd-name"), "the name field").send_keys("Rita Recs")
    _in_widget(customer, "form.hd-prechat button[type=submit]").click()
    _wait(customer, _widget_says("data-ready", "true"), "the widget's socket to be ready")
    conversation_id = int(_widget_host(customer).get_attribute("data-conversation"))

    # Then: the widget offers the popular items, their text as text.
    first = _wait(customer, _widget_shows(".hd-recs .hd-rec"), "the recommendations")
    titles = [
        _text(node) for node in _widget_host(customer).shadow_root.find_elements(By.CSS_SELECTOR, ".hd-rec-title")
    ]
    assert titles == ["Travel insurance", "Lounge pass"]
    summary = _widget_host(customer).shadow_root.find_element(By.CSS_SELECTOR, ".hd-rec-summary")
    assert _text(summary) == "Cover for trips <b>abroad</b>"
    assert first.get_attribute("href") == "https://bank.example/travel-insurance"

    # When: she opens the first one.
    first.click()
    _wait(
        customer,
        lambda _: Interaction.objects.filter(action="click", conversation_id=conversation_id).exists(),
        "the click",
    )
    customer.switch_to.window(customer.window_handles[0])

    # And: she writes, and Alice opens the chat and suggests the lounge pass from the side panel.
    agent_set_presence(profile=agent_alice.agent_profile, presence="online")
    _in_widget(customer, "#hd-input").send_keys("Do you have anything for airports?", Keys.ENTER)
    _wait(customer, _widget_says("data-conversation-state", "waiting"), "the chat to wait for an agent")
    client.force_login(agent_alice)
    inbox = chromium("inbox")
    inbox.get(f"{live_server_url}/healthz")
    inbox.add_cookie(
        {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "path": "/"}
    )
    inbox.get(f"{live_server_url}/inbox/{conversation_id}/")
    _wait(inbox, _enabled("inbox-send"), "the reply box to go live")
    card = _wait(inbox, _page_shows(f'#inbox-recommendations-list li[data-item="product:{lounge.pk}"]'), "the panel")
    card.find_element(By.CSS_SELECTOR, "button.suggestion__insert").click()

    # Then: the customer gets it in the chat, and it is recorded as sent.
    reply = _wait(customer, _widget_shows('.hd-msg[data-role="agent"]'), "the suggestion in the widget")
    assert _text(reply.find_element(By.CSS_SELECTOR, ".hd-text")) == (
        "You may find this helpful: Lounge pass\nhttps://bank.example/lounge-pass"
    )
    sent = Interaction.objects.get(action="sent")
    assert (sent.product, sent.conversation_id, sent.source) == (lounge, conversation_id, "inbox")
    assert _console_errors(customer) == []
    assert _console_errors(inbox) == []
