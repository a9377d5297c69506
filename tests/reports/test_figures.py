"""Each report figure on the hand-made desk of conftest.py, whose right answers are worked out by hand."""

from datetime import date

import pytest

from apps.reports.models import ConversationFact
from apps.reports.percentiles import percentile, percentiles_grouped
from apps.reports.selectors import (
    NO_AGENT,
    NO_TEAM,
    CalibrationRow,
    ReportFilters,
    report_breakdown,
    report_calibration,
    report_heatmap,
    report_leaderboard,
    report_low_rating_comments,
    report_periods,
    report_summary,
)

pytestmark = pytest.mark.django_db

EVERYTHING = ReportFilters()


def test_the_summary_of_the_five_conversations(desk):
    summary = report_summary(filters=EVERYTHING)

    assert summary.conversations == 5
    assert summary.rated == 4
    assert summary.csat == 0.5  # 5 and 4 of 5, 4, 2, 3
    assert summary.mean_rating == 3.5
    assert summary.handed_over == 4
    assert summary.response_rate == 0.75  # #5 was handed over and never answered
    assert summary.handoff_rate == 0.8
    assert summary.containment_rate == 0.2  # #4 only
    # First responses 60, 120, 300: median 120, p90 at rank 1.8 → 120 + 0.8 * 180.
    assert summary.first_response_median == 120.0
    assert summary.first_response_p90 == pytest.approx(264.0)
    # Resolutions 300, 600, 900, 1200, 1800: median 900, p90 at rank 3.6 → 1200 + 0.6 * 600.
    assert summary.resolution_median == 900.0
    assert summary.resolution_p90 == pytest.approx(1560.0)
    assert summary.suggestions == 4
    assert summary.suggestion_acceptance == 0.5  # used + edited of used, edited, ignored, ignored


def test_filters_narrow_every_figure(desk):
    alice = report_summary(filters=ReportFilters(agent_id=desk.alice.pk))
    email = report_summary(filters=ReportFilters(channel="email"))
    tuesday = report_summary(filters=ReportFilters(date_from=date(2026, 3, 3), date_to=date(2026, 3, 3)))
    lost_card = report_summary(filters=ReportFilters(intent="lost_card", team_id=desk.team.pk))

    assert (alice.conversations, alice.csat, alice.first_response_median) == (2, 0.5, 90.0)
    assert alice.first_response_p90 == pytest.approx(114.0)  # 60 + 0.9 * 60
    assert (email.conversations, email.containment_rate, email.first_response_median) == (1, 1.0, None)
    assert (tuesday.conversations, tuesday.mean_rating, tuesday.resolution_median) == (1, 2.0, 1800.0)
    assert (lost_card.conversations, lost_card.response_rate, lost_card.rated) == (2, 0.5, 1)


def test_no_conversations_give_counts_of_zero_and_no_rates(db):
    summary = report_summary(filters=EVERYTHING)

    assert (summary.conversations, summary.rated, summary.suggestions) == (0, 0, 0)
    assert summary.csat is summary.response_rate is summary.containment_rate is None
    assert summary.first_response_median is summary.resolution_p90 is summary.suggestion_acceptance is None


def test_by_agent_team_intent_and_channel(desk):
    by_agent = {f.label: f for f in report_breakdown(filters=EVERYTHING, by="agent")}
    by_team = {f.label: f.conversations for f in report_breakdown(filters=EVERYTHING, by="team")}
    by_intent = [(f.label, f.conversations, f.csat) for f in report_breakdown(filters=EVERYTHING, by="intent")]
    by_channel = [(f.label, f.conversations) for f in report_breakdown(filters=EVERYTHING, by="channel")]

    assert list(by_agent) == [NO_AGENT, "alice", "bob"]  # the busiest first, then by name
    assert (by_agent["alice"].conversations, by_agent["alice"].csat) == (2, 0.5)
    assert (by_agent["bob"].first_response_median, by_agent["bob"].suggestion_acceptance) == (300.0, 0.0)
    assert (by_agent[NO_AGENT].conversations, by_agent[NO_AGENT].containment_rate) == (2, 0.5)
    assert by_team == {"Cards": 4, NO_TEAM: 1}
    assert by_intent == [("card_arrival", 2, 1.0), ("lost_card", 2, 0.0), ("balance", 1, 0.0)]
    assert by_channel == [("Chat widget", 4), ("Email", 1)]


def test_per_day_with_the_empty_day_filled_in(desk):
    days = report_periods(filters=EVERYTHING, period="day")

    assert [(f.label, f.conversations) for f in days] == [
        ("2026-03-02", 2),
        ("2026-03-03", 1),
        ("2026-03-04", 0),
        ("2026-03-05", 2),
    ]
    assert [f.csat for f in days] == [1.0, 0.0, None, 0.0]
    assert days[0].resolution_median == 900.0  # 600 and 1200


def test_per_week_and_per_month(desk):
    weeks = report_periods(filters=EVERYTHING, period="week")
    months = report_periods(filters=EVERYTHING, period="month")

    assert [(f.key, f.label, f.conversations) for f in weeks] == [(date(2026, 3, 2), "2026-W10", 5)]
    assert [(f.key, f.label, f.mean_rating) for f in months] == [(date(2026, 3, 1), "2026-03", 3.5)]


def test_months_run_across_the_new_year(desk):
    ConversationFact.objects.filter(pk=desk.conversations[0].pk).update(created_month=date(2025, 11, 1))

    months = report_periods(filters=EVERYTHING, period="month")

    assert [(f.label, f.conversations) for f in months] == [
        ("2025-11", 1),
        ("2025-12", 0),
        ("2026-01", 0),
        ("2026-02", 0),
        ("2026-03", 4),
    ]


def test_the_heatmap_counts_starts_per_weekday_and_hour(desk):
    grid = report_heatmap(filters=EVERYTHING)

    cells = {(weekday, hour): count for weekday, row in enumerate(grid) for hour, count in enumerate(row) if count}
    assert cells == {(0, 9): 1, (0, 14): 1, (1, 9): 1, (3, 10): 1, (3, 23): 1}
    assert (len(grid), len(grid[0])) == (7, 24)


def test_the_leaderboard_sorts_by_any_column_with_missing_values_last(desk):
    def names(**sorting):
        return [f.label for f in report_leaderboard(filters=EVERYTHING, **sorting)]

    assert names() == ["alice", "bob"]  # conversations 2, 1
    assert names(sort="csat") == ["bob", "alice"]  # 1.0, 0.5
    assert names(sort="first_response", descending=False) == ["alice", "bob"]  # 90 s, 300 s
    assert names(sort="acceptance") == ["alice", "bob"]  # 1.0, 0.0
    assert names(sort="name", descending=True) == ["bob", "alice"]
    ConversationFact.objects.filter(agent=desk.bob).update(rating=None)
    assert names(sort="csat", descending=False) == ["alice", "bob"]  # bob has no rating left: last either way


def test_calibration_per_actual_and_per_predicted_rating(desk):
    predictions = dict(zip((c.pk for c in desk.conversations), (4.6, 3.4, 2.2, 3.6, 1.0), strict=True))
    for conversation_id, predicted in predictions.items():
        ConversationFact.objects.filter(pk=conversation_id).update(predicted_satisfaction=predicted)

    calibration = report_calibration(filters=EVERYTHING)

    # #5 has a prediction but no rating: left out of both.
    assert calibration.by_rating == [
        CalibrationRow(key=1, conversations=0, mean_predicted=None, mean_rating=None),
        CalibrationRow(key=2, conversations=1, mean_predicted=2.2, mean_rating=2.0),
        CalibrationRow(key=3, conversations=1, mean_predicted=3.6, mean_rating=3.0),
        CalibrationRow(key=4, conversations=1, mean_predicted=3.4, mean_rating=4.0),
        CalibrationRow(key=5, conversations=1, mean_predicted=4.6, mean_rating=5.0),
    ]
    assert [(row.key, row.conversations, row.mean_rating) for row in calibration.by_prediction] == [
        (1, 0, None),
        (2, 1, 2.0),  # predicted 2.2
        (3, 1, 4.0),  # predicted 3.4
        (4, 1, 3.0),  # predicted 3.6
        (5, 1, 5.0),  # predicted 4.6
    ]


def test_a_prediction_half_way_rounds_up(desk):
    ConversationFact.objects.filter(pk=desk.conversations[0].pk).update(predicted_satisfaction=4.5)
    ConversationFact.objects.filter(pk=desk.conversations[1].pk).update(predicted_satisfaction=1.49)

    by_prediction = report_calibration(filters=EVERYTHING).by_prediction

    assert [row.conversations for row in by_prediction] == [1, 0, 0, 0, 1]


def test_low_rating_comments_with_their_conversation(desk):
    comments = report_low_rating_comments(filters=EVERYTHING)

    assert [(c.conversation_id, c.rating, c.comment, c.agent, c.team, c.intent) for c in comments] == [
        (desk.conversations[2].pk, 2, "Too slow", "alice", "Cards", "lost_card")
    ]


def test_percentiles_interpolate_like_percentile_cont():
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 0.9) == pytest.approx(46.0)


def test_percentiles_of_several_groupings_in_one_query(desk, django_assert_num_queries):
    with django_assert_num_queries(1):
        timed = percentiles_grouped(
            ConversationFact.objects.all(),
            groupings={"all": None, "agent": "agent_id", "week": "created_week"},
            columns=("first_response_seconds", "resolution_seconds"),
        )

    assert timed["all"][None]["resolution_seconds_median"] == 900.0
    assert timed["agent"][desk.alice.pk] == {
        "first_response_seconds_median": 90.0,
        "first_response_seconds_p90": pytest.approx(114.0),
        "resolution_seconds_median": 1200.0,
        "resolution_seconds_p90": pytest.approx(1680.0),
    }
    # Conversations without an agent: #4 never handed over, #5 never answered, so no first response.
    assert timed["agent"][None]["first_response_seconds_median"] is None
    assert timed["agent"][None]["resolution_seconds_median"] == 600.0
    assert list(timed["week"]) == [date(2026, 3, 2)]
