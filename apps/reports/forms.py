"""The report pages' GET filter form: what a manager (or an agent, about themselves) narrows the figures to."""

from datetime import date, timedelta

from django import forms
from django.utils import timezone

from apps.conversations.models import Conversation
from apps.reports.filter_choices import report_agent_choices, report_intent_choices, report_team_choices
from apps.reports.selectors import Dimension, LeaderboardSort, Period, ReportFilters

DEFAULT_DAYS = 30
ANY = ("", "Any")


class DateInput(forms.DateInput):
    input_type = "date"


class ReportFilterForm(forms.Form):
    """Bound to request.GET. A page opened without dates shows the last DEFAULT_DAYS days; a date sent empty
    means no bound. ``with_agent`` offers the agent filter (the managers' dashboard); ``dimensions`` the
    breakdowns offered."""

    date_from = forms.DateField(required=False, widget=DateInput, label="From")
    date_to = forms.DateField(required=False, widget=DateInput, label="To")
    team = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    agent = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    intent = forms.ChoiceField(required=False)
    channel = forms.ChoiceField(required=False, choices=[ANY, *Conversation.Channel.choices])
    period = forms.ChoiceField(required=False, choices=Period.choices, label="Per")
    by = forms.ChoiceField(required=False, label="Breakdown by")
    sort = forms.ChoiceField(required=False, choices=LeaderboardSort.choices, widget=forms.HiddenInput)
    order = forms.ChoiceField(required=False, choices=[("desc", "desc"), ("asc", "asc")], widget=forms.HiddenInput)

    def __init__(self, data, *, with_agent: bool, dimensions: list[str]) -> None:
        data = data.copy()
        today = timezone.localdate()
        # Absent (a first visit) is not the same as sent empty (the user cleared the field: no bound).
        data.setdefault("date_from", (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat())
        data.setdefault("date_to", today.isoformat())
        # The choices in effect are shown selected and carried by every link (CSV, sorting).
        data.setdefault("period", Period.WEEK)
        data.setdefault("by", dimensions[0])
        super().__init__(data)
        self.fields["team"].choices = [ANY, *report_team_choices()]
        self.fields["intent"].choices = [ANY, *((intent, intent) for intent in report_intent_choices())]
        self.fields["by"].choices = [(value, label) for value, label in Dimension.choices if value in dimensions]
        self.dimensions = dimensions
        if with_agent:
            self.fields["agent"].choices = [ANY, *report_agent_choices()]
        else:
            del self.fields["agent"]

    def _value(self, name: str, default=None):
        """The cleaned value, or ``default`` when the field is absent, empty or invalid (its error is shown)."""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        value = self.cleaned_data.get(name)
        return default if value in (None, "") else value

    def report_filters(self, *, agent_id: int | None = None) -> ReportFilters:
        """The filters; ``agent_id`` restricts them to one agent whatever the form says."""
        date_from: date | None = self._value("date_from")
        date_to: date | None = self._value("date_to")
        return ReportFilters(
            date_from=date_from,
            date_to=date_to,
            team_id=self._value("team"),
            agent_id=agent_id if agent_id is not None else self._value("agent"),
            intent=self._value("intent"),
            channel=self._value("channel"),
        )

    @property
    def chosen_period(self) -> str:
        return self._value("period", Period.WEEK)

    @property
    def chosen_dimension(self) -> str:
        return self._value("by", self.dimensions[0])

    @property
    def chosen_sort(self) -> str:
        return self._value("sort", LeaderboardSort.CONVERSATIONS)

    @property
    def sort_descending(self) -> bool:
        return self._value("order", "desc") == "desc"
