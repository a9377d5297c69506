"""The floor in a real browser: a lead's page fills from its snapshot and, when an agent goes online in their
inbox (another browser on the same server), updates without a reload; HTML in a customer's name stays text."""

from django.conf import settings
from django.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from apps.accounts.models import Team
from apps.conversations.models import Conversation
from apps.conversations.services import conversation_start
from apps.customers.models import Customer
from tests.browser.test_chat_flow import _console_errors, _enabled, _page_shows, _wait


def _logged_in(chromium, name: str, user, live_server_url: str):
    client = Client()
    client.force_login(user)
    browser = chromium(name)
    browser.get(f"{live_server_url}/healthz")
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    browser.add_cookie({"name": settings.SESSION_COOKIE_NAME, "value": cookie, "path": "/"})
    return browser


def _total(browser, name: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, f'[data-total="{name}"]').text


def test_the_floor_updates_live_when_an_agent_goes_online(live_server_url, chromium, manager_maria, agent_alice):
    Team.objects.create(name="Loans", slug="loans")
    customer = Customer.objects.create(name="<img src=x onerror=alert(1)>", email="x@example.com")
    waiting = conversation_start(customer=customer)
    Conversation.objects.filter(pk=waiting.pk).update(state="waiting", at_risk=True, predicted_satisfaction=1.5)

    floor = _logged_in(chromium, "floor", manager_maria, live_server_url)
    floor.get(f"{live_server_url}/admin/floor/")
    _wait(floor, _page_shows('#floor-connection[data-state="live"]'), "the floor socket to connect")
    assert (_total(floor, "online"), _total(floor, "waiting"), _total(floor, "at_risk")) == ("0", "1", "1")
    risk_row = floor.find_element(By.CSS_SELECTOR, "#floor-at-risk tbody tr")
    assert "<img src=x onerror=alert(1)>" in risk_row.text
    assert floor.find_elements(By.CSS_SELECTOR, "#floor-at-risk img") == []

    inbox = _logged_in(chromium, "inbox", agent_alice, live_server_url)
    inbox.get(f"{live_server_url}/inbox/")
    _wait(inbox, _enabled("inbox-presence"), "the inbox to go live")
    Select(inbox.find_element(By.ID, "inbox-presence")).select_by_value("online")

    _wait(floor, lambda driver: _total(driver, "online") == "1", "the floor to show alice online")
    agent_row = floor.find_element(By.CSS_SELECTOR, "#floor-agents tbody tr")
    assert agent_row.text.startswith("alice online Cards 0 / 5")

    # A lead of Loans looks at their team only: nobody of theirs is on, nothing of theirs waits.
    Select(floor.find_element(By.ID, "floor-team")).select_by_value("Loans")
    assert floor.find_elements(By.CSS_SELECTOR, "#floor-agents tbody tr") == []
    assert [row.text for row in floor.find_elements(By.CSS_SELECTOR, "#floor-queues tbody tr")] == [
        "Loans 0 \u2013 0"
    ]  # no wait: an en dash
    assert _total(floor, "online") == "1"  # the totals stay the whole desk's
    assert _console_errors(floor) == []
