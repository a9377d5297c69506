"""The page an e-mailed survey link opens: the chosen rating, a comment, one confirm button (a POST)."""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from apps.conversations.models import SatisfactionSurvey
from apps.conversations.services import survey_submit
from apps.conversations.surveys import SurveyLinkInvalid, survey_token_read


class SurveyForm(forms.Form):
    rating = forms.TypedChoiceField(choices=[(n, str(n)) for n in range(1, 6)], coerce=int, widget=forms.RadioSelect)
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))


@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    try:
        conversation = survey_token_read(token)
    except SurveyLinkInvalid as error:
        return render(request, "conversations/survey.html", {"error": str(error)}, status=400)
    previous = SatisfactionSurvey.objects.filter(conversation=conversation).first()
    if request.method == "POST":
        form = SurveyForm(request.POST)
        if form.is_valid():
            survey_submit(conversation=conversation, **form.cleaned_data)
            return render(request, "conversations/survey.html", {"thanks": True, "conversation": conversation})
        return render(request, "conversations/survey.html", {"form": form, "conversation": conversation}, status=400)
    chosen = request.GET.get("rating") or (previous.rating if previous else None)
    comment = previous.comment if previous else ""
    form = SurveyForm(initial={"rating": chosen, "comment": comment})
    context = {"form": form, "conversation": conversation, "previous": previous}
    return render(request, "conversations/survey.html", context)
