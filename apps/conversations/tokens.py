"""Widget session tokens: signed, unguessable, bound to one conversation and revocable.

A token signs ``{"c": conversation id, "k": the conversation's widget_key}`` with the project's secret key
and a timestamp. It is valid while it is younger than HELPDESK_WIDGET_TOKEN_MAX_AGE and the key still
matches, so replacing ``Conversation.widget_key`` revokes every token of that conversation.
"""

from django.conf import settings
from django.core import signing

from apps.conversations.models import Conversation

_SALT = "helpdesk.widget.session"


class InvalidWidgetToken(Exception):
    """The token was not issued by this desk (tampered, truncated or for another purpose)."""


class ExpiredWidgetToken(Exception):
    """The token was issued here but is too old or revoked."""


def widget_token_issue(*, conversation: Conversation) -> str:
    return signing.dumps({"c": conversation.pk, "k": conversation.widget_key}, salt=_SALT, compress=True)


def widget_token_conversation(*, token: str) -> Conversation:
    """The conversation ``token`` grants access to. Raises InvalidWidgetToken or ExpiredWidgetToken."""
    try:
        claims = signing.loads(token, salt=_SALT, max_age=settings.HELPDESK_WIDGET_TOKEN_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ExpiredWidgetToken("The chat session has expired.") from exc
    except signing.BadSignature as exc:
        raise InvalidWidgetToken("The chat session token is not valid.") from exc
    if not isinstance(claims, dict) or not isinstance(claims.get("c"), int):
        raise InvalidWidgetToken("The chat session token is not valid.")
    conversation = Conversation.objects.filter(pk=claims["c"]).select_related("customer").first()
    if conversation is None or conversation.widget_key != claims.get("k"):
        raise ExpiredWidgetToken("The chat session was revoked.")
    return conversation
