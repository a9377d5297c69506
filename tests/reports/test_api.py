"""/api/reports/…: the same figures as JSON, with the pages' permissions, documented, at a fixed query cost."""

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import ROLE_USERS

pytestmark = pytest.mark.django_db

MARCH = {"date_from": "2026-03-01", "date_to": "2026-03-31"}
ENDPOINTS = ["summary", "breakdown", "leaderboard", "heatmap", "calibration", "comments"]


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("user_fixture", ROLE_USERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_who_may_read_each_endpoint(request, user_fixture, endpoint, desk):
    user = request.getfixturevalue(user_fixture) if user_fixture else None

    response = _client(user).get(f"/api/reports/{endpoint}/", MARCH)

    allowed = {"manager_maria", "admin_ada"} | ({"agent_alice"} if endpoint != "leaderboard" else set())
    assert response.status_code == (200 if user_fixture in allowed else 403)


def test_the_summary_in_numbers(manager_maria, desk):
    response = _client(manager_maria).get("/api/reports/summary/", MARCH)

    assert response.json() == {
        "key": None,
        "label": "All conversations",
        "conversations": 5,
        "rated": 4,
        "csat": 0.5,
        "mean_rating": 3.5,
        "handed_over": 4,
        "response_rate": 0.75,
        "handoff_rate": 0.8,
        "containment_rate": 0.2,
        "first_response_median": 120.0,
        "first_response_p90": pytest.approx(264.0),
        "resolution_median": 900.0,
        "resolution_p90": pytest.approx(1560.0),
        "suggestions": 4,
        "suggestion_acceptance": 0.5,
        "reviewed": 0,
        "review_score": None,
        "sla_breaches": 0,
    }


def test_an_agent_gets_their_own_figures_and_no_one_elses(desk):
    alice = _client(desk.alice)

    own = alice.get("/api/reports/summary/", MARCH)
    named = alice.get("/api/reports/summary/", {**MARCH, "agent": desk.alice.pk})
    other = alice.get("/api/reports/breakdown/", {**MARCH, "agent": desk.bob.pk})

    assert own.json()["conversations"] == named.json()["conversations"] == 2
    assert other.status_code == 403


def test_breakdowns_by_dimension_and_by_period(manager_maria, desk):
    client = _client(manager_maria)

    by_team = client.get("/api/reports/breakdown/", {**MARCH, "by": "team"}).json()
    by_day = client.get("/api/reports/breakdown/", {**MARCH, "by": "period", "period": "day"}).json()

    assert [(row["key"], row["label"], row["conversations"]) for row in by_team] == [
        (desk.team.pk, "Cards", 4),
        (None, "(no team)", 1),
    ]
    assert [(row["key"], row["conversations"]) for row in by_day] == [
        ("2026-03-02", 2),
        ("2026-03-03", 1),
        ("2026-03-04", 0),
        ("2026-03-05", 2),
    ]


def test_the_leaderboard_sorted(manager_maria, desk):
    rows = _client(manager_maria).get("/api/reports/leaderboard/", {**MARCH, "sort": "csat", "order": "asc"}).json()

    assert [(row["label"], row["csat"]) for row in rows] == [("alice", 0.5), ("bob", 1.0)]


def test_heatmap_calibration_and_comments(manager_maria, desk):
    client = _client(manager_maria)

    heatmap = client.get("/api/reports/heatmap/", MARCH).json()
    calibration = client.get("/api/reports/calibration/", MARCH).json()
    comments = client.get("/api/reports/comments/", {**MARCH, "limit": 10}).json()

    assert heatmap["weekdays"][0] == "Monday"
    assert (heatmap["cells"][0][9], heatmap["cells"][3][23], sum(map(sum, heatmap["cells"]))) == (1, 1, 5)
    assert [row["conversations"] for row in calibration["by_rating"]] == [0, 0, 0, 0, 0]  # no predictions yet
    assert [(c["conversation"], c["rating"], c["comment"], c["agent"]) for c in comments] == [
        (desk.conversations[2].pk, 2, "Too slow", "alice")
    ]


def test_bad_parameters_are_a_400(manager_maria, desk):
    client = _client(manager_maria)

    assert client.get("/api/reports/summary/", {"date_from": "2026-03-31", "date_to": "2026-03-01"}).status_code == 400
    assert client.get("/api/reports/breakdown/", {"by": "mood"}).status_code == 400
    assert client.get("/api/reports/comments/", {"limit": 501}).status_code == 400


@pytest.mark.parametrize(
    ("endpoint", "queries"),
    [("summary", 5), ("breakdown", 6), ("leaderboard", 6), ("heatmap", 4), ("calibration", 4), ("comments", 4)],
)
def test_each_endpoint_costs_a_fixed_number_of_queries(
    manager_maria, desk, django_assert_num_queries, endpoint, queries
):
    client = _client(manager_maria)

    # Session, user, roles, then the figures: counts and percentiles (and the teams' or agents' names), or one
    # grouped query.
    with django_assert_num_queries(queries):
        response = client.get(f"/api/reports/{endpoint}/", MARCH)
    assert response.status_code == 200


def test_the_endpoints_are_documented(admin_ada):
    schema = _client(admin_ada).get("/api/schema/", {"format": "json"}).json()

    paths = {path for path in schema["paths"] if path.startswith("/api/reports/")}
    assert paths == {f"/api/reports/{endpoint}/" for endpoint in ENDPOINTS}
    parameters = {p["name"] for p in schema["paths"]["/api/reports/breakdown/"]["get"]["parameters"]}
    assert {"date_from", "date_to", "team", "agent", "intent", "channel", "by", "period"} <= parameters
