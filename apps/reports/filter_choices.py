"""What the report filters offer (reads for apps.reports.forms): the teams, the agents, the intents found."""

from apps.accounts.models import AgentProfile, Team
from apps.reports.models import ConversationFact


def report_team_choices() -> list[tuple[int, str]]:
    return list(Team.objects.order_by("name").values_list("pk", "name"))


def report_agent_choices() -> list[tuple[int, str]]:
    """Every agent with a profile, by name. One query."""
    rows = AgentProfile.objects.order_by("user__username").values(
        "user_id", "display_name", "user__first_name", "user__last_name", "user__username"
    )
    choices = [
        (
            row["user_id"],
            row["display_name"]
            or f"{row['user__first_name']} {row['user__last_name']}".strip()
            or row["user__username"],
        )
        for row in rows
    ]
    return sorted(choices, key=lambda choice: choice[1].casefold())


def report_intent_choices() -> list[str]:
    """The intents that appear in the facts, sorted. One query."""
    intents = ConversationFact.objects.exclude(intent="").order_by("intent").values_list("intent", flat=True)
    return list(intents.distinct())
