"""A tiny random BERT built on the spot: real transformers loading and training code, in milliseconds."""

import re
import uuid
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

from apps.assistant import analysis
from apps.assistant.inference import intent_champion, sentiment_champion
from apps.assistant.ml.intent import IntentPrediction
from apps.assistant.retrieval import PassageHit, knowledge_index
from apps.assistant.serving import Served
from apps.conversations.services import customer_message_post

INTENT_EXAMPLES = {
    "card_arrival": [
        "my card has not arrived yet",
        "where is my new card",
        "when will my card arrive",
        "card not arrived",
        "new card where is it",
        "has my card arrived",
    ],
    "lost_or_stolen_card": [
        "my card was stolen",
        "i lost my card",
        "block my lost card",
        "freeze stolen card",
        "stop my stolen card",
        "lost card please block",
    ],
    "pending_transfer": [
        "my transfer is pending",
        "transfer money pending",
        "when will my transfer arrive",
        "pending transfer",
        "transfer still pending",
        "money transfer not arrived",
    ],
}
EXTRA_WORDS = (
    "tell me a joke the weather football song pizza movie please help speak to person agent human "
    "hello thanks refund fee declined payment balance account"
)
WORDS = sorted(
    {word for texts in INTENT_EXAMPLES.values() for text in texts for word in re.findall(r"[a-z]+", text)}
    | set(EXTRA_WORDS.split())
)


def tiny_encoder_folder(folder: Path, hidden_size: int = 32) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)  # the same tiny weights whichever test builds it first
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    BertTokenizerFast(vocab={token: index for index, token in enumerate(vocab)}).save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=160,
    )
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_encoder_path(tmp_path_factory) -> Path:
    return tiny_encoder_folder(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture
def tiny_encoder(settings, tiny_encoder_path) -> Path:
    """HELPDESK_ENCODER_PATH pointed at the tiny model for this test."""
    settings.HELPDESK_ENCODER_PATH = str(tiny_encoder_path)
    return tiny_encoder_path


@pytest.fixture(autouse=True)
def fresh_champion_caches():
    """Each test starts with nothing loaded: a version id reused by another test's database is another model."""
    for cache in (intent_champion, sentiment_champion):
        cache.served = Served()
    knowledge_index.reset()
    yield
    for cache in (intent_champion, sentiment_champion):
        cache.served = Served()
    knowledge_index.reset()


# --- The bot that answers: the models' readings set by each test, and a customer who says things ----------

CARD_TEXT = (
    "New cards arrive within 5 working days of your order. If it has not arrived after 10 days, freeze it in the "
    "app and order a replacement: it is free."
)


def hit(intents=("card_arrival",), score=0.72, article_id=1, text=CARD_TEXT) -> PassageHit:
    return PassageHit(
        passage_id=article_id * 10,
        article_id=article_id,
        article_title="Where is my new card?",
        article_slug="where-is-my-new-card",
        article_url="/help/where-is-my-new-card/",
        heading="Delivery times",
        text=text,
        score=score,
        article_intents=list(intents),
    )


def prediction(*top: tuple[str, float], out_of_scope: bool = False) -> IntentPrediction:
    return IntentPrediction("oos" if out_of_scope else top[0][0], top[0][1], list(top), out_of_scope, top[0][0])


@pytest.fixture
def models(monkeypatch):
    """The models' readings, set by each test: intent predictions per call and retrieved passages."""

    class Readings:
        predictions: list[IntentPrediction] = [prediction(("card_arrival", 0.91), ("card_delivery_estimate", 0.04))]
        hits: list[PassageHit] = [hit()]
        texts_seen: list[list[str]] = []
        satisfaction = None
        turns_seen: list[list[dict]] = []

    def intent_predict(texts):
        Readings.texts_seen.append(list(texts))
        return [Readings.predictions[min(i, len(Readings.predictions) - 1)] for i in range(len(texts))], None

    def satisfaction_predict(turns):
        Readings.turns_seen.append(turns)
        return (None, None) if Readings.satisfaction is None else (Readings.satisfaction, None)

    monkeypatch.setattr(analysis, "intent_predict", intent_predict)
    monkeypatch.setattr(analysis, "passages_search", lambda text, **kwargs: list(Readings.hits))
    monkeypatch.setattr(analysis, "satisfaction_predict", satisfaction_predict)
    return Readings


@pytest.fixture
def say(settings, django_capture_on_commit_callbacks):
    """The customer says ``text``; the assistant's task runs (eagerly) when the message commits."""
    settings.HELPDESK_MESSAGE_HOOK_TASK = "apps.assistant.tasks.analyse_message"

    def post(conversation, text):
        with django_capture_on_commit_callbacks(execute=True):
            message = customer_message_post(conversation=conversation, text=text, client_id=uuid.uuid4()).message
        message.refresh_from_db()
        return message

    return post
