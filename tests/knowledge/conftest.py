"""Knowledge tests share the assistant's tiny random encoder and start with an empty passage index."""

import pytest

from apps.assistant.retrieval import knowledge_index
from tests.assistant.conftest import tiny_encoder, tiny_encoder_path  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def fresh_knowledge_index():
    """The index is per process: a passage id or encoder loaded by another test's database means nothing here."""
    knowledge_index.reset()
    yield
    knowledge_index.reset()
