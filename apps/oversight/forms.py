"""The rubric form of the admin's review page: a 1-5 choice per active criterion and a comment."""

from django import forms

from apps.oversight.models import ConversationReview, ReviewCriterion

SCORE_CHOICES = [(score, str(score)) for score in range(ConversationReview.MIN_SCORE, ConversationReview.MAX_SCORE + 1)]


def _field_name(criterion: ReviewCriterion) -> str:
    return f"criterion_{criterion.pk}"


class ReviewForm(forms.Form):
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 80}))

    def __init__(self, *args, criteria: list[ReviewCriterion], review: ConversationReview | None = None, **kwargs):
        if review is not None:
            # Prefilled with the reviewer's earlier review: its comment and the scores of criteria still asked.
            initial = {"comment": review.comment}
            initial.update({f"criterion_{score.criterion_id}": score.score for score in review.scores.all()})
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.criteria = criteria
        for criterion in criteria:
            self.fields[_field_name(criterion)] = forms.TypedChoiceField(
                label=criterion.name,
                help_text=criterion.description,
                choices=SCORE_CHOICES,
                coerce=int,
                widget=forms.RadioSelect,
            )
        # The comment last, under the scores.
        self.order_fields([*(_field_name(c) for c in criteria), "comment"])

    @property
    def scores(self) -> dict[int, int]:
        """{criterion id: score}; call after is_valid()."""
        return {criterion.pk: self.cleaned_data[_field_name(criterion)] for criterion in self.criteria}

    @property
    def criterion_fields(self) -> list[forms.BoundField]:
        return [self[_field_name(criterion)] for criterion in self.criteria]
