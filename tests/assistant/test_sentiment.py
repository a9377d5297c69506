import pytest

from apps.assistant.ml.sentiment import sentiment_analyse


@pytest.mark.parametrize(
    ("text", "reasons"),
    [
        ("I want to speak to a real person", ("asked for a person",)),
        ("Can I talk with an agent?", ("asked for a person",)),
        ("human please", ("asked for a person",)),
        ("I want a human", ("asked for a person",)),
        ("can you connect me to an agent", ("asked for a person",)),
        ("is there a live agent", ("asked for a person",)),
        ("There is an unauthorised payment on my account", ("urgent",)),
        ("This is the worst bank, absolutely useless and terrible", ("negative",)),
        ("WHY IS MY CARD STILL BLOCKED", ("shouting",)),
        ("where is it??? !!!", ("shouting",)),
    ],
)
def test_escalation_reasons(text, reasons):
    result = sentiment_analyse(text)

    assert result.escalate is True
    assert result.reasons == reasons


@pytest.mark.parametrize("text", ["Where is my new card?", "thanks, that helped a lot", "How do I top up by card"])
def test_ordinary_messages_do_not_escalate(text):
    result = sentiment_analyse(text)

    assert result.escalate is False
    assert result.reasons == ()
    assert -0.5 < result.score <= 1


def test_scores_are_ordered_by_polarity():
    happy = sentiment_analyse("Great, thank you so much, that was really helpful!").score
    neutral = sentiment_analyse("Where is my card").score
    angry = sentiment_analyse("This is terrible, you people are useless").score

    assert angry < neutral < happy
    assert neutral == 0.0


def test_a_learned_model_is_averaged_with_the_lexicon():
    lexicon_only = sentiment_analyse("still no card after two weeks")

    blended = sentiment_analyse("still no card after two weeks", {"negative": 0.9, "neutral": 0.1, "positive": 0.0})

    assert lexicon_only.source == "lexicon"
    assert blended.source == "lexicon+learned"
    assert blended.lexicon_score == lexicon_only.score
    assert blended.score == round((lexicon_only.score - 0.9) / 2, 4)
    assert blended.score < lexicon_only.score


def test_a_strongly_negative_learned_score_escalates_what_the_lexicon_misses():
    result = sentiment_analyse("still no card after two weeks", {"negative": 1.0, "neutral": 0.0, "positive": 0.0})

    assert result.reasons == ("negative",)
