"""Markup in what customers, agents and article authors write never runs, in any page that shows it: the widget,
the agents' inbox, the Django admin, the reports and the help centre. Each payload would, if run, set
``window.__xss`` to where it came from; each page is checked for that, for any element carrying an
``onerror`` handler, and for the payload shown as the text it is."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from apps.accounts.roles import AGENTS
from apps.accounts.services import agent_profile_ensure, agent_set_presence, user_set_roles
from apps.conversations.models import Conversation, Message
from apps.conversations.services import (
    agent_message_post,
    conversation_rate,
    conversation_resolve,
    message_annotate,
    message_annotations_merge,
    message_post,
    widget_session_start,
)
from apps.knowledge.services import article_save
from apps.reports.services import conversation_facts_refresh

WAIT_SECONDS = 15
ARTICLE_SLUG = "card-delivery"


def _markup(where: str) -> str:
    """Markup that, if a page ever ran it, would leave ``where`` in window.__xss."""
    return f"<script>window.__xss='{where}'</script><img src=x onerror=\"window.__xss='{where}'\">"


CUSTOMER_NAME = "Mal " + _markup("name")  # under the widget's 100-character name field
AGENT_NAME = "Alice " + _markup("agent name")  # an agent's display name: at most 100 characters
CUSTOMER_TEXT = "My card? " + _markup("customer message")
SECOND_TEXT = "Still there? " + _markup("live customer message")
AGENT_TEXT = "Here you go: " + _markup("agent reply")
NOTE_TEXT = "VIP " + _markup("note")
BOT_TEXT = "Cards arrive in 5 days. " + _markup("bot answer")
ARTICLE_TITLE = "Delivery " + _markup("article title")
QUICK_REPLY = "Thanks " + _markup("quick reply")
COMMENT = "Too slow " + _markup("survey comment")
ARTICLE_BODY = (
    "Cards arrive within 5 days.\n\n"
    + _markup("article body")
    + "\n\n<a href=\"javascript:window.__xss='article link'\">Track it</a>"
    + "\n\n[Track it too](javascript:window.__xss='markdown link')\n"
)
SUGGESTIONS = [
    {
        "id": "kb:1",
        "source": "knowledge",
        "text": "Suggested: " + _markup("suggestion text"),
        "title": _markup("suggestion title"),
        "url": "javascript:window.__xss='suggestion url'",
        "score": 0.9,
    }
]


# --- Looking at pages ------------------------------------------------------------------------------------


def _wait(driver: WebDriver, condition, what: str):
    return WebDriverWait(driver, WAIT_SECONDS).until(condition, f"waited {WAIT_SECONDS} s for {what}")


def _text(element: WebElement) -> str:
    return element.get_property("textContent").strip()


def _widget(driver: WebDriver) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, "#helpdesk-widget")


def _in_widget(driver: WebDriver, css: str) -> list[WebElement]:
    return _widget(driver).shadow_root.find_elements(By.CSS_SELECTOR, css)


def _widget_says(name: str, value: str):
    def check(driver: WebDriver) -> bool:
        hosts = driver.find_elements(By.CSS_SELECTOR, "#helpdesk-widget")
        return bool(hosts) and hosts[0].get_attribute(name) == value

    return check


def _widget_shows(css: str):
    def check(driver: WebDriver) -> WebElement | bool:
        found = _in_widget(driver, css)
        return found[0] if found and found[0].is_displayed() else False

    return check


def _page_shows(css: str, text: str | None = None):
    def check(driver: WebDriver) -> WebElement | bool:
        for element in driver.find_elements(By.CSS_SELECTOR, css):
            if element.is_displayed() and (text is None or _text(element) == text):
                return element
        return False

    return check


# Everything a payload could have left behind: the flag it sets, and live elements with a handler on them, in
# the page and in the widget's shadow root.
TRACES_JS = """
const roots = [document];
const widget = document.getElementById("helpdesk-widget");
if (widget && widget.shadowRoot) roots.push(widget.shadowRoot);
const handlers = roots.flatMap((root) => Array.from(root.querySelectorAll("[onerror], [onload], [onclick]")));
const links = roots.flatMap((root) => Array.from(root.querySelectorAll("a[href^='javascript:' i]")));
return {
  ran: window.__xss === undefined ? null : String(window.__xss),
  handlers: handlers.map((element) => element.outerHTML.slice(0, 120)),
  javascript_links: links.map((element) => element.outerHTML.slice(0, 120)),
};
"""


def _assert_nothing_ran(driver: WebDriver) -> None:
    traces = driver.execute_script(TRACES_JS)
    assert traces["ran"] is None, f"a payload ran: {traces['ran']}"
    assert traces["handlers"] == []
    assert traces["javascript_links"] == []


def _log_in(driver: WebDriver, client, user, live_server_url: str) -> None:
    client.force_login(user)
    driver.get(f"{live_server_url}/healthz")  # any page of the desk, so that its cookie can be set
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    driver.add_cookie({"name": settings.SESSION_COOKIE_NAME, "value": session, "path": "/"})


def _start_chat(customer: WebDriver, live_server_url: str, name: str, text: str) -> int:
    """A visitor opens the bank's site, gives ``name``, sends ``text``; returns the conversation's id."""
    customer.get(f"{live_server_url}/")
    _wait(customer, _widget_says("data-view", "prechat"), "the widget's pre-chat form")
    _in_widget(customer, ".hd-launcher")[0].click()
    _wait(customer, _widget_shows("#hd-name"), "the name field").send_keys(name)
    _in_widget(customer, "form.hd-prechat button[type=submit]")[0].click()
    _wait(customer, _widget_says("data-ready", "true"), "the widget's socket to be ready")
    conversation_id = int(_widget(customer).get_attribute("data-conversation"))
    _in_widget(customer, "#hd-input")[0].send_keys(text, Keys.ENTER)
    _wait(customer, _widget_says("data-outbox", "0"), "the message to be stored")
    return conversation_id


def _agent(user, display_name: str) -> None:
    agent_profile = user.agent_profile  # the user's own (cached) profile: services name the agent from it
    agent_profile.display_name = display_name
    agent_profile.save(update_fields=["display_name"])
    agent_set_presence(profile=agent_profile, presence="online")


# --- The surfaces ----------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_the_widget_shows_markup_from_everyone_as_text_and_runs_none_of_it(live_server_url, chromium, agent_alice):
    # Given: Alice, whose display name is markup, is online.
    _agent(agent_alice, AGENT_NAME)

    # When: a visitor named with markup sends markup, and then Alice and the bot (with an article and a quick
    # reply, all markup) answer; the visitor reloads the page and the widget replays the conversation.
    customer = chromium("customer")
    conversation_id = _start_chat(customer, live_server_url, CUSTOMER_NAME, CUSTOMER_TEXT)
    conversation = Conversation.objects.get(pk=conversation_id)
    agent_message_post(conversation=conversation, agent=agent_alice, text=AGENT_TEXT, client_id=None, note=False)
    agent_message_post(conversation=conversation, agent=agent_alice, text=NOTE_TEXT, client_id=None, note=True)
    bot = message_post(conversation=conversation, role=Message.Role.BOT, text=BOT_TEXT).message
    article = {"title": ARTICLE_TITLE, "url": f"/help/{ARTICLE_SLUG}/"}
    message_annotations_merge(message=bot, annotations={"article": article, "quick_replies": [QUICK_REPLY]})
    customer.refresh()
    _wait(customer, _widget_says("data-last-seq", str(bot.seq)), "the replay of every message")

    # Then: every message is its text, exactly, and nothing ran.
    shown = [
        (_text(node.find_element(By.CSS_SELECTOR, ".hd-text"))) for node in _in_widget(customer, ".hd-msg[data-seq]")
    ]
    visible = conversation.messages.exclude(role=Message.Role.NOTE).order_by("seq").values_list("text", flat=True)
    assert shown == list(visible)
    assert CUSTOMER_TEXT in shown
    assert AGENT_TEXT in shown
    assert f"{AGENT_NAME} joined the conversation." in shown
    assert NOTE_TEXT not in shown
    reply = _in_widget(customer, '.hd-msg[data-role="agent"]')[0]
    assert _text(reply.find_element(By.CSS_SELECTOR, ".hd-author")) == AGENT_NAME
    assert [_text(link) for link in _in_widget(customer, "a.hd-article")] == [f"Read: {ARTICLE_TITLE}"]
    assert [_text(button) for button in _in_widget(customer, "button.hd-quick-reply")] == [QUICK_REPLY]
    assert _in_widget(customer, ".hd-log script, .hd-log img") == []
    _assert_nothing_ran(customer)


@pytest.mark.browser
@pytest.mark.timeout(150)
def test_the_inbox_shows_markup_from_customers_and_agents_as_text_live_and_on_load(
    live_server_url, chromium, client, agent_alice, team_cards
):
    # Given: Alice and Bob, both named with markup, are online; Alice has the inbox open.
    _agent(agent_alice, AGENT_NAME)
    bob = get_user_model().objects.create_user(username="bob", password="pw-bob", is_staff=True)
    user_set_roles(user=bob, roles=[AGENTS])
    agent_profile_ensure(user=bob, teams=[team_cards])
    _agent(bob, "Bob " + _markup("bob"))  # shown in the presence strip
    inbox = chromium("inbox")
    _log_in(inbox, client, agent_alice, live_server_url)
    inbox.get(f"{live_server_url}/inbox/")
    _wait(inbox, lambda d: d.execute_script("return document.getElementById('inbox-connection').hidden"), "socket")

    # When: a visitor named with markup writes markup; it reaches the inbox live.
    customer = chromium("customer")
    conversation_id = _start_chat(customer, live_server_url, CUSTOMER_NAME, CUSTOMER_TEXT)
    row = f'#inbox-list li[data-conversation="{conversation_id}"]'
    _wait(inbox, _page_shows(f"{row} .inbox-item__name", CUSTOMER_NAME), "the live row with the customer's name")

    # Then: the live row is text, and nothing ran.
    _assert_nothing_ran(inbox)

    # When: the models' suggestions (markup too) are stored, and Alice opens the conversation.
    question = Message.objects.get(conversation_id=conversation_id, seq=1)
    message_annotate(message=question, intent="card_arrival", annotations={"suggestions": SUGGESTIONS})
    inbox.find_element(By.CSS_SELECTOR, f"{row} a.inbox-item__link").click()
    _wait(inbox, lambda d: d.find_element(By.ID, "inbox-send").is_enabled(), "the reply box to go live")

    # Then: the page rendered by the server shows everything as text.
    assert _text(inbox.find_element(By.ID, "inbox-conversation-title")) == CUSTOMER_NAME
    assert _text(inbox.find_element(By.ID, "inbox-customer-title")) == CUSTOMER_NAME
    first = inbox.find_element(By.CSS_SELECTOR, '#inbox-transcript li[data-seq="1"] .msg__text')
    assert _text(first) == CUSTOMER_TEXT
    suggested = _wait(inbox, _page_shows("#inbox-suggestions-list .suggestion__text"), "the suggestions panel")
    assert _text(suggested) == SUGGESTIONS[0]["text"]
    _assert_nothing_ran(inbox)

    # When: the customer writes again (live, into the open transcript), and Alice answers and adds a note.
    _in_widget(customer, "#hd-input")[0].send_keys(SECOND_TEXT, Keys.ENTER)
    _wait(inbox, _page_shows("#inbox-transcript .msg__text", SECOND_TEXT), "the live customer message")
    inbox.find_element(By.ID, "inbox-reply").send_keys(AGENT_TEXT, Keys.ENTER)
    _wait(inbox, _page_shows("#inbox-transcript .msg--agent .msg__text", AGENT_TEXT), "the reply to be stored")
    inbox.find_element(By.ID, "inbox-note-toggle").click()
    inbox.find_element(By.ID, "inbox-reply").send_keys(NOTE_TEXT, Keys.ENTER)
    _wait(inbox, _page_shows("#inbox-transcript .msg--note .msg__text", NOTE_TEXT), "the note to be stored")

    # Then: both browsers show it all as text, and nothing ran in either.
    _wait(customer, _widget_shows('.hd-msg[data-role="agent"]'), "the reply in the widget")
    assert AGENT_TEXT in [_text(node) for node in _in_widget(customer, ".hd-msg .hd-text")]
    assert _text(_in_widget(customer, '.hd-msg[data-role="agent"] .hd-author')[0]) == AGENT_NAME
    authors = [
        _text(node) for node in inbox.find_elements(By.CSS_SELECTOR, "#inbox-transcript .msg--agent .msg__author")
    ]
    assert authors == [AGENT_NAME]
    assert (
        inbox.find_elements(
            By.CSS_SELECTOR, "#inbox-transcript script:not([type='application/json']), #inbox-transcript img"
        )
        == []
    )
    _assert_nothing_ran(inbox)
    _assert_nothing_ran(customer)


def _conversation_with_markup(agent) -> Conversation:
    """A closed conversation in which everyone wrote markup, rated 1 with a comment of markup."""
    _agent(agent, AGENT_NAME)
    conversation = widget_session_start(name=CUSTOMER_NAME, email="mallory@example.com")
    conversation.customer.attributes = {"tier": _markup("customer attribute")}
    conversation.customer.save(update_fields=["attributes"])
    message_post(conversation=conversation, role=Message.Role.CUSTOMER, text=CUSTOMER_TEXT)
    agent_message_post(conversation=conversation, agent=agent, text=AGENT_TEXT, client_id=None, note=False)
    agent_message_post(conversation=conversation, agent=agent, text=NOTE_TEXT, client_id=None, note=True)
    conversation_resolve(conversation=conversation, actor=agent)
    conversation.refresh_from_db()
    conversation_rate(conversation=conversation, rating=1, comment=COMMENT)
    conversation_facts_refresh(conversation_ids=[conversation.pk])
    return conversation


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_the_admin_shows_markup_in_conversations_customers_and_articles_as_text(
    live_server_url, chromium, client, admin_ada, agent_alice
):
    conversation = _conversation_with_markup(agent_alice)
    article = article_save(title=ARTICLE_TITLE, body=ARTICLE_BODY, slug=ARTICLE_SLUG)
    admin = chromium("admin")
    _log_in(admin, client, admin_ada, live_server_url)

    admin.get(f"{live_server_url}/admin/conversations/conversation/{conversation.pk}/change/")
    page = _text(admin.find_element(By.ID, "content"))
    assert CUSTOMER_TEXT in page
    assert AGENT_TEXT in page
    assert NOTE_TEXT in page
    assert CUSTOMER_NAME in page
    _assert_nothing_ran(admin)

    admin.get(f"{live_server_url}/admin/conversations/conversation/")
    assert CUSTOMER_NAME in _text(admin.find_element(By.ID, "result_list"))
    _assert_nothing_ran(admin)

    admin.get(f"{live_server_url}/admin/customers/customer/{conversation.customer_id}/change/")
    assert admin.find_element(By.ID, "id_name").get_property("value") == CUSTOMER_NAME
    assert CUSTOMER_NAME in _text(admin.find_element(By.ID, "content"))
    _assert_nothing_ran(admin)

    admin.get(f"{live_server_url}/admin/customers/customer/")
    assert CUSTOMER_NAME in _text(admin.find_element(By.ID, "result_list"))
    _assert_nothing_ran(admin)

    admin.get(f"{live_server_url}/admin/knowledge/article/{article.pk}/change/")
    assert admin.find_element(By.ID, "id_title").get_property("value") == ARTICLE_TITLE
    assert admin.find_element(By.ID, "id_body").get_property("value") == ARTICLE_BODY
    _assert_nothing_ran(admin)


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_the_reports_show_a_low_ratings_comment_and_agent_names_as_text(
    live_server_url, chromium, client, manager_maria, agent_alice
):
    _conversation_with_markup(agent_alice)
    reports = chromium("reports")
    _log_in(reports, client, manager_maria, live_server_url)

    reports.get(f"{live_server_url}/reports/")

    comments = _wait(reports, _page_shows("#table-comments"), "the comments table")
    assert COMMENT in _text(comments)
    assert AGENT_NAME in _text(reports.find_element(By.ID, "content"))  # the leaderboard and breakdown rows
    _assert_nothing_ran(reports)


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_the_help_centre_shows_an_articles_markup_title_as_text_and_drops_its_raw_html(live_server_url, chromium):
    article_save(title=ARTICLE_TITLE, body=ARTICLE_BODY, slug=ARTICLE_SLUG)
    visitor = chromium("visitor")

    visitor.get(f"{live_server_url}/help/")
    assert ARTICLE_TITLE in _text(visitor.find_element(By.ID, "content"))
    _assert_nothing_ran(visitor)

    visitor.get(f"{live_server_url}/help/{ARTICLE_SLUG}/")
    body = visitor.find_element(By.CSS_SELECTOR, "article.help-article")
    assert _text(body.find_element(By.TAG_NAME, "h1")) == ARTICLE_TITLE
    assert "Cards arrive within 5 days." in _text(body)
    # The body is Markdown: its raw HTML is dropped (nh3), not shown, and links keep only safe schemes.
    assert body.find_elements(By.CSS_SELECTOR, "script, img, [onerror]") == []
    _assert_nothing_ran(visitor)
