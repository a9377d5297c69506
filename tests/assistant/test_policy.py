"""The dialogue policy, branch by branch: pure inputs, exact actions and memory."""

import pytest

from apps.assistant.policy import (
    CLOSING_LINE,
    NO_REPLY,
    PERSON_REPLY,
    SOMETHING_ELSE_REPLY,
    YES_REPLY,
    BotState,
    Guess,
    Hit,
    PolicySettings,
    Turn,
    decide,
    details_extract,
    details_summary,
    intent_label,
)

SETTINGS = PolicySettings()
CARD_HIT = Hit(
    1, "Where is my card?", "/help/where-is-my-card/", "Cards arrive within 5 working days.", 0.71, ("card_arrival",)
)
FEE_HIT = Hit(2, "Fees", "/help/fees/", "A transfer costs nothing.", 0.55, ("transfer_fee_charged",))


def guess(*top: tuple[str, float], out_of_scope: bool = False) -> Guess:
    intent = "oos" if out_of_scope else top[0][0]
    return Guess(intent=intent, confidence=top[0][1], top=list(top), out_of_scope=out_of_scope)


def turn(
    text: str = "where is my card", g: Guess | None = None, *, sentiment: float = 0.0, reasons=(), hits=(CARD_HIT,)
):
    return Turn(text=text, guess=g, sentiment=sentiment, escalate_reasons=tuple(reasons), hits=tuple(hits))


CONFIDENT = guess(("card_arrival", 0.92), ("card_delivery_estimate", 0.05))


def test_a_confident_intent_with_a_matching_passage_is_answered_and_asks_for_feedback():
    action, state = decide(turn(g=CONFIDENT), BotState(), SETTINGS)

    assert action.decision == "answer"
    assert action.hit == CARD_HIT
    assert action.intent == "card_arrival"
    assert action.quick_replies == (YES_REPLY, NO_REPLY)
    assert action.reason == "Intent card_arrival (0.92); answered from “Where is my card?” (0.71)."
    assert (state.pending, state.last_answered_intent, state.answered_article) == ("feedback", "card_arrival", 1)


def test_a_confident_intent_without_a_good_passage_is_handed_to_its_team():
    weak = Hit(3, "Other", "/help/other/", "text", 0.1, ("card_arrival",))

    action, state = decide(turn(g=CONFIDENT, hits=[weak]), BotState(), SETTINGS)

    assert action.decision == "handoff"
    assert action.team_intent == "card_arrival"
    assert action.reason == "Intent card_arrival (0.92) but no article answers it."
    assert state.failed_answers == 1


def test_a_passage_of_another_article_is_used_only_when_it_is_clearly_close():
    close = Hit(4, "Delivery", "/help/delivery/", "Delivery takes a week.", 0.6, ("card_delivery_estimate",))
    borderline = Hit(5, "Delivery", "/help/delivery/", "Delivery takes a week.", 0.4, ("card_delivery_estimate",))

    answered, _ = decide(turn(g=CONFIDENT, hits=[close]), BotState(), SETTINGS)
    handed, _ = decide(turn(g=CONFIDENT, hits=[borderline]), BotState(), SETTINGS)

    assert answered.hit == close
    assert handed.decision == "handoff"


@pytest.mark.parametrize(
    ("reasons", "why"),
    [
        (("asked for a person",), "Escalated: asked for a person."),
        (("urgent", "negative"), "Escalated: urgent."),
        (("shouting",), "Escalated: shouting."),
    ],
)
def test_escalations_hand_over_whatever_the_intent(reasons, why):
    action, _ = decide(turn(g=CONFIDENT, reasons=reasons), BotState(), SETTINGS)

    assert (action.decision, action.reason, action.team_intent) == ("handoff", why, "card_arrival")


def test_strongly_negative_sentiment_hands_over_at_the_configured_threshold():
    at_threshold, _ = decide(turn(g=CONFIDENT, sentiment=-0.6), BotState(), SETTINGS)
    above, _ = decide(turn(g=CONFIDENT, sentiment=-0.59), BotState(), SETTINGS)

    assert at_threshold.decision == "handoff"
    assert at_threshold.reason == "Strongly negative sentiment (-0.60)."
    assert above.decision == "answer"


def test_a_predicted_satisfaction_at_the_at_risk_threshold_hands_over():
    at_risk = Turn("where is my card", CONFIDENT, 0.0, (), (CARD_HIT,), predicted_satisfaction=2.5)
    fine = Turn("where is my card", CONFIDENT, 0.0, (), (CARD_HIT,), predicted_satisfaction=2.6)

    handed, _ = decide(at_risk, BotState(), SETTINGS)
    answered, _ = decide(fine, BotState(), SETTINGS)

    assert (handed.decision, handed.reason) == ("handoff", "At risk: predicted satisfaction 2.5 of 5.")
    assert answered.decision == "answer"


def test_negative_alone_is_left_to_the_threshold_not_to_the_lexicon_flag():
    action, _ = decide(turn(g=CONFIDENT, sentiment=-0.55, reasons=("negative",)), BotState(), SETTINGS)

    assert action.decision == "answer"


def test_without_an_intent_model_the_message_goes_to_a_person():
    action, _ = decide(turn(g=None), BotState(), SETTINGS)

    assert (action.decision, action.reason, action.team_intent) == ("handoff", "No intent model is serving yet.", "")


def test_close_top_two_intents_ask_which_one_with_both_as_quick_replies():
    close = guess(("card_arrival", 0.48), ("card_delivery_estimate", 0.40), ("lost_or_stolen_card", 0.05))

    action, state = decide(turn(g=close), BotState(), SETTINGS)

    assert action.decision == "clarify"
    assert action.reply == "Just to be sure: is this about card arrival or card delivery estimate?"
    assert action.quick_replies == ("Card arrival", "Card delivery estimate", SOMETHING_ELSE_REPLY)
    assert action.reason == "Ambiguous: card_arrival 0.48 vs card_delivery_estimate 0.40."
    assert state.pending == "clarify"
    assert state.options == [["Card arrival", "card_arrival"], ["Card delivery estimate", "card_delivery_estimate"]]


def test_choosing_an_option_answers_that_intent_without_asking_again():
    state = BotState(pending="clarify", options=[["Card arrival", "card_arrival"], ["Fees", "transfer_fee_charged"]])
    unrelated = guess(("top_up_failed", 0.3), ("card_arrival", 0.2))

    action, state = decide(turn("card arrival", g=unrelated), state, SETTINGS)

    assert action.decision == "answer"
    assert action.intent == "card_arrival"
    assert action.reason.startswith("Intent card_arrival (1.00, chosen from the clarifying question); answered from")
    assert state.options == []


def test_a_first_out_of_scope_message_asks_to_rephrase_and_a_second_hands_over():
    lost = guess(("card_arrival", 0.2), ("fees", 0.1), out_of_scope=True)

    first, state = decide(turn("tell me a joke", g=lost), BotState(), SETTINGS)
    second, state = decide(turn("sing a song", g=lost), state, SETTINGS)

    assert first.decision == "clarify"
    assert first.quick_replies == (PERSON_REPLY,)
    assert first.reason == "Out of scope (best guess card_arrival at 0.20); asked to rephrase."
    assert second.decision == "handoff"
    assert second.reason == "Out of scope 2 times in a row."
    assert state.out_of_scope_streak == 0


def test_an_understood_message_resets_the_out_of_scope_streak():
    lost = guess(("card_arrival", 0.2), out_of_scope=True)
    _, state = decide(turn("tell me a joke", g=lost), BotState(), SETTINGS)

    _, state = decide(turn(g=CONFIDENT), state, SETTINGS)

    assert state.out_of_scope_streak == 0


def test_an_unsure_intent_asks_with_the_best_guesses():
    unsure = guess(("card_arrival", 0.42), ("oos", 0.1), ("fees", 0.05))

    action, state = decide(turn(g=unsure), BotState(), SETTINGS)

    assert action.decision == "clarify"
    assert action.quick_replies == ("Card arrival", PERSON_REPLY)
    assert state.options == [["Card arrival", "card_arrival"]]


def test_feedback_no_hands_over_with_the_answered_intent():
    state = BotState(pending="feedback", last_answered_intent="card_arrival", answered_article=1)

    action, state = decide(turn(NO_REPLY, g=guess(("card_arrival", 0.3))), state, SETTINGS)

    assert action.decision == "handoff"
    assert action.team_intent == "card_arrival"
    assert action.reason == "The answer for card_arrival did not help (the customer said no)."
    assert state.pending == ""
    assert state.failed_answers == 1


def test_feedback_yes_closes_the_topic_kindly():
    state = BotState(pending="feedback", last_answered_intent="card_arrival", answered_article=1, failed_answers=1)

    action, state = decide(turn(YES_REPLY, g=guess(("card_arrival", 0.3))), state, SETTINGS)

    assert (action.decision, action.reply, action.hit) == ("answer", CLOSING_LINE, None)
    assert (state.pending, state.failed_answers, state.answered_article) == ("", 0, None)


def test_a_new_question_instead_of_feedback_is_read_as_a_question():
    state = BotState(pending="feedback", last_answered_intent="card_arrival", answered_article=1)
    fees = guess(("transfer_fee_charged", 0.9), ("card_arrival", 0.02))

    action, _ = decide(turn("why was I charged a fee", g=fees, hits=[FEE_HIT]), state, SETTINGS)

    assert action.decision == "answer"
    assert action.hit == FEE_HIT


def test_asking_the_same_thing_twice_after_answers_is_the_second_failure_and_goes_to_a_person():
    other = Hit(6, "Card delivery", "/help/card-delivery/", "Delivery takes 3 days.", 0.7, ("card_arrival",))
    state = BotState()

    first, state = decide(turn(g=CONFIDENT, hits=[CARD_HIT, other]), state, SETTINGS)
    again, state = decide(turn("my card still has not come", g=CONFIDENT, hits=[CARD_HIT, other]), state, SETTINGS)
    third, state = decide(turn("where is it??", g=CONFIDENT, hits=[CARD_HIT, other]), state, SETTINGS)

    assert first.hit == CARD_HIT
    assert again.decision == "answer"
    assert again.hit == other  # not the article that did not help
    assert third.decision == "handoff"
    assert third.reason == "Asked about card_arrival again after the bot's answer: it did not help."


def test_the_customers_details_are_remembered_across_turns():
    _, state = decide(turn("my card ending 4821 never came", g=CONFIDENT), BotState(), SETTINGS)
    _, state = decide(turn("order ref AB12345", g=CONFIDENT), state, SETTINGS)

    assert state.details == {"card_ending": "4821", "reference": "AB12345"}
    assert details_summary(state.details) == "card ending 4821, reference AB12345"


@pytest.mark.parametrize(
    ("text", "details"),
    [
        ("the card ending in 1234 was declined", {"card_ending": "1234"}),
        ("last 4 digits are 9876", {"card_ending": "9876"}),
        ("card 4111 1111 1111 1111 is blocked", {"card_ending": "1111"}),
        ("transfer reference: TX-99812", {"reference": "TX-99812"}),
        ("my order number is pending", {}),
        ("I paid 1234 euros", {}),
    ],
)
def test_details_extract(text, details):
    assert details_extract(text) == details


def test_the_state_survives_a_json_round_trip_and_ignores_unknown_keys():
    state = BotState(last_intent="card_arrival", pending="clarify", options=[["A", "a"]], details={"reference": "X1"})

    restored = BotState.from_json({**state.to_json(), "from_an_older_version": 1})

    assert restored == state


def test_intent_label():
    assert intent_label("card_arrival") == "Card arrival"


def test_a_fairly_sure_intent_that_no_article_matches_is_asked_about_first():
    fairly_sure = guess(("card_delivery_estimate", 0.62), ("card_arrival", 0.1))

    action, state = decide(turn("what's the weather tomorrow?", g=fairly_sure, hits=[]), BotState(), SETTINGS)

    assert action.decision == "clarify"
    assert action.reason == "Unsure: card_delivery_estimate at 0.62, no article matches card_delivery_estimate (0.62)."
    assert action.quick_replies == ("Card delivery estimate", "Card arrival", PERSON_REPLY)
    assert state.failed_answers == 0
