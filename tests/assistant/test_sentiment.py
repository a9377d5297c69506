import pytest

from apps.assistant.ml.sentiment import sentiment_analyse


@pytest.mark.parametrize(
    ("text", "reasons"),
    [
        ("I want to speak to a real person", ("asked for a person",)),
        ("Can I talk with an agent?", ("asked for a person",)),
        ("human please", ("asked for a person",)),
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
