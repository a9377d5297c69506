"""reply_generate: one answer from the retrieved passages, by the backend the deployment (or the intent) chose,
always ending in text the customer can be sent."""

import logging
from collections.abc import Sequence

from django.conf import settings

from apps.assistant.generation.base import (
    BACKENDS,
    EXTRACTIVE,
    LOCAL,
    GeneratedReply,
    GenerationError,
    GroundingPassage,
)
from apps.assistant.generation.checks import generated_text_check
from apps.assistant.generation.extractive import extractive_answer
from apps.assistant.generation.openai_compatible import Endpoint, openai_generate
from apps.assistant.generation.prompt import grounding_messages

logger = logging.getLogger(__name__)


def reply_generate(
    *,
    backend: str,
    question: str,
    passages: list[GroundingPassage],
    history: Sequence[tuple[str, str]] = (),
) -> GeneratedReply:
    """The answer to ``question`` from ``passages`` (best first; at least one) given the recent ``history``
    ((role, text) pairs, role customer/bot/agent, oldest first, without the question).

    A model's text that fails generated_text_check, or a backend that fails, gives way to the extractive
    answer from the first passage, with the reason in ``fallback_reason``. An unknown backend is a
    configuration error and raises ValueError."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown reply backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if not passages:
        raise ValueError("reply_generate needs at least one passage")
    if backend == EXTRACTIVE:
        return GeneratedReply(text=extractive_answer(passages[0]), backend=EXTRACTIVE, requested_backend=EXTRACTIVE)
    messages = grounding_messages(question=question, passages=passages, history=history)
    try:
        generated = _generate(backend, messages)
    except GenerationError as error:
        logger.warning("%s reply generation failed, answering extractively: %s", backend, error)
        return _fallback(backend, passages, f"{backend} backend failed: {error}")
    checked = generated_text_check(text=generated, passages=passages)
    if checked.problem:
        # Expected now and then, above all from a small model: the reason is kept on the message.
        logger.info("%s reply refused: %s", backend, checked.problem)
        return _fallback(backend, passages, f"generated text refused: {checked.problem}")
    return GeneratedReply(text=checked.text, backend=backend, requested_backend=backend)


def _generate(backend: str, messages: list[dict[str, str]]) -> str:
    max_tokens = settings.HELPDESK_LLM_MAX_NEW_TOKENS
    if backend == LOCAL:
        # Imported on first use, not to break a cycle: it loads torch and transformers, which the other
        # backends, and every process that never generates locally, do without.
        from apps.assistant.generation.local import local_generate

        return local_generate(messages=messages, max_new_tokens=max_tokens)
    endpoint = Endpoint(
        base_url=settings.HELPDESK_OPENAI_BASE_URL or "",
        model=settings.HELPDESK_OPENAI_MODEL or "",
        api_key=settings.HELPDESK_OPENAI_API_KEY or "",
        timeout=float(settings.HELPDESK_OPENAI_TIMEOUT),
    )
    return openai_generate(endpoint=endpoint, messages=messages, max_tokens=max_tokens)


def _fallback(backend: str, passages: list[GroundingPassage], reason: str) -> GeneratedReply:
    return GeneratedReply(
        text=extractive_answer(passages[0]), backend=EXTRACTIVE, requested_backend=backend, fallback_reason=reason
    )
