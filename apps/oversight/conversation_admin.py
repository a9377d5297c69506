"""The conversation admin as a team lead uses it: the conversations app's own admin, extended here (as the
privacy app extends the customer admin) so that the chat does not depend on oversight. It adds the reviews
panel with "Review this conversation", and "Reassign selected conversations…"."""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join

from apps.accounts.permissions import user_has_role
from apps.accounts.roles import MANAGERS
from apps.accounts.selectors import agent_user_list
from apps.conversations.admin import ConversationAdmin
from apps.conversations.bulk import conversations_reassign
from apps.conversations.models import Conversation
from apps.oversight.selectors import conversation_review_panel
from helpdesk.admin_base import bulk_action_form_page

admin.site.unregister(Conversation)


class ConversationReassignForm(forms.Form):
    agent = forms.ModelChoiceField(queryset=get_user_model().objects.none())

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = agent_user_list()


@admin.register(Conversation)
class LeadConversationAdmin(ConversationAdmin):
    fieldsets = (*ConversationAdmin.fieldsets, ("Reviews", {"fields": ("reviews_display",)}))
    readonly_fields = (*ConversationAdmin.readonly_fields, "reviews_display")
    actions = (*ConversationAdmin.actions, "reassign_conversations")

    def has_lead_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, MANAGERS)

    def get_object(self, request: HttpRequest, object_id: str, from_field=None) -> Conversation | None:
        conversation = super().get_object(request, object_id, from_field)
        if conversation is not None:
            # Which reviews and links the page shows depend on the user; a display method only gets the object.
            conversation.review_panel = conversation_review_panel(conversation=conversation, user=request.user)
        return conversation

    @admin.display(description="reviews")
    def reviews_display(self, conversation: Conversation) -> str:
        panel = getattr(conversation, "review_panel", None)
        if panel is None:
            return ""
        lines = format_html_join(
            "",
            '<li><a href="{}">{}</a> by {} on {}</li>',
            (
                (
                    reverse("admin:oversight_conversationreview_change", args=[review.pk]),
                    f"{review.score:.2f}",
                    review.reviewer or "(deleted user)",
                    formats.localize(timezone.localtime(review.updated_at)),
                )
                for review in panel.reviews
            ),
        )
        listed = format_html("<ul>{}</ul>", lines) if panel.reviews else "Not reviewed"
        if not panel.may_review:
            return listed
        url = reverse("admin:oversight_conversationreview_review", args=[conversation.pk])
        return format_html('{}<p><a class="button" href="{}">Review this conversation</a></p>', listed, url)

    @admin.action(description="Reassign selected conversations…", permissions=["lead"])
    def reassign_conversations(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> TemplateResponse | None:
        form = ConversationReassignForm(request.POST if request.POST.get("apply") == "yes" else None)
        if not form.is_valid():
            intro = f"Reassign {queryset.count()} conversation(s): to whom? Closed ones and those with the bot stay."
            return bulk_action_form_page(
                self,
                request,
                action="reassign_conversations",
                form=form,
                items=list(queryset),
                intro=intro,
                submit="Reassign",
            )
        agent = form.cleaned_data["agent"]
        moved = conversations_reassign(conversations=queryset, agent=agent, actor=request.user)
        self.message_user(request, f"{len(moved)} conversation(s) reassigned to {agent}.")
        return None
