"""What a report page holds: its scope (whose figures, who may see them), its tables and its charts' data.

A page and each of its CSV links go through the same ``ReportPage``, so an export is the page's table.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, QueryDict
from django.urls import reverse

from apps.accounts.permissions import user_has_role
from apps.accounts.roles import AGENTS, MANAGERS
from apps.conversations.events import user_display_name
from apps.recommendations.selectors import click_through
from apps.reports.forms import ReportFilterForm
from apps.reports.selectors import (
    Dimension,
    Figures,
    LeaderboardSort,
    Period,
    ReportFigures,
    leaderboard_sorted,
    report_calibration,
    report_figures,
    report_heatmap,
    report_low_rating_comments,
)
from apps.reports.tables import (
    WEEKDAYS,
    ReportTable,
    breakdown_table,
    calibration_tables,
    comments_table,
    heatmap_table,
    leaderboard_table,
    periods_table,
    summary_table,
)

COMMENTS_SHOWN = 100
DASHBOARD_DIMENSIONS = [Dimension.TEAM, Dimension.AGENT, Dimension.INTENT, Dimension.CHANNEL]
# An agent's own page: a breakdown by agent would be one row.
AGENT_DIMENSIONS = [Dimension.INTENT, Dimension.TEAM, Dimension.CHANNEL]


@dataclass(frozen=True)
class ReportScope:
    """Whose figures a page shows: everybody's (the managers' dashboard) or one agent's."""

    agent: AbstractBaseUser | None
    title: str
    csv_url_name: str
    csv_url_args: tuple[int, ...] = ()

    @property
    def is_dashboard(self) -> bool:
        return self.agent is None


def scope_dashboard(*, user: AbstractBaseUser) -> ReportScope:
    """The managers' dashboard: Managers and the Admin. Agents are refused (their page is /reports/me/)."""
    if not user_has_role(user, MANAGERS):
        raise PermissionDenied("The reports dashboard is for managers; agents see their own figures.")
    return ReportScope(agent=None, title="Reports", csv_url_name="reports:dashboard-csv")


def scope_agent(*, user: AbstractBaseUser, agent_id: int | None, query: QueryDict) -> ReportScope:
    """One agent's figures (``agent_id`` None: the user's own). Managers and the Admin see anyone's; an agent
    only their own, whether asked by the URL or by an ``agent`` filter."""
    is_manager = user_has_role(user, MANAGERS)
    if not is_manager and not user_has_role(user, AGENTS):
        raise PermissionDenied("Reports are for agents and managers.")
    asked = {str(agent_id)} if agent_id is not None else set()
    asked |= {value for value in query.getlist("agent") if value}
    if not is_manager and asked - {str(user.pk)}:
        raise PermissionDenied("Agents see their own figures only.")
    if agent_id is None or agent_id == user.pk:
        agent = user
    else:
        agent = get_user_model().objects.filter(pk=agent_id).select_related("agent_profile").first()
        if agent is None:
            raise Http404("No such agent.")
    if agent_id is None:
        return ReportScope(agent=agent, title="My figures", csv_url_name="reports:me-csv")
    return ReportScope(
        agent=agent,
        title=f"Figures of {user_display_name(agent)}",
        csv_url_name="reports:agent-csv",
        csv_url_args=(agent.pk,),
    )


class ReportPage:
    """The tables and chart data of one report page for ``query`` (request.GET), built on first use."""

    def __init__(self, *, scope: ReportScope, query: QueryDict) -> None:
        self.scope = scope
        dimensions = DASHBOARD_DIMENSIONS if scope.is_dashboard else AGENT_DIMENSIONS
        self.form = ReportFilterForm(query, with_agent=scope.is_dashboard, dimensions=dimensions)
        self.filters = self.form.report_filters(agent_id=scope.agent.pk if scope.agent else None)

    @property
    def table_names(self) -> list[str]:
        return list(self._builders())

    def _builders(self) -> dict[str, Callable[[], ReportTable]]:
        builders: dict[str, Callable[[], ReportTable]] = {
            "summary": lambda: summary_table(self.summary),
            "periods": lambda: periods_table(self.periods, Period(self.form.chosen_period).label),
            "breakdown": lambda: breakdown_table(self.breakdown, self.form.chosen_dimension),
        }
        if self.scope.is_dashboard:
            builders["leaderboard"] = lambda: leaderboard_table(self.leaderboard)
        builders["heatmap"] = lambda: heatmap_table(self.heatmap)
        builders["calibration_rating"] = lambda: calibration_tables(self.calibration)[0]
        builders["calibration_prediction"] = lambda: calibration_tables(self.calibration)[1]
        builders["comments"] = lambda: comments_table(self.comments)
        return builders

    def table(self, name: str) -> ReportTable:
        builder = self._builders().get(name)
        if builder is None:
            raise Http404(f"This page has no table {name!r}.")
        return builder()

    @cached_property
    def tables(self) -> dict[str, ReportTable]:
        return {name: builder() for name, builder in self._builders().items()}

    # --- the figures, each read once ---

    @cached_property
    def figures(self) -> ReportFigures:
        return report_figures(
            filters=self.filters,
            period=self.form.chosen_period,
            by=self.form.chosen_dimension,
            agents=self.scope.is_dashboard,
        )

    @property
    def summary(self) -> Figures:
        return self.figures.summary

    @property
    def periods(self) -> list[Figures]:
        return self.figures.periods

    @property
    def breakdown(self) -> list[Figures]:
        return self.figures.breakdown

    @property
    def leaderboard(self) -> list[Figures]:
        return leaderboard_sorted(self.figures.agents, sort=self.form.chosen_sort, descending=self.form.sort_descending)

    @cached_property
    def heatmap(self) -> list[list[int]]:
        return report_heatmap(filters=self.filters)

    @cached_property
    def calibration(self):
        return report_calibration(filters=self.filters)

    @cached_property
    def comments(self):
        return report_low_rating_comments(filters=self.filters, limit=COMMENTS_SHOWN)

    # --- links ---

    def query_string(self, **changes: str) -> str:
        """The page's filters as a query string (the dates it shows included), with ``changes`` applied."""
        query = self.form.data.copy()
        for name, value in changes.items():
            query[name] = value
        return query.urlencode()

    def csv_url(self, table_name: str) -> str:
        path = reverse(self.scope.csv_url_name, args=[*self.scope.csv_url_args, table_name])
        return f"{path}?{self.query_string()}"

    def leaderboard_sort_links(self) -> list[dict[str, Any]]:
        """Each leaderboard column's header link: sorts by it, descending first, again to flip the order."""
        links = []
        for key, label in zip(self.tables["leaderboard"].sort_keys, self.tables["leaderboard"].headers, strict=True):
            current = self.form.chosen_sort == key
            descending = not (current and self.form.sort_descending)
            if key == LeaderboardSort.NAME and not current:
                descending = False
            links.append(
                {
                    "label": label,
                    "url": "?" + self.query_string(sort=key, order="desc" if descending else "asc"),
                    "aria_sort": ("descending" if self.form.sort_descending else "ascending") if current else "none",
                }
            )
        return links

    # --- the headline figures ---

    def kpis(self) -> list[dict[str, str]]:
        """The summary as cards: a label, the figure with its unit, and what it is out of."""
        s = self.summary
        mean = f", mean {s.mean_rating:.2f}" if s.mean_rating is not None else ""
        return [
            {"label": "Conversations", "value": str(s.conversations), "note": "closed"},
            {"label": "CSAT", "value": _percent(s.csat), "note": f"{s.rated} rated{mean}"},
            {"label": "Review score", "value": _mean(s.review_score), "note": f"{s.reviewed} reviewed by team leads"},
            {"label": "Response rate", "value": _percent(s.response_rate), "note": f"of {s.handed_over} handed over"},
            {
                "label": "First response (median)",
                "value": _duration(s.first_response_median),
                "note": f"p90 {_duration(s.first_response_p90)}",
            },
            {
                "label": "Resolution (median)",
                "value": _duration(s.resolution_median),
                "note": f"p90 {_duration(s.resolution_p90)}",
            },
            {"label": "SLA breaches", "value": str(s.sla_breaches), "note": "targets missed by their tickets"},
            {
                "label": "Bot containment",
                "value": _percent(s.containment_rate),
                "note": f"handoff {_percent(s.handoff_rate)}",
            },
            {
                "label": "Suggestion acceptance",
                "value": _percent(s.suggestion_acceptance),
                "note": f"of {s.suggestions} suggestion outcomes",
            },
            # Recommendations are shown to customers, not handled by an agent: the desk's figure only.
            *([] if self.scope.agent else [self._recommendations_kpi()]),
        ]

    def _recommendations_kpi(self) -> dict[str, str]:
        # Not a team's or an agent's doing: only the dates narrow them.
        figures = click_through(date_from=self.filters.date_from, date_to=self.filters.date_to)
        return {
            "label": "Recommendation click-through",
            "value": _percent(figures.rate),
            "note": f"{figures.clicked} clicks of {figures.shown} shown; {figures.sent} sent by agents",
        }

    # --- the charts ---

    def chart_data(self) -> dict[str, Any]:
        """Numbers for static/reports/reports.js (passed with json_script): shares in %, times in minutes."""
        data: dict[str, Any] = {
            "periods": _series(self.periods),
            "breakdown": _series(self.breakdown),
            "heatmap": {"weekdays": list(WEEKDAYS), "cells": self.heatmap},
            "calibration": {
                "byRating": [_round(row.mean_predicted) for row in self.calibration.by_rating],
                "byRatingCounts": [row.conversations for row in self.calibration.by_rating],
                "byPrediction": [_round(row.mean_rating) for row in self.calibration.by_prediction],
                "byPredictionCounts": [row.conversations for row in self.calibration.by_prediction],
            },
        }
        if self.scope.is_dashboard:
            data["leaderboard"] = _series(self.leaderboard)
        return data


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f} %"


def _mean(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} / 5"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _series(rows: list[Figures]) -> dict[str, list]:
    return {
        "labels": [row.label for row in rows],
        "conversations": [row.conversations for row in rows],
        "csat": [_round(row.csat * 100, 1) if row.csat is not None else None for row in rows],
        "meanRating": [_round(row.mean_rating) for row in rows],
        "firstResponseMedian": [
            _round(row.first_response_median / 60, 1) if row.first_response_median is not None else None for row in rows
        ],
    }
