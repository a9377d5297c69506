"""The live chat end to end: a customer in the widget, an agent in the inbox, two real browsers, one server."""

import pytest
from django.conf import settings
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from apps.accounts.services import agent_set_presence
from apps.conversations.models import Conversation, Message, SatisfactionSurvey

WAIT_SECONDS = 15
CUSTOMER_NAME = "Wendy Widget"
CUSTOMER_TEXT = "My new card hasn't arrived yet."
NOTE_TEXT = "Checked the courier: card posted on Monday."
REPLY_TEXT = "Hi Wendy, your card is on its way and should arrive by Friday."
RATING_COMMENT = "Quick and friendly, thanks!"
WIDGET_SCREENSHOT = "/tmp/e2e_widget.png"  # noqa: S108 (a fixed place to look at after a run, as asked)
INBOX_SCREENSHOT = "/tmp/e2e_inbox.png"  # noqa: S108


# --- Waiting on the pages -------------------------------------------------------------------------------


def _wait(driver: WebDriver, condition, what: str):
    return WebDriverWait(driver, WAIT_SECONDS).until(condition, f"waited {WAIT_SECONDS} s for {what}")


def _widget_host(driver: WebDriver) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, "#helpdesk-widget")


def _in_widget(driver: WebDriver, css: str) -> WebElement:
    return _widget_host(driver).shadow_root.find_element(By.CSS_SELECTOR, css)


def _widget_says(name: str, value: str):
    """The widget's host element carries ``name`` = ``value`` (its test hooks, static/widget/README.md)."""

    def check(driver: WebDriver) -> bool:
        hosts = driver.find_elements(By.CSS_SELECTOR, "#helpdesk-widget")
        return bool(hosts) and hosts[0].get_attribute(name) == value

    return check


def _widget_shows(css: str):
    def check(driver: WebDriver) -> WebElement | bool:
        hosts = driver.find_elements(By.CSS_SELECTOR, "#helpdesk-widget")
        found = hosts[0].shadow_root.find_elements(By.CSS_SELECTOR, css) if hosts else []
        return found[0] if found and found[0].is_displayed() else False

    return check


def _page_shows(css: str):
    def check(driver: WebDriver) -> WebElement | bool:
        found = driver.find_elements(By.CSS_SELECTOR, css)
        return found[0] if found and found[0].is_displayed() else False

    return check


def _enabled(element_id: str):
    def check(driver: WebDriver) -> WebElement | bool:
        element = driver.find_element(By.ID, element_id)
        return element if element.is_enabled() else False

    return check


def _text(element: WebElement) -> str:
    return element.get_property("textContent").strip()


def _seqs(driver: WebDriver, script: str) -> list[int]:
    return [int(seq) for seq in driver.execute_script(script)]


WIDGET_SEQS_JS = """return Array.from(document.getElementById("helpdesk-widget").shadowRoot
  .querySelectorAll(".hd-log .hd-msg[data-seq]"), (item) => item.dataset.seq);"""
INBOX_SEQS_JS = """return Array.from(document.querySelectorAll("#inbox-transcript li[data-seq]"),
  (item) => item.dataset.seq);"""

# The widget's message log is scrolled to its end (its latest message in view).
LOG_AT_END_JS = """const log = document.getElementById("helpdesk-widget").shadowRoot.querySelector(".hd-log");
return log.scrollHeight - log.scrollTop - log.clientHeight < 2;"""


def _console_errors(driver: WebDriver) -> list[str]:
    # The pages ask for no favicon, so the browser's own request for one 404s; that is not the page's fault.
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]
    ]


# --- The flow -------------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_a_customer_chats_with_an_agent_and_rates_the_chat(live_server_url, chromium, client, agent_alice):
    # Given: Alice is online with the inbox open in her own browser.
    agent_set_presence(profile=agent_alice.agent_profile, presence="online")
    client.force_login(agent_alice)
    inbox = chromium("inbox")
    inbox.get(f"{live_server_url}/healthz")  # any page of the desk, so that its cookie can be set
    session_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    inbox.add_cookie({"name": settings.SESSION_COOKIE_NAME, "value": session_cookie, "path": "/"})
    inbox.get(f"{live_server_url}/inbox/")
    _wait(
        inbox,
        lambda d: d.execute_script("return document.getElementById('inbox-connection').hidden"),
        "the inbox socket",
    )
    inbox.execute_script("window.__sameInboxPage = true;")

    # When: a customer starts a chat from the bank's site and writes.
    customer = chromium("customer")
    customer.get(f"{live_server_url}/")
    _wait(customer, _widget_says("data-view", "prechat"), "the widget's pre-chat form")
    _in_widget(customer, ".hd-launcher").click()
    _wait(customer, _widget_shows("#hd-name"), "the name field").send_keys(CUSTOMER_NAME)
    _in_widget(customer, "form.hd-prechat button[type=submit]").click()
    _wait(customer, _widget_says("data-ready", "true"), "the widget's socket to be ready")
    conversation_id = int(_widget_host(customer).get_attribute("data-conversation"))
    _in_widget(customer, "#hd-input").send_keys(CUSTOMER_TEXT, Keys.ENTER)
    _wait(customer, _widget_says("data-conversation-state", "waiting"), "the chat to wait for an agent")

    # Then: the conversation turns up in Alice's waiting list without a reload.
    item = _wait(
        inbox, _page_shows(f'#inbox-list-waiting li[data-conversation="{conversation_id}"]'), "the waiting row"
    )
    assert _text(item.find_element(By.CSS_SELECTOR, ".inbox-item__name")) == CUSTOMER_NAME
    assert inbox.execute_script("return window.__sameInboxPage === true;")

    # When: Alice opens it, leaves a private note, then replies.
    item.find_element(By.CSS_SELECTOR, "a.inbox-item__link").click()
    _wait(inbox, lambda d: d.current_url == f"{live_server_url}/inbox/{conversation_id}/", "the conversation page")
    _wait(inbox, _enabled("inbox-send"), "the reply box to go live")
    first = inbox.find_element(By.CSS_SELECTOR, '#inbox-transcript li[data-seq="1"] .msg__text')
    assert _text(first) == CUSTOMER_TEXT
    inbox.find_element(By.ID, "inbox-note-toggle").click()
    assert _text(inbox.find_element(By.ID, "inbox-send")) == "Add note"
    inbox.find_element(By.ID, "inbox-reply").send_keys(NOTE_TEXT, Keys.ENTER)
    _wait(inbox, _page_shows('#inbox-transcript li.msg--note[data-seq="3"]'), "the note to be stored")
    inbox.find_element(By.ID, "inbox-note-toggle").click()
    assert _text(inbox.find_element(By.ID, "inbox-send")) == "Send"
    inbox.find_element(By.ID, "inbox-reply").send_keys(REPLY_TEXT, Keys.ENTER)
    _wait(inbox, _page_shows('#inbox-transcript li.msg--agent[data-seq="5"]'), "the reply to be stored")

    # Then: the customer reads the reply, and Alice has joined.
    reply = _wait(customer, _widget_shows('.hd-msg[data-role="agent"][data-seq="5"]'), "the reply in the widget")
    assert _text(reply.find_element(By.CSS_SELECTOR, ".hd-text")) == REPLY_TEXT
    assert _text(reply.find_element(By.CSS_SELECTOR, ".hd-author")) == "alice"
    _wait(customer, _widget_says("data-conversation-state", "agent"), "the chat to be with an agent")
    assert _text(_in_widget(customer, ".hd-subtitle")) == "You're chatting with alice"

    # When: Alice resolves the chat and the customer rates it 4 stars with a comment.
    _wait(inbox, _enabled("inbox-resolve"), "the resolve button").click()
    _wait(customer, _widget_says("data-conversation-state", "closed"), "the chat to close")
    _wait(customer, _widget_shows("form.hd-rating"), "the rating form")
    assert _text(_in_widget(customer, ".hd-rating-title")) == "How did we do?"
    assert _text(_in_widget(customer, ".hd-subtitle")) == "This chat has ended"
    assert customer.execute_script(LOG_AT_END_JS), "the rating form pushed the last messages out of view"
    assert not _in_widget(customer, "form.hd-composer").is_displayed()
    _in_widget(customer, '.hd-star[data-rating="4"]').click()
    assert _in_widget(customer, '.hd-star[data-rating="4"]').get_attribute("aria-pressed") == "true"
    _in_widget(customer, "#hd-rating-comment").send_keys(RATING_COMMENT)
    _in_widget(customer, "form.hd-rating button[type=submit]").click()
    _wait(customer, lambda d: _text(_in_widget(d, ".hd-rating-title")) == "Thanks for your feedback", "the thanks")

    # Then: the survey is stored, the transcript is whole and in order, and the chat is closed.
    _wait(customer, lambda _: SatisfactionSurvey.objects.filter(conversation_id=conversation_id).exists(), "survey")
    _wait(inbox, _page_shows('#inbox-conversation[data-state="closed"]'), "the inbox to show the chat closed")
    survey = SatisfactionSurvey.objects.get(conversation_id=conversation_id)
    assert (survey.rating, survey.comment) == (4, RATING_COMMENT)
    conversation = Conversation.objects.get(pk=conversation_id)
    assert (conversation.state, conversation.assignee, conversation.last_seq) == (
        Conversation.State.CLOSED,
        agent_alice,
        6,
    )
    assert conversation.closed_at is not None
    assert conversation.customer.name == CUSTOMER_NAME
    assert list(conversation.messages.order_by("seq").values_list("seq", "role", "text")) == [
        (1, Message.Role.CUSTOMER, CUSTOMER_TEXT),
        (2, Message.Role.SYSTEM, "Thanks, an agent will be with you shortly."),
        (3, Message.Role.NOTE, NOTE_TEXT),
        (4, Message.Role.SYSTEM, "alice joined the conversation."),
        (5, Message.Role.AGENT, REPLY_TEXT),
        (6, Message.Role.SYSTEM, "This conversation was resolved. How did we do?"),
    ]

    # And: the customer never saw the note; each side rendered each seq it may see exactly once.
    assert _seqs(customer, WIDGET_SEQS_JS) == [1, 2, 4, 5, 6]
    assert NOTE_TEXT not in customer.execute_script(
        "return document.getElementById('helpdesk-widget').shadowRoot.textContent"
    )
    assert _widget_host(customer).get_attribute("data-last-seq") == "6"
    assert _widget_host(customer).get_attribute("data-outbox") == "0"
    assert _seqs(inbox, INBOX_SEQS_JS) == [1, 2, 3, 4, 5, 6]
    assert inbox.find_elements(By.CSS_SELECTOR, "#inbox-transcript .is-pending, #inbox-transcript .is-failed") == []
    assert _console_errors(customer) == []
    assert _console_errors(inbox) == []

    customer.save_screenshot(WIDGET_SCREENSHOT)
    inbox.save_screenshot(INBOX_SCREENSHOT)
