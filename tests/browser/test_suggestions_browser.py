"""Suggested replies in a real browser: an agent inserts one, sends it, and corrects the message's intent."""

import pytest
from django.conf import settings
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from apps.accounts.services import agent_set_presence
from apps.assistant.models import SuggestionUse, TrainingExample
from apps.conversations.models import Conversation, Message
from apps.conversations.services import message_annotate, message_post, widget_session_start

WAIT_SECONDS = 15
QUESTION = "my card has not arrived"
KB_TEXT = "New cards arrive within 5 working days of your order."
SUGGESTIONS = [
    {
        "id": "kb:7",
        "source": "knowledge",
        "text": KB_TEXT,
        "title": "Where is my new card?",
        "url": "/help/new-card/",
        "score": 0.81,
    },
    {
        "id": "reply:42",
        "source": "past_reply",
        "text": "<img src=x onerror=alert(1)> is on its way.",
        "title": "Reply by <b>bob</b> in #3",
        "url": "javascript:alert(1)",
        "score": 0.7,
    },
]


def _wait(driver: WebDriver, condition, what: str):
    return WebDriverWait(driver, WAIT_SECONDS).until(condition, f"waited {WAIT_SECONDS} s for {what}")


def _text(driver: WebDriver, css: str) -> list[str]:
    return [node.get_property("textContent").strip() for node in driver.find_elements(By.CSS_SELECTOR, css)]


def _waiting_question() -> tuple[Conversation, Message]:
    conversation = widget_session_start(name="Wendy")
    Conversation.objects.filter(pk=conversation.pk).update(state=Conversation.State.WAITING)
    question = message_post(conversation=conversation, role=Message.Role.CUSTOMER, text=QUESTION).message
    message_annotate(
        message=question,
        intent="card_arrival",
        intent_confidence=0.62,
        intent_top3=[["card_arrival", 0.62], ["lost_or_stolen_card", 0.21], ["pending_transfer", 0.09]],
        sentiment=-0.1,
        annotations={"suggestions": SUGGESTIONS},
    )
    return conversation, question


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_an_agent_inserts_a_suggestion_sends_it_and_corrects_the_intent(live_server_url, chromium, client, agent_alice):
    # Given: a waiting customer whose message came with two suggested replies, and Alice's inbox on it.
    conversation, question = _waiting_question()
    agent_set_presence(profile=agent_alice.agent_profile, presence="online")
    client.force_login(agent_alice)
    inbox = chromium("inbox")
    inbox.get(f"{live_server_url}/healthz")
    inbox.add_cookie(
        {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "path": "/"}
    )
    inbox.get(f"{live_server_url}/inbox/{conversation.pk}/")
    _wait(inbox, lambda d: d.find_element(By.ID, "inbox-send").is_enabled(), "the reply box to go live")

    # Then: the panel shows both, escaped, each with its source; only the http link is a link.
    assert _text(inbox, "#inbox-suggestions-list .suggestion__text") == [KB_TEXT, SUGGESTIONS[1]["text"]]
    assert _text(inbox, "#inbox-suggestions-list .suggestion__source") == [
        "Knowledge base · Where is my new card?",
        "Past reply · Reply by <b>bob</b> in #3",
    ]
    links = inbox.find_elements(By.CSS_SELECTOR, "#inbox-suggestions-list a")
    assert [(a.get_attribute("href"), a.get_attribute("target")) for a in links] == [
        (f"{live_server_url}/help/new-card/", "_blank")
    ]
    assert inbox.find_elements(By.CSS_SELECTOR, "#inbox-suggestions img, #inbox-suggestions b") == []
    assert not inbox.find_element(By.ID, "inbox-suggestions-empty").is_displayed()

    # When: Alice inserts the knowledge-base one and sends it as it is.
    inbox.find_element(By.CSS_SELECTOR, '[data-suggestion="kb:7"] .suggestion__insert').click()
    reply_box = inbox.find_element(By.ID, "inbox-reply")
    assert reply_box.get_property("value") == KB_TEXT
    reply_box.send_keys(Keys.ENTER)
    _wait(inbox, lambda d: d.find_elements(By.CSS_SELECTOR, "#inbox-transcript li.msg--agent[data-seq]"), "the reply")

    # Then: the reply went out and counts as the suggestion used.
    _wait(inbox, lambda _: SuggestionUse.objects.exists(), "the suggestion use")
    use = SuggestionUse.objects.get()
    assert (use.message, use.reply.text, use.suggestion_id, use.outcome, use.agent) == (
        question,
        KB_TEXT,
        "kb:7",
        "used",
        agent_alice,
    )

    # When: Alice says the intent was a lost card.
    form = inbox.find_element(By.CSS_SELECTOR, f'#inbox-transcript form.msg__correct[data-message="{question.pk}"]')
    Select(form.find_element(By.NAME, "intent")).select_by_value("lost_or_stolen_card")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    # Then: the transcript says so live, and the example waits for an ML admin's review.
    _wait(
        inbox,
        lambda d: (
            _text(d, f'#inbox-transcript li[data-seq="{question.seq}"] .msg__corrected')
            == ["Corrected intent: lost_or_stolen_card (by alice)"]
        ),
        "the correction in the transcript",
    )
    # The suggestion used confirms the reading it was offered for; the correction gives the agent's label.
    assert set(TrainingExample.objects.values_list("text", "label", "source", "signal", "status")) == {
        (QUESTION, "card_arrival", "suggestion", "positive", TrainingExample.Status.PENDING),
        (QUESTION, "lost_or_stolen_card", "agent_correction", "positive", TrainingExample.Status.PENDING),
    }
    severe = [entry["message"] for entry in inbox.get_log("browser") if entry["level"] == "SEVERE"]
    assert [message for message in severe if "favicon.ico" not in message] == []
