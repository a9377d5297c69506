"""The end-to-end path over websockets: widget → stored message → the assistant's Celery task (eager here; a
real worker in tests/conversations/test_celery_worker.py) → the knowledge index → the bot's answer frame."""

import pytest
from channels.db import database_sync_to_async

from apps.assistant import analysis
from apps.assistant.ml.intent import IntentPrediction
from apps.knowledge.services import article_save
from tests.conversations.chat_clients import frames_until, new_widget_session, send_frame, widget_connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

DELIVERY = "New cards arrive within five working days of the order."


@database_sync_to_async
def knowledge_base() -> None:
    article_save(
        title="Where is my new card?",
        slug="where-is-my-new-card",
        body=f"## Delivery\n\n{DELIVERY}\n\n## Lost in the post\n\nFreeze the card in the app and order another.",
        intents=["card_arrival"],
    )
    article_save(title="Fees", slug="fees", body="Transfers within the country are free.", intents=["fees"])


async def test_a_widget_question_gets_the_bots_sourced_answer_with_feedback_buttons(
    tiny_encoder, settings, monkeypatch
):
    settings.HELPDESK_MESSAGE_HOOK_TASK = "apps.assistant.tasks.analyse_message"
    card = IntentPrediction("card_arrival", 0.93, [("card_arrival", 0.93), ("fees", 0.02)], False, "card_arrival")
    monkeypatch.setattr(analysis, "intent_predict", lambda texts: ([card] * len(texts), None))
    await knowledge_base()
    _, token = await new_widget_session("Wendy")
    widget = await widget_connect(token)

    await widget.send_json_to(send_frame(DELIVERY))
    frames = await frames_until(widget, "message.new", lambda frame: frame["message"]["role"] == "bot")

    answer = frames[-1]["message"]
    assert answer["text"] == f"{DELIVERY}\n\nDid this help?"
    assert answer["article"] == {"title": "Where is my new card?", "url": "/help/where-is-my-new-card/"}
    assert answer["quick_replies"] == ["Yes, thanks", "No, I need more help"]
    assert "decision" not in answer  # the bot's reasons are for agents
    assert all("decision" not in frame.get("message", {}) for frame in frames)
    await widget.disconnect()
