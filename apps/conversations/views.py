"""The agents' inbox pages. The server renders the whole page from the database, so it is usable before the
socket connects; static/inbox/inbox.js then keeps it live over ``/ws/inbox/``."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from apps.accounts.models import AgentProfile
from apps.accounts.permissions import user_has_role
from apps.accounts.roles import AGENTS, MANAGERS
from apps.conversations.events import conversation_summary, user_display_name
from apps.conversations.inbox_selectors import (
    AgentPresence,
    inbox_agent_list,
    inbox_can_write,
    inbox_canned_replies,
    inbox_conversation_get,
    inbox_customer_panel,
    inbox_sections,
    inbox_summaries,
    inbox_team_list,
    inbox_transcript,
)
from apps.conversations.models import Conversation, Message

INBOX_SOCKET_PATH = "/ws/inbox/"


def inbox_role_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous users go to the login page; logged-in users without the Agents or Managers role get 403."""

    @login_required
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_has_role(request.user, AGENTS, MANAGERS):
            raise PermissionDenied("The inbox is for agents and managers.")
        return view(request, *args, **kwargs)

    return guarded


@require_GET
@inbox_role_required
def inbox(request: HttpRequest, conversation_id: int | None = None) -> HttpResponse:
    user = request.user
    selected = _selected_conversation(user, conversation_id)
    sections = inbox_sections(user=user)
    agents = inbox_agent_list()
    me = _me(user, agents)
    can_write = inbox_can_write(user)
    canned_replies = inbox_canned_replies(user=user) if can_write else []
    config = {
        "socket_path": INBOX_SOCKET_PATH,
        "inbox_url": reverse("inbox:index"),
        "me": {"id": me.id, "name": me.name, "presence": me.presence, "can_write": can_write},
        "agents": [{"id": a.id, "name": a.name, "presence": a.presence} for a in agents],
        "conversations": inbox_summaries(sections=sections),
        "conversation": conversation_summary(selected) if selected else None,
        "canned_replies": [{"shortcut": r.shortcut, "title": r.title, "text": r.text} for r in canned_replies],
        "state_labels": dict(Conversation.State.choices),
        "role_labels": dict(Message.Role.choices),
        "decision_labels": dict(Message.Decision.choices),
    }
    context = {
        "sections": sections,
        "selected": selected,
        "transcript": inbox_transcript(conversation=selected) if selected else [],
        "panel": inbox_customer_panel(conversation=selected) if selected else None,
        "me": me,
        "other_agents": [a for a in agents if a.id != me.id],
        "agents": agents,
        "teams": list(inbox_team_list()) if can_write else [],
        "canned_replies": canned_replies,
        "can_write": can_write,
        "can_see_dashboard": user_has_role(user, MANAGERS),
        "presence_choices": AgentProfile.Presence.choices,
        "inbox_config": config,
    }
    return render(request, "conversations/inbox.html", context)


def _selected_conversation(user: Any, conversation_id: int | None) -> Conversation | None:
    if conversation_id is None:
        return None
    try:
        return inbox_conversation_get(user=user, conversation_id=conversation_id)
    except Conversation.DoesNotExist:
        raise Http404("No such conversation.") from None


def _me(user: Any, agents: list[AgentPresence]) -> AgentPresence:
    for agent in agents:
        if agent.id == user.pk:
            return agent
    # A manager has no place in the agents' list and no presence of their own.
    return AgentPresence(id=user.pk, name=user_display_name(user), presence=AgentProfile.Presence.OFFLINE)
