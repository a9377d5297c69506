"""The dialogue policy: from one customer message's annotations and the conversation's memory to what the bot
does next (answer, ask, or hand over), and why. Pure functions of their inputs (no database, no torch), so
every branch is tested on its own; apps/assistant/analysis.py gathers the inputs and carries out the action.

Order of the rules, first match wins:
1. a pending "Did this help?" answered no → handoff; yes → a closing line.
2. the customer asked for a person, or the message is urgent (fraud, hacked, unauthorised) → handoff.
3. sentiment at or below the configured threshold, or shouting → handoff; so does a predicted satisfaction at
   or below the at-risk threshold (the satisfaction model, when one serves).
4. no intent model serving → handoff.
5. a pending clarification answered with one of its options → that intent, as if predicted with certainty.
6. out of scope → ask to rephrase; the configured number in a row → handoff.
7. the top two intents too close → ask which one, with both as quick replies.
8. confident, and a passage good enough → answer with it and "Did this help?"; the same intent again right
   after an answer, or no passage → the answer failed; the configured number of failures → handoff.
9. not confident enough → ask, with the best guesses as quick replies.
"""

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from apps.assistant.ml.config import OUT_OF_SCOPE

ANSWER, CLARIFY, HANDOFF = "answer", "clarify", "handoff"  # Message.Decision values
HELPED, NOT_HELPED = "helped", "not_helped"

YES_REPLY, NO_REPLY = "Yes, thanks", "No, I need more help"
PERSON_REPLY = "Talk to a person"
SOMETHING_ELSE_REPLY = "Something else"
HANDOFF_REASONS = ("asked for a person", "urgent", "shouting")
# An intent this sure is handed to its team even when no article matches; below it the bot asks first.
SURE_WITHOUT_ARTICLE = 0.9


@dataclass(frozen=True)
class PolicySettings:
    """What the admin's PolicyConfig row holds, as the policy reads it."""

    answer_confidence: float = 0.5
    clarify_margin: float = 0.2
    clarify_confidence: float = 0.2
    retrieval_min_score: float = 0.3
    handoff_sentiment: float = -0.6
    max_out_of_scope: int = 2
    max_failed_answers: int = 2
    at_risk_satisfaction: float = 2.5


@dataclass
class BotState:
    """What the bot remembers of a conversation between messages (Conversation.bot_state)."""

    last_intent: str = ""
    last_answered_intent: str = ""
    pending: str = ""  # "", "clarify" or "feedback"
    options: list[list[str]] = field(default_factory=list)  # [label, intent] offered in a clarification
    answered_article: int | None = None
    out_of_scope_streak: int = 0
    failed_answers: int = 0
    details: dict[str, str] = field(default_factory=dict)  # what the customer told: card ending, reference

    @classmethod
    def from_json(cls, stored: dict[str, Any] | None) -> "BotState":
        known = {name: value for name, value in (stored or {}).items() if name in cls.__dataclass_fields__}
        return cls(**known)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Guess:
    intent: str  # "oos" when out of scope
    confidence: float
    top: list[tuple[str, float]]  # best first
    out_of_scope: bool
    follow_up: bool = False  # read together with the previous customer message


@dataclass(frozen=True)
class Hit:
    """A retrieved passage, as the policy needs it."""

    article_id: int
    article_title: str
    article_url: str
    text: str
    score: float
    article_intents: tuple[str, ...] = ()
    heading: str = ""


@dataclass(frozen=True)
class Turn:
    text: str
    guess: Guess | None  # None: no intent model serving
    sentiment: float
    escalate_reasons: tuple[str, ...]
    hits: tuple[Hit, ...] = ()
    predicted_satisfaction: float | None = None  # the satisfaction model's 1-5, when one is serving


@dataclass(frozen=True)
class Action:
    decision: str  # answer / clarify / handoff
    reason: str  # for agents: why the bot did this
    intent: str = ""  # the intent acted on ("" when none)
    reply: str = ""  # the bot's message; for an answer, generation fills it from ``hit``
    quick_replies: tuple[str, ...] = ()
    hit: Hit | None = None  # the passage an answer gives
    team_intent: str = ""  # the intent whose team a handoff goes to
    feedback: str = ""  # HELPED or NOT_HELPED: the customer's answer to "Did this help?" about ``intent``


def intent_label(intent: str) -> str:
    """card_arrival → "Card arrival": how an intent is offered to a customer."""
    return intent.replace("_", " ").strip().capitalize()


def _is_yes(text: str) -> bool:
    return bool(re.match(r"\s*(yes|yeah|yep|it did|that helped|thanks|thank you|great|perfect)\b", text, re.I))


def _is_no(text: str) -> bool:
    return bool(re.match(r"\s*(no|nope|not really|it did ?n[o']t|that did ?n[o']t)\b", text, re.I))


def _chosen_option(text: str, options: list[list[str]]) -> str | None:
    wanted = " ".join(text.casefold().split()).rstrip("?.!")
    for label, intent in options:
        if wanted in (label.casefold(), intent.casefold(), intent_label(intent).casefold()):
            return intent
    return None


def _handoff(state: BotState, reason: str, intent: str) -> tuple[Action, BotState]:
    state.pending, state.options, state.answered_article = "", [], None
    return Action(HANDOFF, reason, intent=intent, team_intent=intent), state


def decide(turn: Turn, state: BotState, settings: PolicySettings) -> tuple[Action, BotState]:
    """The action for ``turn`` and the conversation's memory after it (``state`` is updated in place)."""
    state.details.update(details_extract(turn.text))
    guess = turn.guess
    best_guess = guess.top[0][0] if guess and guess.top else ""
    feedback = _feedback(turn, state, settings)
    if feedback is not None:
        return feedback
    if reasons := [reason for reason in turn.escalate_reasons if reason in HANDOFF_REASONS]:
        return _handoff(state, f"Escalated: {', '.join(reasons)}.", best_guess)
    if turn.sentiment <= settings.handoff_sentiment:
        return _handoff(state, f"Strongly negative sentiment ({turn.sentiment:.2f}).", best_guess)
    if turn.predicted_satisfaction is not None and turn.predicted_satisfaction <= settings.at_risk_satisfaction:
        return _handoff(state, f"At risk: predicted satisfaction {turn.predicted_satisfaction:.1f} of 5.", best_guess)
    if guess is None:
        return _handoff(state, "No intent model is serving yet.", "")
    if state.pending == "clarify" and (chosen := _chosen_option(turn.text, state.options)):
        guess = Guess(intent=chosen, confidence=1.0, top=[(chosen, 1.0)], out_of_scope=False)
        return _answer(turn, guess, state, settings, via="chosen from the clarifying question")
    if guess.out_of_scope:
        return _out_of_scope(guess, state, settings)
    state.out_of_scope_streak = 0
    if _ambiguous(guess, settings):
        return _clarify_between(guess, state)
    if guess.confidence >= settings.answer_confidence:
        return _answer(turn, guess, state, settings, via="follow-up of the previous message" if guess.follow_up else "")
    return _clarify_unsure(guess, state)


def _feedback(turn: Turn, state: BotState, settings: PolicySettings) -> tuple[Action, BotState] | None:
    if state.pending != "feedback":
        return None
    intent = state.last_answered_intent
    if _is_no(turn.text):
        state.failed_answers += 1
        action, state = _handoff(state, f"The answer for {intent} did not help (the customer said no).", intent)
        return replace(action, feedback=NOT_HELPED), state
    if _is_yes(turn.text) and len(turn.text.split()) <= 6:
        state.pending, state.failed_answers, state.answered_article = "", 0, None
        reason = "The customer said the answer helped."
        return Action(ANSWER, reason, intent=intent, reply=CLOSING_LINE, feedback=HELPED), state
    state.pending = ""  # a new question instead of yes/no: read it as one
    return None


CLOSING_LINE = "Glad that helped! Is there anything else I can do for you?"


def _ambiguous(guess: Guess, settings: PolicySettings) -> bool:
    if len(guess.top) < 2:
        return False
    (_, first), (second_intent, second) = guess.top[0], guess.top[1]
    return (
        second_intent != OUT_OF_SCOPE
        and second >= settings.clarify_confidence
        and first - second < settings.clarify_margin
    )


def _clarify_between(guess: Guess, state: BotState) -> tuple[Action, BotState]:
    (first, p1), (second, p2) = guess.top[0], guess.top[1]
    labels = [intent_label(first), intent_label(second)]
    state.pending, state.options = "clarify", [[labels[0], first], [labels[1], second]]
    state.last_intent = first
    reply = f"Just to be sure: is this about {labels[0].lower()} or {labels[1].lower()}?"
    reason = f"Ambiguous: {first} {p1:.2f} vs {second} {p2:.2f}."
    return Action(CLARIFY, reason, intent=first, reply=reply, quick_replies=(*labels, SOMETHING_ELSE_REPLY)), state


def _clarify_unsure(guess: Guess, state: BotState, why: str = "") -> tuple[Action, BotState]:
    options = [intent for intent, _ in guess.top[:2] if intent != OUT_OF_SCOPE]
    labels = [intent_label(intent) for intent in options]
    state.pending, state.options = "clarify", [[label, intent] for label, intent in zip(labels, options, strict=True)]
    reply = "I'm not sure I understood. Is it one of these, or could you tell me a bit more?"
    reason = f"Unsure: {guess.top[0][0]} at {guess.confidence:.2f}, " + (why or "below the answer threshold") + "."
    return Action(CLARIFY, reason, intent=guess.top[0][0], reply=reply, quick_replies=(*labels, PERSON_REPLY)), state


def _out_of_scope(guess: Guess, state: BotState, settings: PolicySettings) -> tuple[Action, BotState]:
    state.out_of_scope_streak += 1
    best = guess.top[0][0] if guess.top else ""
    if state.out_of_scope_streak >= settings.max_out_of_scope:
        state.out_of_scope_streak = 0
        return _handoff(state, f"Out of scope {settings.max_out_of_scope} times in a row.", best)
    state.pending, state.options = "", []
    reply = "Sorry, I didn't quite get that. Could you say it another way? I can also pass you to a person."
    reason = f"Out of scope (best guess {best} at {guess.confidence:.2f}); asked to rephrase."
    return Action(CLARIFY, reason, intent="", reply=reply, quick_replies=(PERSON_REPLY,)), state


def _answer(turn: Turn, guess: Guess, state: BotState, settings: PolicySettings, via: str) -> tuple[Action, BotState]:
    intent = guess.intent
    repeated = state.last_answered_intent == intent and state.answered_article is not None
    state.last_intent = intent
    if repeated:
        state.failed_answers += 1
        if state.failed_answers >= settings.max_failed_answers:
            return _handoff(state, f"Asked about {intent} again after the bot's answer: it did not help.", intent)
    # Asked again: a different article, if one fits, rather than the one that did not help.
    hit = _best_hit(turn.hits, intent, settings, skip_article=state.answered_article if repeated else None)
    if hit is None and not via and guess.confidence < SURE_WITHOUT_ARTICLE:
        # Fairly sure of an intent nothing in the knowledge base matches: more likely a misreading than a gap.
        return _clarify_unsure(guess, state, why=f"no article matches {intent} ({guess.confidence:.2f})")
    if hit is None:
        state.failed_answers += 1
        return _handoff(state, f"Intent {intent} ({guess.confidence:.2f}) but no article answers it.", intent)
    state.pending, state.options = "feedback", []
    state.last_answered_intent, state.answered_article = intent, hit.article_id
    how = f", {via}" if via else ""
    reason = f"Intent {intent} ({guess.confidence:.2f}{how}); answered from “{hit.article_title}” ({hit.score:.2f})."
    return Action(ANSWER, reason, intent=intent, hit=hit, quick_replies=(YES_REPLY, NO_REPLY)), state


def _best_hit(
    hits: tuple[Hit, ...], intent: str, settings: PolicySettings, skip_article: int | None = None
) -> Hit | None:
    """The best passage of an article made for ``intent``, else the best passage of any article when it is
    close enough on its own (articles do not list every intent they answer)."""
    good = [hit for hit in hits if hit.score >= settings.retrieval_min_score]
    if skip_article is not None and any(hit.article_id != skip_article for hit in good):
        good = [hit for hit in good if hit.article_id != skip_article]
    for hit in good:
        if intent in hit.article_intents:
            return hit
    return good[0] if good and good[0].score >= settings.retrieval_min_score + 0.2 else None


# --- Details the customer gives, kept so they never have to repeat them ------------------------------------

_CARD_ENDING = re.compile(r"\b(?:ending|ends|last (?:4|four)(?: digits)?)\s*(?:in|with|are|is|:)?\s*(\d{4})\b", re.I)
_CARD_NUMBER = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_REFERENCE = re.compile(
    r"\b(?:order|reference|ref|transaction|transfer|ticket)\s*(?:number|no\.?|id)?\s*[:#]?\s*"
    r"((?=[A-Z0-9-]*\d)[A-Z0-9-]{5,20})\b",  # a reference has a digit: "transfer reference" is no reference
    re.I,
)


def details_extract(text: str) -> dict[str, str]:
    """Card ending and a reference number, when the message gives them. A full card number is kept only as
    its last four digits: the bot's memory holds no more than an agent needs to find the card."""
    details = {}
    if match := _CARD_ENDING.search(text):
        details["card_ending"] = match.group(1)
    elif match := _CARD_NUMBER.search(text):
        details["card_ending"] = re.sub(r"\D", "", match.group(0))[-4:]
    if match := _REFERENCE.search(text):
        details["reference"] = match.group(1).upper()
    return details


def details_summary(details: dict[str, str]) -> str:
    names = {"card_ending": "card ending", "reference": "reference"}
    return ", ".join(f"{names.get(key, key)} {value}" for key, value in sorted(details.items()))
