"""The widget's one HTTP endpoint: start a chat session. Everything after it happens on the websocket."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from apps.conversations.origins import widget_origin_allowed
from apps.conversations.services import widget_session_start
from apps.conversations.tokens import widget_token_issue


class WidgetSessionSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, trim_whitespace=True)
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class WidgetSessionView(APIView):
    """``POST /api/widget/sessions/``: a visitor's name (and email) in, a token bound to a new conversation out.

    No cookies are involved (the token travels in the websocket URL), so this endpoint needs no CSRF token;
    the Origin check keeps other sites from starting sessions on a desk that does not list them.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "widget_session"

    @extend_schema(
        request=WidgetSessionSerializer,
        responses={
            201: inline_serializer(
                "WidgetSessionCreated",
                {
                    "token": serializers.CharField(),
                    "conversation": serializers.IntegerField(),
                    "customer": inline_serializer("WidgetCustomer", {"name": serializers.CharField()}),
                },
            )
        },
    )
    def post(self, request: Request) -> Response:
        if not widget_origin_allowed(request.headers.get("Origin")):
            return Response(
                {"detail": "This site may not embed the chat widget (HELPDESK_WIDGET_ORIGINS)."},
                status=status.HTTP_403_FORBIDDEN,
            )
        form = WidgetSessionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        conversation = widget_session_start(**form.validated_data)
        return Response(
            {
                "token": widget_token_issue(conversation=conversation),
                "conversation": conversation.pk,
                "customer": {"name": conversation.customer.name},
                "token_max_age": settings.HELPDESK_WIDGET_TOKEN_MAX_AGE,
            },
            status=status.HTTP_201_CREATED,
        )
