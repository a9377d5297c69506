"""Due times counted in a business calendar's working minutes (apps.tickets.sla), and the ticket services that
stamp them."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps.tickets.models import BusinessCalendar, BusinessHours, Holiday, SLAPolicy
from apps.tickets.services import ticket_create, ticket_update
from apps.tickets.sla import CalendarWithoutWorkingTime, sla_deadline, working_week

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
NINE_TO_FIVE = ((time(9), time(17)),)
WEEKDAYS = range(5)


def make_calendar(
    *, zone: str = "Europe/Berlin", days=WEEKDAYS, intervals=NINE_TO_FIVE, holidays=(), name: str = "Office"
) -> BusinessCalendar:
    calendar = BusinessCalendar.objects.create(name=name, timezone=zone)
    BusinessHours.objects.bulk_create(
        BusinessHours(calendar=calendar, weekday=day, opens_at=opens, closes_at=closes)
        for day in days
        for opens, closes in intervals
    )
    Holiday.objects.bulk_create(Holiday(calendar=calendar, date=day) for day in holidays)
    return calendar


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def office(db) -> BusinessCalendar:
    """Mon-Fri 09:00-17:00 in Berlin. March 2025: Monday the 3rd, Friday the 7th."""
    return make_calendar()


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        pytest.param(berlin(2025, 3, 3, 10, 0), 120, berlin(2025, 3, 3, 12, 0), id="inside-hours"),
        pytest.param(berlin(2025, 3, 3, 7, 30), 30, berlin(2025, 3, 3, 9, 30), id="before-opening"),
        pytest.param(berlin(2025, 3, 3, 16, 0), 120, berlin(2025, 3, 4, 10, 0), id="into-the-next-day"),
        pytest.param(berlin(2025, 3, 7, 18, 0), 60, berlin(2025, 3, 10, 10, 0), id="friday-evening-to-monday"),
        pytest.param(berlin(2025, 3, 8, 12, 0), 0, berlin(2025, 3, 10, 9, 0), id="saturday-zero-minutes"),
        pytest.param(berlin(2025, 3, 3, 9, 0), 480, berlin(2025, 3, 3, 17, 0), id="a-full-day-ends-at-closing"),
        pytest.param(berlin(2025, 3, 3, 9, 0), 72 * 60, berlin(2025, 3, 13, 17, 0), id="nine-working-days"),
    ],
)
def test_due_times_count_only_opening_hours(office, django_assert_num_queries, start, minutes, due):
    with django_assert_num_queries(2):  # the hours and the holidays, once, however many days it spans
        result = sla_deadline(start=start, minutes=minutes, calendar=office)

    assert result == due
    assert result.tzinfo == BERLIN


def test_a_start_in_another_zone_is_read_in_the_calendars_zone(office):
    # 08:30 UTC is 09:30 in Berlin (CET, +1).
    start = datetime(2025, 3, 3, 8, 30, tzinfo=UTC)

    assert sla_deadline(start=start, minutes=30, calendar=office) == berlin(2025, 3, 3, 10, 0)


def test_a_holiday_in_the_middle_is_skipped():
    calendar = make_calendar(holidays=[date(2025, 3, 4)])

    due = sla_deadline(start=berlin(2025, 3, 3, 16, 0), minutes=120, calendar=calendar)

    assert due == berlin(2025, 3, 5, 10, 0)


def test_two_intervals_a_day_skip_the_lunch_break():
    calendar = make_calendar(intervals=((time(9), time(12)), (time(13), time(17))))

    assert sla_deadline(start=berlin(2025, 3, 3, 11, 0), minutes=120, calendar=calendar) == berlin(2025, 3, 3, 14, 0)
    assert sla_deadline(start=berlin(2025, 3, 3, 12, 30), minutes=60, calendar=calendar) == berlin(2025, 3, 3, 14, 0)


def test_overlapping_intervals_are_not_counted_twice():
    calendar = make_calendar(intervals=((time(9), time(13)), (time(12), time(17))))

    assert sla_deadline(start=berlin(2025, 3, 3, 9, 0), minutes=480, calendar=calendar) == berlin(2025, 3, 3, 17, 0)


def test_a_weekend_with_a_dst_change_keeps_the_local_opening_time(office):
    # Clocks go forward on Sunday 30 March 2025: Friday is CET (+1), Monday CEST (+2).
    due = sla_deadline(start=berlin(2025, 3, 28, 16, 0), minutes=120, calendar=office)

    assert due == berlin(2025, 3, 31, 10, 0)
    assert due == datetime(2025, 3, 31, 8, 0, tzinfo=UTC)


def test_working_time_on_dst_days_is_real_elapsed_time():
    # Open Sundays 01:00-05:00: 3 real hours on 30 March 2025 (02:00 does not exist), 5 on 26 October (02:00-03:00
    # happens twice).
    calendar = make_calendar(days=[6], intervals=((time(1), time(5)),))

    spring = sla_deadline(start=berlin(2025, 3, 29, 12, 0), minutes=180, calendar=calendar)
    autumn = sla_deadline(start=berlin(2025, 10, 25, 12, 0), minutes=240, calendar=calendar)

    assert spring == datetime(2025, 3, 30, 3, 0, tzinfo=UTC)  # 05:00 CEST: closing time, all 3 hours used
    assert autumn == datetime(2025, 10, 26, 3, 0, tzinfo=UTC)  # 04:00 CET, the fourth real hour after 01:00 CEST


def test_without_a_calendar_the_wall_clock_counts(django_assert_num_queries):
    start = berlin(2025, 3, 7, 18, 0)

    with django_assert_num_queries(0):
        assert sla_deadline(start=start, minutes=60, calendar=None) == berlin(2025, 3, 7, 19, 0)


def test_a_calendar_without_hours_raises():
    calendar = BusinessCalendar.objects.create(name="Never open", timezone="UTC")

    with pytest.raises(CalendarWithoutWorkingTime, match="'Never open' has no opening hours"):
        sla_deadline(start=berlin(2025, 3, 3, 10, 0), minutes=60, calendar=calendar)


def test_a_calendar_whose_only_open_day_is_a_holiday_gives_up_with_an_error():
    calendar = make_calendar(days=[0], holidays=[date(2025, 3, 3)])
    # Hours on Mondays only, and only one Monday a holiday: the next Monday is found.
    assert sla_deadline(start=berlin(2025, 3, 3, 10, 0), minutes=60, calendar=calendar) == berlin(2025, 3, 10, 10, 0)

    with pytest.raises(CalendarWithoutWorkingTime, match="leaves no 60000000 working minutes"):
        sla_deadline(start=berlin(2025, 3, 3, 10, 0), minutes=60_000_000, calendar=calendar)


def test_ticket_create_and_update_count_in_the_policys_calendar(office, customer_carl, agent_alice, monkeypatch):
    SLAPolicy.objects.create(
        name="Normal", priority="normal", first_response_minutes=120, resolution_minutes=600, calendar=office
    )
    SLAPolicy.objects.create(name="High", priority="high", first_response_minutes=30, resolution_minutes=240)
    friday_four_pm = berlin(2025, 3, 7, 16, 0)
    monkeypatch.setattr(timezone, "now", lambda: friday_four_pm)

    ticket = ticket_create(customer=customer_carl, subject="Card blocked")

    assert (ticket.first_response_due_at, ticket.resolution_due_at) == (
        berlin(2025, 3, 10, 10, 0),
        berlin(2025, 3, 11, 10, 0),
    )
    # Up to high (around the clock), the clocks restart from the ticket's creation on the wall clock.
    ticket_update(ticket=ticket, actor=agent_alice, priority="high")
    assert (ticket.first_response_due_at, ticket.resolution_due_at) == (
        berlin(2025, 3, 7, 16, 30),
        berlin(2025, 3, 7, 20, 0),
    )
    ticket_update(ticket=ticket, actor=agent_alice, priority="normal")
    assert ticket.first_response_due_at == berlin(2025, 3, 10, 10, 0)


def test_a_ticket_under_an_emptied_calendar_is_still_created_with_wall_clock_targets(
    customer_carl, monkeypatch, caplog
):
    emptied = BusinessCalendar.objects.create(name="Emptied", timezone="Europe/Berlin")
    SLAPolicy.objects.create(
        name="Normal", priority="normal", first_response_minutes=120, resolution_minutes=600, calendar=emptied
    )
    monkeypatch.setattr(timezone, "now", lambda: berlin(2025, 3, 7, 16, 0))

    ticket = ticket_create(customer=customer_carl, subject="Handed over at the weekend")

    assert (ticket.first_response_due_at, ticket.resolution_due_at) == (
        berlin(2025, 3, 7, 18, 0),
        berlin(2025, 3, 8, 2, 0),
    )
    assert "'Emptied' has no opening hours" in caplog.text


def test_working_minutes_between_two_moments_skip_nights_weekends_and_holidays(office):
    week = working_week(Holiday.objects.create(calendar=office, date=date(2025, 3, 10)).calendar)

    # Friday 16:00 → Tuesday 09:30: Friday's last hour, the weekend and Monday's holiday skipped, Tuesday's 30 min.
    assert week.working_minutes(start=berlin(2025, 3, 7, 16, 0), end=berlin(2025, 3, 11, 9, 30)) == 90
    assert week.working_minutes(start=berlin(2025, 3, 11, 12, 0), end=berlin(2025, 3, 11, 12, 0)) == 0
    assert week.working_minutes(start=berlin(2025, 3, 11, 13, 0), end=berlin(2025, 3, 11, 12, 0)) == 0


def test_the_resolution_clock_stands_still_while_the_ticket_waits_on_the_customer(
    office, customer_carl, agent_alice, monkeypatch
):
    SLAPolicy.objects.create(
        name="Normal", priority="normal", first_response_minutes=60, resolution_minutes=240, calendar=office
    )
    clock = {"now": berlin(2025, 3, 3, 9, 0)}  # Monday
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])
    ticket = ticket_create(customer=customer_carl, subject="Card blocked", assignee=agent_alice)
    assert ticket.resolution_due_at == berlin(2025, 3, 3, 13, 0)

    clock["now"] = berlin(2025, 3, 3, 10, 0)
    ticket_update(ticket=ticket, actor=agent_alice, status="pending")
    assert (ticket.sla_paused_at, ticket.resolution_due_at) == (berlin(2025, 3, 3, 10, 0), berlin(2025, 3, 3, 13, 0))
    # Waiting on the customer from Monday 10:00 to Tuesday 11:30: 7 h on Monday and 2.5 h on Tuesday stood still.
    clock["now"] = berlin(2025, 3, 4, 11, 30)
    ticket_update(ticket=ticket, actor=agent_alice, status="open")

    assert (ticket.sla_paused_at, ticket.sla_paused_minutes) == (None, 570)
    # 240 + 570 working minutes from Monday 09:00: Monday's 480, then 330 on Tuesday → 14:30.
    assert ticket.resolution_due_at == berlin(2025, 3, 4, 14, 30)
    moved = ticket.changes.get(field="resolution_due_at")
    assert (moved.old_value, moved.new_value, moved.actor_id, moved.comment) == (
        "2025-03-03T12:00:00+00:00",
        "2025-03-04T13:30:00+00:00",
        agent_alice.pk,
        "SLA clock resumed after 570 min waiting on the customer",
    )
