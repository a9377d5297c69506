"""The staff roles and what each may do.

Groups are created by a data migration; their permissions are (re)applied after every ``migrate`` from
ROLE_PERMISSIONS, so a model added later gets its permissions without a new data migration. The Admin role
is a superuser. The README's role table is this matrix in words.
"""

AGENTS = "Agents"
MANAGERS = "Managers"
ML_ADMINS = "ML admins"
ROLE_GROUPS = (AGENTS, MANAGERS, ML_ADMINS)

VIEW = ("view",)
WORK = ("view", "add", "change")
ALL = ("view", "add", "change", "delete")

# {group: {"app_label.model": actions}}
ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    AGENTS: {
        "customers.customer": WORK,
        "tickets.ticket": WORK,
        "tickets.ticketchange": VIEW,
        "tickets.slabreach": VIEW,
        "conversations.conversation": ("view", "change"),
        "conversations.message": ("view", "add"),
        "conversations.satisfactionsurvey": VIEW,
        "conversations.cannedreply": VIEW,
        "knowledge.article": VIEW,
        "recommendations.product": VIEW,
        "accounts.team": VIEW,
        # Their own reviews only (oversight.admin narrows the list), with the rubric they were scored on.
        "oversight.conversationreview": VIEW,
        "oversight.reviewcriterion": VIEW,
    },
    MANAGERS: {
        "customers.customer": VIEW,
        "tickets.ticket": VIEW,
        "tickets.ticketchange": VIEW,
        "tickets.slapolicy": ALL,
        "tickets.businesscalendar": ALL,
        "tickets.businesshours": ALL,
        "tickets.holiday": ALL,
        "tickets.slabreach": VIEW,
        "conversations.conversation": VIEW,
        "conversations.message": VIEW,
        "conversations.satisfactionsurvey": VIEW,
        "conversations.cannedreply": ALL,
        "knowledge.article": ALL,
        "knowledge.articlerevision": VIEW,
        "recommendations.product": ALL,
        "recommendations.interaction": VIEW,
        "accounts.team": ALL,
        "accounts.agentprofile": WORK,
        "assistant.policyconfig": VIEW,
        "assistant.suggestionuse": VIEW,
        # The reports' rollup, read-only in the admin; the report pages themselves check the role.
        "reports.conversationfact": VIEW,
        # Team leads: the floor, reviews and the tickets' bulk actions (oversight.admin, tickets.admin).
        "oversight.reviewcriterion": ALL,
        "oversight.conversationreview": WORK,
    },
    ML_ADMINS: {
        "assistant.registeredmodel": ALL,
        "assistant.modelversion": WORK,
        "assistant.modelalias": WORK,
        "assistant.aliaschange": VIEW,
        "assistant.trainingexample": ALL,
        "assistant.rateddialogue": ALL,
        "assistant.modelevaluation": ("view", "delete"),
        "assistant.policyconfig": WORK,
        "assistant.suggestionuse": VIEW,
        "assistant.learningloopconfig": WORK,
        "assistant.modelcomparison": ("view", "delete"),
        "assistant.gatedecision": VIEW,
        "knowledge.article": VIEW,
        "django_celery_beat.periodictask": ALL,
        "django_celery_beat.crontabschedule": ALL,
        "django_celery_beat.intervalschedule": ALL,
    },
}
