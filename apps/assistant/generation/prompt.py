"""The grounding prompt every generating backend gets: the retrieved passages and the recent conversation,
nothing else, as chat messages ({"role": ..., "content": ...})."""

import re
from collections.abc import Sequence

from apps.assistant.generation.base import GroundingPassage
from apps.assistant.ml.preprocess import preprocess

SYSTEM_INSTRUCTIONS = (
    "You are the help desk's assistant. Answer the customer's last message using only the passages below. "
    "Be brief: one to three sentences. If the passages do not answer it, say that you don't know. "
    "Do not make up links, phone numbers or other details."
)
PASSAGE_PROMPT_CHARS = 1500  # per passage: a long article section would crowd out the conversation
HISTORY_PROMPT_TURNS = 6
HISTORY_PROMPT_CHARS = 500  # per turn
CHAT_ROLES = {"customer": "user", "bot": "assistant", "agent": "assistant"}
PLAIN_NAMES = {"system": "Instructions", "user": "Customer", "assistant": "Assistant"}
# A plain prompt's model often goes on to write the customer's next line itself; the reply ends there.
_NEXT_TURN = re.compile(r"^\s*(customer|user|human|instructions|system)\s*:", re.IGNORECASE | re.MULTILINE)


def grounding_messages(
    *, question: str, passages: list[GroundingPassage], history: Sequence[tuple[str, str]]
) -> list[dict[str, str]]:
    """System message with the passages, the recent turns (customer → user; bot and agent → assistant), and
    the question. A last history turn that is the question itself is not repeated. What people wrote goes
    through preprocess (HELPDESK_REDACTOR's redaction) like everything else a model sees, which matters most
    when the model is a hosted API; the knowledge-base passages are published text and keep their lines."""
    turns = list(history)[-HISTORY_PROMPT_TURNS:]
    if turns and tuple(turns[-1]) == ("customer", question):
        turns.pop()
    messages = [{"role": "system", "content": _system_content(passages)}]
    for role, text in turns:
        if role not in CHAT_ROLES:
            raise ValueError(f"history role must be one of {', '.join(CHAT_ROLES)}, got {role!r}")
        messages.append({"role": CHAT_ROLES[role], "content": _clip(preprocess(text), HISTORY_PROMPT_CHARS)})
    messages.append({"role": "user", "content": preprocess(question)})
    return messages


def plain_prompt(messages: list[dict[str, str]]) -> str:
    """The messages as one text for a model without a chat template, ending where the assistant speaks."""
    lines = [f"{PLAIN_NAMES[message['role']]}: {message['content']}" for message in messages]
    return "\n\n".join([*lines, "Assistant:"])


def plain_reply_cut(text: str) -> str:
    """A plain prompt's continuation up to the next turn the model made up."""
    return _NEXT_TURN.split(text, maxsplit=1)[0].strip()


def _system_content(passages: list[GroundingPassage]) -> str:
    blocks = [
        f"Passage {number}: {passage.title}\n{_clip(passage.text, PASSAGE_PROMPT_CHARS)}"
        for number, passage in enumerate(passages, start=1)
    ]
    return "\n\n".join([SYSTEM_INSTRUCTIONS, *blocks])


def _clip(text: str, max_chars: int) -> str:
    text = text.strip()
    return text if len(text) <= max_chars else text[:max_chars].rsplit(" ", 1)[0] + " …"
