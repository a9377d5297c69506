"""The report pages' tables as rows of text, built once and used twice: rendered in the page, and written as
CSV by the table's "CSV" link (same filters), so an export holds exactly the rows the page shows.

Cells are plain, machine-readable text: shares in percent with one decimal, durations in minutes with one
decimal, means (ratings, review scores) with two, empty where there is nothing to measure.
"""

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils import timezone

from apps.reports.selectors import Calibration, Dimension, Figures, LowRatingComment

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

FIGURE_COLUMNS = (
    ("conversations", "Conversations"),
    ("csat", "CSAT (%)"),
    ("review_score", "Review score"),
    ("mean_rating", "Mean rating"),
    ("rated", "Rated"),
    ("reviewed", "Reviewed"),
    ("response_rate", "Response rate (%)"),
    ("first_response_median", "First response, median (min)"),
    ("first_response_p90", "First response, p90 (min)"),
    ("resolution_median", "Resolution, median (min)"),
    ("resolution_p90", "Resolution, p90 (min)"),
    ("sla_breaches", "SLA breaches"),
    ("handoff_rate", "Handoff rate (%)"),
    ("containment_rate", "Bot containment (%)"),
    ("suggestion_acceptance", "Suggestion acceptance (%)"),
)
LEADERBOARD_COLUMNS = (
    ("name", "Agent"),
    ("conversations", "Conversations"),
    ("csat", "CSAT (%)"),
    ("review_score", "Review score"),
    ("first_response", "First response, median (min)"),
    ("acceptance", "Suggestion acceptance (%)"),
    ("sla_breaches", "SLA breaches"),
)


@dataclass(frozen=True)
class ReportTable:
    name: str
    title: str
    headers: list[str]
    rows: list[list[str]]
    # A link for each row's first cell (the conversation of a comment), or empty.
    links: list[str] = field(default_factory=list)
    # Keys of sortable columns, parallel to headers ("" where a column does not sort): the leaderboard's.
    sort_keys: list[str] = field(default_factory=list)

    @property
    def linked_rows(self) -> list[tuple[str | None, list[str]]]:
        links = self.links or [None] * len(self.rows)
        return list(zip(links, self.rows, strict=True))


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f}"


def mean(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def figure_cells(figures: Figures) -> list[str]:
    formats = {
        "csat": percent,
        "mean_rating": mean,
        "review_score": mean,
        "response_rate": percent,
        "handoff_rate": percent,
        "containment_rate": percent,
        "suggestion_acceptance": percent,
        "first_response_median": minutes,
        "first_response_p90": minutes,
        "resolution_median": minutes,
        "resolution_p90": minutes,
    }
    return [formats.get(name, str)(getattr(figures, name)) for name, _ in FIGURE_COLUMNS]


def figures_table(name: str, title: str, first_header: str, rows: list[Figures]) -> ReportTable:
    return ReportTable(
        name=name,
        title=title,
        headers=[first_header, *(label for _, label in FIGURE_COLUMNS)],
        rows=[[figures.label, *figure_cells(figures)] for figures in rows],
    )


def summary_table(summary: Figures) -> ReportTable:
    return figures_table("summary", "Summary", "Conversations of", [summary])


def periods_table(periods: list[Figures], period_label: str) -> ReportTable:
    return figures_table("periods", f"Per {period_label.lower()}", period_label, periods)


def breakdown_table(rows: list[Figures], dimension: str) -> ReportTable:
    label = Dimension(dimension).label
    return figures_table("breakdown", f"By {label.lower()}", str(label), rows)


def leaderboard_table(rows: list[Figures]) -> ReportTable:
    return ReportTable(
        name="leaderboard",
        title="Agent leaderboard",
        headers=[label for _, label in LEADERBOARD_COLUMNS],
        rows=[
            [
                agent.label,
                str(agent.conversations),
                percent(agent.csat),
                mean(agent.review_score),
                minutes(agent.first_response_median),
                percent(agent.suggestion_acceptance),
                str(agent.sla_breaches),
            ]
            for agent in rows
        ],
        sort_keys=[key for key, _ in LEADERBOARD_COLUMNS],
    )


def heatmap_table(grid: list[list[int]]) -> ReportTable:
    return ReportTable(
        name="heatmap",
        title="Conversations started by weekday and hour",
        headers=["Weekday", *(f"{hour:02d}" for hour in range(24))],
        rows=[[weekday, *(str(count) for count in counts)] for weekday, counts in zip(WEEKDAYS, grid, strict=True)],
    )


def calibration_tables(calibration: Calibration) -> list[ReportTable]:
    return [
        ReportTable(
            name="calibration_rating",
            title="Predicted satisfaction per actual rating",
            headers=["Actual rating", "Conversations", "Mean predicted"],
            rows=[[str(r.key), str(r.conversations), mean(r.mean_predicted)] for r in calibration.by_rating],
        ),
        ReportTable(
            name="calibration_prediction",
            title="Actual rating per predicted rating",
            headers=["Predicted rating", "Conversations", "Mean actual rating", "Mean predicted"],
            rows=[
                [str(r.key), str(r.conversations), mean(r.mean_rating), mean(r.mean_predicted)]
                for r in calibration.by_prediction
            ],
        ),
    ]


def comments_table(comments: list[LowRatingComment]) -> ReportTable:
    return ReportTable(
        name="comments",
        title="Comments of low ratings (1-2)",
        headers=["Conversation", "Closed", "Rating", "Agent", "Team", "Intent", "Channel", "Comment"],
        rows=[
            [
                str(c.conversation_id),
                timezone.localtime(c.closed_at).strftime("%Y-%m-%d %H:%M"),
                str(c.rating),
                c.agent,
                c.team,
                c.intent,
                c.channel,
                c.comment,
            ]
            for c in comments
        ],
        links=[reverse("admin:conversations_conversation_change", args=[c.conversation_id]) for c in comments],
    )
