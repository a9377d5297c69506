"""The report pages: who may open which, what they show, the CSV of every table, and their query counts."""

import html
import json

import pytest
from django.urls import reverse

from apps.reports.models import ConversationFact
from tests.reports.html_tables import csv_rows, page_links, page_tables

pytestmark = pytest.mark.django_db

MARCH = "date_from=2026-03-01&date_to=2026-03-31"
DASHBOARD_TABLES = [
    "summary",
    "periods",
    "breakdown",
    "leaderboard",
    "heatmap",
    "calibration_rating",
    "calibration_prediction",
    "comments",
]


def _logged_in(client, user):
    client.force_login(user)
    return client


def test_anonymous_users_are_sent_to_log_in(client, desk):
    paths = ["/reports/", "/reports/me/", f"/reports/agents/{desk.alice.pk}/", "/reports/csv/summary/"]

    for path in paths:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("user_fixture", ["mladmin_mo", "plain_user_pat"])
def test_ml_admins_and_other_users_are_refused_everything(client, request, user_fixture, desk):
    client = _logged_in(client, request.getfixturevalue(user_fixture))
    paths = [
        "/reports/",
        "/reports/me/",
        f"/reports/agents/{desk.alice.pk}/",
        "/reports/csv/summary/",
        "/reports/me/csv/summary/",
    ]

    assert [client.get(path).status_code for path in paths] == [403] * len(paths)


def test_an_agent_sees_their_own_figures_only(client, desk):
    client = _logged_in(client, desk.alice)

    response = client.get(f"/reports/me/?{MARCH}")

    assert response.status_code == 200
    tables = page_tables(response.content.decode())
    assert tables["summary"]["rows"][0][:3] == ["All conversations", "2", "50.0"]  # alice: 2, CSAT 1 of 2
    assert "leaderboard" not in tables  # the others' figures
    assert [row[0] for row in tables["breakdown"]["rows"]] == ["card_arrival", "lost_card"]  # by intent
    assert 'name="agent"' not in response.content.decode()


def test_an_agent_cannot_open_another_agents_figures_or_the_dashboard(client, desk):
    client = _logged_in(client, desk.alice)
    refused = [
        "/reports/",
        "/reports/csv/leaderboard/",
        f"/reports/agents/{desk.bob.pk}/",
        f"/reports/agents/{desk.bob.pk}/csv/summary/",
        f"/reports/me/?agent={desk.bob.pk}",
        f"/reports/me/csv/summary/?agent={desk.bob.pk}",
    ]

    assert [client.get(path).status_code for path in refused] == [403] * len(refused)
    assert client.get(f"/reports/agents/{desk.alice.pk}/").status_code == 200


@pytest.mark.parametrize("user_fixture", ["manager_maria", "admin_ada"])
def test_managers_and_the_admin_see_everything(client, request, user_fixture, desk):
    client = _logged_in(client, request.getfixturevalue(user_fixture))

    dashboard = client.get(f"/reports/?{MARCH}")
    bob = client.get(f"/reports/agents/{desk.bob.pk}/?{MARCH}")

    assert dashboard.status_code == 200
    assert page_tables(dashboard.content.decode())["summary"]["rows"][0][:2] == ["All conversations", "5"]
    assert bob.status_code == 200
    assert page_tables(bob.content.decode())["summary"]["rows"][0][:2] == ["All conversations", "1"]
    assert client.get("/reports/agents/987654/").status_code == 404


def test_the_dashboard_shows_every_figure(client, manager_maria, desk):
    response = _logged_in(client, manager_maria).get(f"/reports/?{MARCH}&period=day&by=agent")

    tables = page_tables(response.content.decode())
    assert set(tables) == set(DASHBOARD_TABLES)
    assert tables["summary"]["headers"][:5] == [
        "Conversations of",
        "Conversations",
        "CSAT (%)",
        "Review score",
        "Mean rating",
    ]
    # CSAT, review score (nobody reviewed), mean, rated, reviewed, response rate, first response median/p90,
    # resolution median/p90 (min), SLA breaches, handoff, containment, suggestion acceptance.
    assert tables["summary"]["rows"] == [
        [
            "All conversations",
            "5",
            "50.0",
            "",
            "3.50",
            "4",
            "0",
            "75.0",
            "2.0",
            "4.4",
            "15.0",
            "26.0",
            "0",
            "80.0",
            "20.0",
            "50.0",
        ]
    ]
    assert [row[:2] for row in tables["periods"]["rows"]] == [
        ["2026-03-02", "2"],
        ["2026-03-03", "1"],
        ["2026-03-04", "0"],
        ["2026-03-05", "2"],
    ]
    assert [row[0] for row in tables["breakdown"]["rows"]] == ["(no agent)", "alice", "bob"]
    assert tables["leaderboard"]["headers"] == [
        "Agent",
        "Conversations",
        "CSAT (%)",
        "Review score",
        "First response, median (min)",
        "Suggestion acceptance (%)",
        "SLA breaches",
    ]
    assert tables["leaderboard"]["rows"] == [
        ["alice", "2", "50.0", "", "1.5", "100.0", "0"],
        ["bob", "1", "100.0", "", "5.0", "0.0", "0"],
    ]
    assert tables["heatmap"]["rows"][0][10] == "1"  # Monday, 09:00 (after the weekday column)
    content = response.content.decode()
    assert "<dt>CSAT</dt><dd>50.0 %</dd><small>4 rated, mean 3.50</small>" in content
    assert "<dt>First response (median)</dt><dd>2.0 min</dd><small>p90 4.4 min</small>" in content
    assert tables["comments"]["rows"] == [
        [
            str(desk.conversations[2].pk),
            "2026-03-03 10:00",
            "2",
            "alice",
            "Cards",
            "lost_card",
            "Chat widget",
            "Too slow",
        ]
    ]


def test_the_form_shows_the_choices_in_effect(client, manager_maria, desk):
    content = _logged_in(client, manager_maria).get("/reports/").content.decode()

    assert '<option value="week" selected>Week</option>' in content
    assert '<option value="team" selected>Team</option>' in content


def test_a_low_ratings_comment_links_to_its_conversation_in_the_admin(client, manager_maria, desk):
    response = _logged_in(client, manager_maria).get(f"/reports/?{MARCH}")

    admin_url = reverse("admin:conversations_conversation_change", args=[desk.conversations[2].pk])
    assert admin_url in page_links(response.content.decode())


@pytest.mark.parametrize("table", DASHBOARD_TABLES)
def test_each_csv_holds_exactly_the_rows_of_the_page(client, manager_maria, desk, table):
    client = _logged_in(client, manager_maria)
    page = client.get(f"/reports/?{MARCH}&period=day&by=intent&sort=csat&order=asc")
    content = page.content.decode()
    csv_link = next(link for link in page_links(content) if link.startswith(f"/reports/csv/{table}/"))

    export = client.get(csv_link)

    shown = page_tables(content)[table]
    assert export.status_code == 200
    assert export["Content-Type"] == "text/csv; charset=utf-8"
    assert export["Content-Disposition"] == f'attachment; filename="{table}-2026-03-01-2026-03-31.csv"'
    assert csv_rows(export.content) == [shown["headers"], *shown["rows"]]
    assert shown["rows"]  # every table has something to compare on this desk


def test_an_agents_csv_is_their_pages_table(client, desk):
    client = _logged_in(client, desk.alice)
    content = client.get(f"/reports/me/?{MARCH}").content.decode()
    csv_link = next(link for link in page_links(content) if link.startswith("/reports/me/csv/breakdown/"))

    rows = csv_rows(client.get(csv_link).content)

    assert rows[1:] == page_tables(content)["breakdown"]["rows"]
    assert [row[:2] for row in rows[1:]] == [["card_arrival", "1"], ["lost_card", "1"]]


def test_the_leaderboard_sorts_by_its_column_links(client, manager_maria, desk):
    client = _logged_in(client, manager_maria)
    content = client.get(f"/reports/?{MARCH}").content.decode()
    sort_by_csat = next(link for link in page_links(content) if "sort=csat" in link)

    sorted_page = client.get("/reports/" + html.unescape(sort_by_csat))

    assert [row[0] for row in page_tables(sorted_page.content.decode())["leaderboard"]["rows"]] == ["bob", "alice"]


def test_a_formula_in_a_comment_does_not_run_in_a_spreadsheet(client, manager_maria, desk):
    ConversationFact.objects.filter(pk=desk.conversations[2].pk).update(comment='=HYPERLINK("http://evil")')
    client = _logged_in(client, manager_maria)

    rows = csv_rows(client.get(f"/reports/csv/comments/?{MARCH}").content)

    assert rows[1][-1] == '\'=HYPERLINK("http://evil")'


def test_text_is_escaped_in_the_tables_and_the_chart_data(client, manager_maria, desk):
    desk.bob.agent_profile.display_name = "<b>Bob</b>"
    desk.bob.agent_profile.save()
    ConversationFact.objects.filter(pk=desk.conversations[2].pk).update(comment="<script>alert(1)</script>")

    content = _logged_in(client, manager_maria).get(f"/reports/?{MARCH}&by=agent").content.decode()

    assert "<script>alert(1)</script>" not in content
    assert "<b>Bob</b>" not in content
    assert "&lt;b&gt;Bob&lt;/b&gt;" in content
    chart_json = content.split('<script id="report-chart-data" type="application/json">')[1].split("</script>")[0]
    assert json.loads(chart_json)["leaderboard"]["labels"] == ["alice", "<b>Bob</b>"]
    assert "<b>" not in chart_json  # json_script escapes < and >


def test_bad_filters_are_reported_and_fall_back(client, manager_maria, desk):
    response = _logged_in(client, manager_maria).get("/reports/?date_from=yesterday&period=decade&team=x")

    assert response.status_code == 200
    assert response.content.decode().count('class="field-error"') == 3


def test_the_dashboard_costs_a_fixed_number_of_queries(client, manager_maria, desk, django_assert_num_queries):
    client = _logged_in(client, manager_maria)

    # Session, user, roles; teams, intents, agents for the filters; counts per team and per (period, agent),
    # every percentile, the agents' and the teams' names; heatmap; calibration; comments; recommendations' clicks.
    with django_assert_num_queries(15):
        client.get(f"/reports/?{MARCH}")
    # Broken down by agent, the breakdown comes from the counts per (period, agent).
    with django_assert_num_queries(13):
        client.get(f"/reports/?{MARCH}&by=agent")


def test_an_agents_page_costs_a_fixed_number_of_queries(client, desk, django_assert_num_queries):
    client = _logged_in(client, desk.alice)

    with django_assert_num_queries(11):
        client.get(f"/reports/me/?{MARCH}")
    with django_assert_num_queries(6):  # session, user, roles, teams, intents; the table
        client.get(f"/reports/me/csv/heatmap/?{MARCH}")
