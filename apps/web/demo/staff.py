"""The desk's people and rules: teams, default SLA policies, the demo logins and the agents on the floor."""

import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractUser

from apps.accounts.models import AgentProfile, Team
from apps.accounts.roles import AGENTS, MANAGERS, ML_ADMINS
from apps.accounts.services import agent_profile_ensure, agent_set_presence, user_set_roles
from apps.tickets.models import BusinessCalendar, BusinessHours, Holiday, Priority, SLAPolicy
from apps.web.demo.catalogue import IntentProfile

ACCOUNT_SECURITY = "account-security"


@dataclass(frozen=True)
class TeamSpec:
    slug: str
    name: str
    description: str
    is_default: bool = False


TEAMS = (
    TeamSpec("cards", "Cards", "Card orders, delivery, activation, PINs, cash machines and card payments."),
    TeamSpec("payments", "Payments & transfers", "Top-ups, transfers in and out, exchange, refunds and fees."),
    TeamSpec(
        ACCOUNT_SECURITY,
        "Account & security",
        "Identity checks, logins, personal details and closing accounts; everything no other team claims.",
        is_default=True,
    ),
)

# (priority, first response, resolution in minutes, counted in office hours?), for every team: urgent and high
# around the clock, normal and low in the office calendar's working minutes.
SLA_TARGETS = (
    (Priority.URGENT, 15, 4 * 60, False),
    (Priority.HIGH, 30, 8 * 60, False),
    (Priority.NORMAL, 2 * 60, 24 * 60, True),
    (Priority.LOW, 8 * 60, 72 * 60, True),
)
OFFICE_HOURS = "Office hours"
OFFICE_OPENS, OFFICE_CLOSES = time(9), time(17)
# (month, day, name): closed on these in the year of the seed and the years either side (the history reaches
# back 90 days).
OFFICE_HOLIDAYS = ((1, 1, "New Year's Day"), (12, 25, "Christmas Day"))


@dataclass(frozen=True)
class DemoLogin:
    username: str
    first_name: str
    last_name: str
    role: str  # a role group, or "superuser"


DEMO_LOGINS = (
    DemoLogin("agent", "Alex", "Morgan", AGENTS),
    DemoLogin("manager", "Maria", "Lopez", MANAGERS),
    DemoLogin("mladmin", "Mo", "Haddad", ML_ADMINS),
    DemoLogin("admin", "Ada", "Byron", "superuser"),
)


@dataclass(frozen=True)
class FloorAgent:
    username: str
    first_name: str
    last_name: str
    team_slugs: tuple[str, ...]
    presence: str


FLOOR_AGENTS = (
    FloorAgent("priya.shah", "Priya", "Shah", ("cards",), AgentProfile.Presence.ONLINE),
    FloorAgent("tom.okafor", "Tom", "Okafor", ("cards", "payments"), AgentProfile.Presence.ONLINE),
    FloorAgent("lena.fischer", "Lena", "Fischer", ("payments",), AgentProfile.Presence.AWAY),
    FloorAgent("marco.rossi", "Marco", "Rossi", ("payments", ACCOUNT_SECURITY), AgentProfile.Presence.ONLINE),
    FloorAgent("sofia.nowak", "Sofia", "Nowak", (ACCOUNT_SECURITY, "cards"), AgentProfile.Presence.OFFLINE),
)


def teams_ensure(*, profiles: dict[str, IntentProfile]) -> dict[str, Team]:
    """Create or update the three teams, each with the intents it handles first."""
    teams = {}
    for spec in TEAMS:
        # A site that already chose another default team keeps it: the constraint allows only one.
        other_default = Team.objects.filter(is_default=True).exclude(slug=spec.slug).exists()
        teams[spec.slug], _ = Team.objects.update_or_create(
            slug=spec.slug,
            defaults={
                "name": spec.name,
                "description": spec.description,
                "intents": sorted(p.intent for p in profiles.values() if p.team_slug == spec.slug),
                "is_default": spec.is_default and not other_default,
            },
        )
    return teams


def office_calendar_ensure(*, year: int) -> BusinessCalendar:
    """Mon-Fri 09:00-17:00 in the desk's time zone, closed on a few holidays around ``year``. Hours
    are set only when the calendar is new, so a manager's changes survive a re-run."""
    calendar, created = BusinessCalendar.objects.get_or_create(
        name=OFFICE_HOURS, defaults={"timezone": settings.TIME_ZONE}
    )
    if created:
        BusinessHours.objects.bulk_create(
            BusinessHours(calendar=calendar, weekday=weekday, opens_at=OFFICE_OPENS, closes_at=OFFICE_CLOSES)
            for weekday in range(5)
        )
    for holiday_year in (year - 1, year, year + 1):
        for month, day, name in OFFICE_HOLIDAYS:
            Holiday.objects.get_or_create(
                calendar=calendar, date=date(holiday_year, month, day), defaults={"name": name}
            )
    return calendar


def sla_policies_ensure(*, calendar: BusinessCalendar | None = None) -> int:
    """Give every priority a default policy unless one is already active; returns how many were created. The
    office-hours ones count in ``calendar`` (around the clock without one)."""
    created = 0
    for priority, first_response, resolution, office_hours in SLA_TARGETS:
        _, was_created = SLAPolicy.objects.get_or_create(
            priority=priority,
            team=None,
            is_active=True,
            defaults={
                "name": f"Default — {priority.label.lower()}",
                "first_response_minutes": first_response,
                "resolution_minutes": resolution,
                "calendar": calendar if office_hours else None,
            },
        )
        created += was_created
    return created


def _hashes(passwords: dict[str, str]) -> dict[str, str]:
    """Hash side by side: PBKDF2 takes about half a second a password but releases the GIL while it works."""
    with ThreadPoolExecutor(max_workers=len(DEMO_LOGINS)) as pool:
        return dict(zip(passwords, pool.map(make_password, passwords.values()), strict=True))


def demo_logins_ensure(
    *, teams: dict[str, Team], reset_passwords: bool
) -> tuple[dict[str, AbstractUser], dict[str, str]]:
    """The four demo logins. Returns the users and ``{username: password}`` for every password set now:
    all of them on first creation or with ``reset_passwords``, none otherwise."""
    user_model = get_user_model()
    usernames = [login.username for login in DEMO_LOGINS]
    existing = {user.username: user for user in user_model.objects.filter(username__in=usernames)}
    passwords = {
        login.username: secrets.token_urlsafe(12)
        for login in DEMO_LOGINS
        if reset_passwords or login.username not in existing
    }
    hashes = _hashes(passwords)
    users = {}
    for login in DEMO_LOGINS:
        user = existing.get(login.username) or user_model(
            username=login.username,
            first_name=login.first_name,
            last_name=login.last_name,
            email=f"{login.username}@northwind.example",
        )
        if login.username in hashes:
            user.password = hashes[login.username]
        if login.role == "superuser":
            user.is_staff = user.is_superuser = True
        user.save()
        if login.role != "superuser":
            user_set_roles(user=user, roles=[login.role])
        users[login.username] = user
    agent = users["agent"]
    agent_profile_ensure(user=agent, teams=list(teams.values()), capacity=6)
    AgentProfile.objects.filter(user=agent).update(display_name=agent.first_name)
    return users, passwords


def floor_agents_ensure(*, teams: dict[str, Team]) -> list[AbstractUser]:
    """Agents who can't log in but fill the floor: assignees of past conversations, presence in the inbox."""
    user_model = get_user_model()
    agents = []
    for spec in FLOOR_AGENTS:
        user, created = user_model.objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@northwind.example",
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        user_set_roles(user=user, roles=[AGENTS])
        profile = agent_profile_ensure(user=user, teams=[teams[slug] for slug in spec.team_slugs])
        if profile.display_name != spec.first_name:
            profile.display_name = spec.first_name
            profile.save(update_fields=["display_name"])
        agent_set_presence(profile=profile, presence=spec.presence)
        agents.append(user)
    return agents


def team_rosters(
    *, demo_agent: AbstractUser, floor_agents: list[AbstractUser], online_only: bool = False
) -> dict[str, list[AbstractUser]]:
    """The demo agents of each team: the demo login works in every team, the floor agents in their own."""
    rosters = {spec.slug: [demo_agent] for spec in TEAMS}
    for spec, user in zip(FLOOR_AGENTS, floor_agents, strict=True):
        if online_only and spec.presence != AgentProfile.Presence.ONLINE:
            continue
        for slug in spec.team_slugs:
            rosters[slug].append(user)
    return rosters
