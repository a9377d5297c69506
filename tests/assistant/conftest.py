"""A tiny random BERT built on the spot: real transformers loading and training code, in milliseconds."""

import re
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

from apps.assistant.inference import Served, intent_champion, sentiment_champion
from apps.assistant.retrieval import knowledge_index

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
