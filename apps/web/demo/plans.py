"""The records a planned conversation is made of; dialogues.py writes them, history.py stores them."""

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractUser

from apps.accounts.models import Team
from apps.customers.models import Customer


@dataclass
class PlannedMessage:
    role: str
    text: str
    at: datetime
    author: AbstractUser | None = None
    intent: str = ""
    intent_confidence: float | None = None
    escalate: bool = False
    decision: str = ""
    decision_reason: str = ""


@dataclass
class PlannedTicket:
    subject: str
    description: str
    priority: str
    team: Team
    intent: str
    status: str
    created_at: datetime
    assignee: AbstractUser | None = None
    assigned_at: datetime | None = None
    first_response_at: datetime | None = None
    pending_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None


@dataclass
class PlannedSurvey:
    rating: int
    comment: str
    at: datetime


@dataclass
class PlannedConversation:
    customer: Customer
    channel: str
    state: str
    intent: str
    messages: list[PlannedMessage] = field(default_factory=list)
    team: Team | None = None
    assignee: AbstractUser | None = None
    handoff_requested_at: datetime | None = None
    first_agent_response_at: datetime | None = None
    closed_at: datetime | None = None
    ticket: PlannedTicket | None = None
    survey: PlannedSurvey | None = None

    @property
    def started_at(self) -> datetime:
        return self.messages[0].at

    @property
    def last_activity_at(self) -> datetime:
        return max(self.closed_at or self.messages[-1].at, self.messages[-1].at)

    def shift(self, delta: timedelta) -> None:
        """Move every moment of the conversation, its ticket and survey by ``delta``."""
        for record in (self, *self.messages, self.ticket, self.survey):
            for attribute in fields(record) if record is not None else ():
                value = getattr(record, attribute.name)
                if isinstance(value, datetime):
                    setattr(record, attribute.name, value + delta)
