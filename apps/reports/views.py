"""The report pages under /reports/: the managers' dashboard, an agent's own figures, and each table as CSV.

Anonymous users go to the login page; a logged-in user without the right role gets 403 (pages.scope_*).
"""

import csv

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.accounts.permissions import user_has_role
from apps.accounts.roles import MANAGERS
from apps.reports.pages import ReportPage, ReportScope, scope_agent, scope_dashboard
from helpdesk.text import spreadsheet_safe


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return _page(request, scope_dashboard(user=request.user))


@require_GET
@login_required
def my_figures(request: HttpRequest) -> HttpResponse:
    return _page(request, scope_agent(user=request.user, agent_id=None, query=request.GET))


@require_GET
@login_required
def agent_figures(request: HttpRequest, agent_id: int) -> HttpResponse:
    return _page(request, scope_agent(user=request.user, agent_id=agent_id, query=request.GET))


@require_GET
@login_required
def dashboard_csv(request: HttpRequest, table: str) -> HttpResponse:
    return _csv(request, scope_dashboard(user=request.user), table)


@require_GET
@login_required
def my_csv(request: HttpRequest, table: str) -> HttpResponse:
    return _csv(request, scope_agent(user=request.user, agent_id=None, query=request.GET), table)


@require_GET
@login_required
def agent_csv(request: HttpRequest, agent_id: int, table: str) -> HttpResponse:
    return _csv(request, scope_agent(user=request.user, agent_id=agent_id, query=request.GET), table)


def _page(request: HttpRequest, scope: ReportScope) -> HttpResponse:
    page = ReportPage(scope=scope, query=request.GET)
    context = {
        "page": page,
        "scope": scope,
        "form": page.form,
        "kpis": page.kpis(),
        "tables": page.tables,
        "csv_urls": {name: page.csv_url(name) for name in page.table_names},
        "sort_links": page.leaderboard_sort_links() if scope.is_dashboard else [],
        "chart_data": page.chart_data(),
        "can_see_dashboard": user_has_role(request.user, MANAGERS),
    }
    return render(request, "reports/report.html", context)


def _csv(request: HttpRequest, scope: ReportScope, table_name: str) -> HttpResponse:
    page = ReportPage(scope=scope, query=request.GET)
    table = page.table(table_name)
    filters = page.filters
    span = "-".join(str(day) for day in (filters.date_from, filters.date_to) if day is not None) or "all"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{table.name}-{span}.csv"'
    writer = csv.writer(response)
    writer.writerow(table.headers)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in table.rows)
    return response
