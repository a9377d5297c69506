"""Conversation reviews in the admin. Team leads (Managers) edit the rubric and review conversations on a page of
their own (the transcript's timeline beside the rubric form); agents read the reviews of themselves only."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import truncatechars
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.conversations.models import Conversation
from apps.oversight import conversation_admin  # noqa: F401  (registers the lead's conversation admin)
from apps.oversight.forms import ReviewForm
from apps.oversight.models import ConversationReview, ReviewCriterion, ReviewScore
from apps.oversight.selectors import (
    conversation_handled_by,
    conversation_timeline,
    criteria_active,
    review_list_visible_to,
    review_of,
    reviewer_allowed,
)
from apps.oversight.services import conversation_review_delete, conversation_review_submit
from helpdesk.admin_base import ReadOnlyTabularInline

REVIEW_URL_NAME = "oversight_conversationreview_review"


def review_url(conversation_id: int) -> str:
    return reverse(f"admin:{REVIEW_URL_NAME}", args=[conversation_id])


@admin.register(ReviewCriterion)
class ReviewCriterionAdmin(admin.ModelAdmin):
    list_display = ("name", "position", "is_active", "short_description")
    list_editable = ("position", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "description")
    ordering = ("position", "name")

    @admin.display(description="description")
    def short_description(self, criterion: ReviewCriterion) -> str:
        return truncatechars(criterion.description, 100)


class ReviewScoreInline(ReadOnlyTabularInline):
    model = ReviewScore
    fields = ("criterion", "score")
    readonly_fields = fields

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        # The scores are part of the review: whoever may see the review (get_queryset decides) sees them.
        return True


@admin.register(ConversationReview)
class ConversationReviewAdmin(admin.ModelAdmin):
    """Read-only lists and pages: a review is written through the review page (conversation_review_submit)."""

    list_display = ("id", "conversation", "agent", "team", "reviewer", "score_shown", "created_at")
    list_filter = ("team", ("agent", admin.RelatedOnlyFieldListFilter), "created_at")
    date_hierarchy = "created_at"
    inlines = (ReviewScoreInline,)
    fields = ("conversation_link", "agent", "team", "reviewer", "score_shown", "comment", "created_at", "updated_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ConversationReview]:
        return review_list_visible_to(user=request.user)

    def get_object(self, request: HttpRequest, object_id: str, from_field=None) -> ConversationReview:
        # Django redirects to the index for an object outside get_queryset; a 404 says the same without a hint.
        review = super().get_object(request, object_id, from_field)
        if review is None:
            raise Http404("No such review.")
        return review

    def get_fields(self, request: HttpRequest, obj: ConversationReview | None = None):
        return (*self.fields, "review_again") if reviewer_allowed(user=request.user) else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: ConversationReview | None = None):
        return self.get_fields(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: ConversationReview) -> None:
        conversation_review_delete(review=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ConversationReview]) -> None:
        for review in queryset:
            conversation_review_delete(review=review, actor=request.user)

    @admin.display(description="score", ordering="score")
    def score_shown(self, review: ConversationReview) -> str:
        return f"{review.score:.2f}"

    @admin.display(description="conversation")
    def conversation_link(self, review: ConversationReview) -> str:
        url = reverse("admin:conversations_conversation_change", args=[review.conversation_id])
        return format_html('<a href="{}">{}</a>', url, review.conversation)

    @admin.display(description="review")
    def review_again(self, review: ConversationReview) -> str:
        return format_html('<a href="{}">Open the review page</a>', review_url(review.conversation_id))

    # --- the review page ---

    def get_urls(self):
        review = self.admin_site.admin_view(self.review_view)
        return [path("review/<int:conversation_id>/", review, name=REVIEW_URL_NAME), *super().get_urls()]

    def review_view(self, request: HttpRequest, conversation_id: int) -> HttpResponse:
        """The conversation's timeline and the rubric form, prefilled with the user's earlier review."""
        if not reviewer_allowed(user=request.user):
            raise PermissionDenied("Only team leads (Managers) and the Admin review conversations.")
        conversation = get_object_or_404(
            Conversation.objects.select_related("customer", "team", "assignee", "ticket"), pk=conversation_id
        )
        form = ReviewForm(
            request.POST if request.method == "POST" else None,
            criteria=criteria_active(),
            review=review_of(conversation=conversation, reviewer=request.user),
        )
        if form.is_bound and form.is_valid():
            try:
                review = conversation_review_submit(
                    conversation=conversation,
                    reviewer=request.user,
                    scores=form.scores,
                    comment=form.cleaned_data["comment"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(request, f"Review saved: {review.score:.2f} of 5.", messages.SUCCESS)
                return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Review {conversation}",
            "opts": self.model._meta,
            "conversation": conversation,
            "timeline": conversation_timeline(conversation=conversation),
            "form": form,
            "handled_by_you": conversation_handled_by(conversation=conversation, user=request.user),
        }
        return TemplateResponse(request, "admin/oversight/conversationreview/review.html", context)
