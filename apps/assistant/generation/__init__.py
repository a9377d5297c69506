"""Reply generation for the bot (worker side): the answer to a customer's question from retrieved knowledge-base
passages, by one of three backends chosen per deployment or per intent.

- ``extractive`` (default): the best passage, trimmed to a clean answer; no model.
- ``local``: a causal LM from a local folder (``manage.py prepare_llm`` converts SmolLM2-135M-Instruct).
- ``openai``: any OpenAI-compatible chat completions endpoint.

Importing this package loads neither torch nor transformers; only the local backend does, on first use.
"""

from apps.assistant.generation.base import (
    BACKENDS,
    EXTRACTIVE,
    LOCAL,
    OPENAI,
    GeneratedReply,
    GenerationError,
    GroundingPassage,
)
from apps.assistant.generation.service import reply_generate

__all__ = [
    "BACKENDS",
    "EXTRACTIVE",
    "LOCAL",
    "OPENAI",
    "GeneratedReply",
    "GenerationError",
    "GroundingPassage",
    "reply_generate",
]
