"""When an SLA target falls due: around the clock, or counted in a business calendar's working time.

Working time is counted in real elapsed minutes between the calendar's local opening and closing times, so a
day whose clocks go forward (Europe/Berlin's last Sunday of March) has an hour less between 01:00 and 04:00.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apps.tickets.models import BusinessCalendar, SLAPolicy

# Far enough for any real target (a 72-hour resolution target over a few opening hours a week is months); a
# calendar that finds no working time within it is broken, not slow.
MAX_DAYS_SCANNED = 3 * 366


class CalendarWithoutWorkingTime(ValueError):
    """The calendar has no opening hours (or none that holidays leave open) to count a target in."""


@dataclass(frozen=True)
class WorkingWeek:
    """A calendar read once: its opening intervals per weekday (0 = Monday) and its holidays."""

    name: str
    zone: ZoneInfo
    hours: dict[int, tuple[tuple[time, time], ...]]
    holidays: frozenset[date]

    def deadline(self, *, start: datetime, minutes: int) -> datetime:
        """The moment ``minutes`` of working time after ``start`` (aware), in the calendar's zone. A start
        outside the hours begins counting at the next opening."""
        if not self.hours:
            raise CalendarWithoutWorkingTime(f"Business calendar {self.name!r} has no opening hours.")
        remaining = timedelta(minutes=minutes)
        cursor = start.astimezone(UTC)
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_DAYS_SCANNED):
            for opens, closes in () if day in self.holidays else self.hours.get(day.weekday(), ()):
                begin, end = max(self._instant(day, opens), cursor), self._instant(day, closes)
                if begin >= end:
                    continue
                if remaining <= end - begin:
                    return (begin + remaining).astimezone(self.zone)
                remaining -= end - begin
            day += timedelta(days=1)
        raise CalendarWithoutWorkingTime(
            f"Business calendar {self.name!r} leaves no {minutes} working minutes within {MAX_DAYS_SCANNED} days "
            f"of {start.isoformat()}."
        )

    def working_minutes(self, *, start: datetime, end: datetime) -> int:
        """Whole working minutes between ``start`` and ``end`` (aware; 0 when end is not after start)."""
        if end <= start:
            return 0
        begin_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
        worked = timedelta()
        day, last = start.astimezone(self.zone).date(), end.astimezone(self.zone).date()
        while day <= last:
            for opens, closes in () if day in self.holidays else self.hours.get(day.weekday(), ()):
                overlap = min(self._instant(day, closes), end_utc) - max(self._instant(day, opens), begin_utc)
                worked += max(overlap, timedelta())
            day += timedelta(days=1)
        return int(worked.total_seconds() // 60)

    def _instant(self, day: date, at: time) -> datetime:
        # Subtracting two aware datetimes of one tzinfo ignores their offsets: compare and count in UTC. A wall
        # time that a DST change skips or repeats resolves as zoneinfo's fold=0 does (the earlier offset).
        return datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)


def working_week(calendar: BusinessCalendar) -> WorkingWeek:
    """Two queries, or none when ``hours`` and ``holidays`` were prefetched."""
    hours: dict[int, list[tuple[time, time]]] = {}
    for interval in sorted(calendar.hours.all(), key=lambda row: (row.weekday, row.opens_at)):
        hours.setdefault(interval.weekday, []).append((interval.opens_at, interval.closes_at))
    return WorkingWeek(
        name=calendar.name,
        zone=ZoneInfo(calendar.timezone),
        hours={weekday: _merged(intervals) for weekday, intervals in hours.items()},
        holidays=frozenset(holiday.date for holiday in calendar.holidays.all()),
    )


def _merged(intervals: list[tuple[time, time]]) -> tuple[tuple[time, time], ...]:
    """Sorted intervals with overlaps joined, so an overlap is not counted twice."""
    merged: list[tuple[time, time]] = []
    for opens, closes in intervals:
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return tuple(merged)


def sla_deadline(*, start: datetime, minutes: int, calendar: BusinessCalendar | None) -> datetime:
    """``minutes`` after ``start``: on the wall clock without a calendar, else in the calendar's working time."""
    if calendar is None:
        return start + timedelta(minutes=minutes)
    return working_week(calendar).deadline(start=start, minutes=minutes)


def sla_due_times(
    *, policy: SLAPolicy, start: datetime, paused_minutes: int = 0, week: WorkingWeek | None = None
) -> tuple[datetime, datetime]:
    """(first response due, resolution due) of a ticket opened at ``start`` under ``policy``, its resolution
    target moved out by the ``paused_minutes`` it waited on the customer, reading the calendar once. Pass
    ``week`` (working_week of the policy's calendar) to reuse one across many tickets."""
    resolution_minutes = policy.resolution_minutes + paused_minutes
    if policy.calendar_id is None:
        return (
            start + timedelta(minutes=policy.first_response_minutes),
            start + timedelta(minutes=resolution_minutes),
        )
    week = week or working_week(policy.calendar)
    return (
        week.deadline(start=start, minutes=policy.first_response_minutes),
        week.deadline(start=start, minutes=resolution_minutes),
    )


def sla_paused_minutes(*, policy: SLAPolicy | None, start: datetime, end: datetime) -> int:
    """The minutes of ``policy``'s clock between ``start`` and ``end``: working minutes in its calendar, wall
    minutes without one (or without a policy)."""
    if policy is None or policy.calendar_id is None:
        return max(0, int((end - start).total_seconds() // 60))
    return working_week(policy.calendar).working_minutes(start=start, end=end)
