"""The satisfaction survey by e-mail, for conversations that became tickets: a signed link per rating.

The link carries the conversation and its widget key, signed; rotating the key revokes it like a widget token.
Opening a link shows the rating chosen, ready to confirm with an optional comment: mail scanners open every
link in a message, so a GET never records anything. One answer per conversation; a second updates it.
"""

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.urls import reverse

from apps.conversations.models import Conversation

SALT = "helpdesk.survey"
MAX_AGE = 30 * 24 * 3600  # a month to answer


class SurveyLinkInvalid(ValueError):
    """A survey link that is malformed, expired or revoked; the message says which."""


def survey_token_issue(*, conversation: Conversation) -> str:
    return signing.dumps({"c": conversation.pk, "k": conversation.widget_key}, salt=SALT, compress=True)


def survey_token_read(token: str) -> Conversation:
    try:
        claims = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.SignatureExpired as error:
        raise SurveyLinkInvalid("This survey link has expired.") from error
    except signing.BadSignature as error:
        raise SurveyLinkInvalid("This survey link is not valid.") from error
    conversation = Conversation.objects.select_related("customer").filter(pk=claims.get("c")).first()
    if conversation is None or conversation.widget_key != claims.get("k"):
        raise SurveyLinkInvalid("This survey link is no longer valid.")
    return conversation


def survey_links(*, conversation: Conversation, base_url: str) -> dict[int, str]:
    path = reverse("survey", args=[survey_token_issue(conversation=conversation)])
    return {rating: f"{base_url.rstrip('/')}{path}?rating={rating}" for rating in range(1, 6)}


def survey_email_send(*, conversation_id: int) -> bool:
    """Mail the survey to the customer of a resolved conversation that became a ticket (run by a Celery task).
    Returns whether a mail went out (no address, or not a ticket: nothing to send)."""
    conversation = Conversation.objects.select_related("customer", "ticket").get(pk=conversation_id)
    email = conversation.customer.email
    if not email or (conversation.ticket_id is None and not conversation.reply_by_email):
        return False
    links = survey_links(conversation=conversation, base_url=settings.HELPDESK_PUBLIC_URL)
    lines = [f"  {rating} {'★' * rating}{'☆' * (5 - rating)}  {url}" for rating, url in links.items()]
    send_mail(
        subject=f"How did we do? Your conversation #{conversation.pk}",
        message="Your conversation with us was resolved. How satisfied are you? One click:\n\n"
        + "\n".join(lines)
        + "\n\n1 = very dissatisfied, 5 = very satisfied. You can add a comment on the page.\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )
    return True
