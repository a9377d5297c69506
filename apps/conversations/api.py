"""/api/conversations/ and their messages: agents and the Admin reply and write notes, managers read."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.permissions import IsAgentOrReadOnlyManager
from apps.accounts.selectors import work_scope
from apps.conversations.models import Conversation, Message
from apps.conversations.selectors import conversation_list, message_list
from apps.conversations.serializers import (
    ConversationFilterSerializer,
    ConversationSerializer,
    MessageListFilterSerializer,
    MessagePostSerializer,
    MessageSerializer,
)
from apps.conversations.services import agent_message_post


@extend_schema_view(
    list=extend_schema(summary="List conversations", parameters=[ConversationFilterSerializer]),
    retrieve=extend_schema(summary="A conversation"),
)
class ConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAgentOrReadOnlyManager]
    serializer_class = ConversationSerializer
    filter_backends = [OrderingFilter]
    ordering_fields = ["id", "created_at", "updated_at", "last_message_at", "handoff_requested_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[Conversation]:
        if getattr(self, "swagger_fake_view", False):
            return Conversation.objects.none()  # drf-spectacular reads the model's id type; there is no user to scope
        # An agent's scope: their teams' conversations, unrouted ones and theirs; another's is a 404.
        scoped = conversation_list().filter(work_scope(user=self.request.user).q())
        if self.action != "list":
            return scoped
        filters = ConversationFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return scoped.filter(**filters.validated_data)

    @extend_schema(
        methods=["GET"],
        summary="Messages in seq order",
        description="Private notes included. Resume with after_seq set to the last seq you hold.",
        parameters=[MessageListFilterSerializer],
        responses=MessageSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Reply or write a private note",
        description="201 when stored; 200 with the stored message when its client_id was already sent.",
        request=MessagePostSerializer,
        responses={200: MessageSerializer, 201: MessageSerializer},
    )
    # The ordering of conversations means nothing for messages, which always come in seq order. The
    # serializer_class is the browsable API's form.
    @action(detail=True, methods=["get", "post"], filter_backends=[], serializer_class=MessagePostSerializer)
    def messages(self, request: Request, pk: str) -> Response:
        conversation = self.get_object()
        if request.method == "POST":
            return self._message_post(request, conversation)
        cursor = MessageListFilterSerializer(data=request.query_params)
        cursor.is_valid(raise_exception=True)
        messages = message_list(conversation=conversation, after_seq=cursor.validated_data["after_seq"])
        page = self.paginate_queryset(messages.select_related("author"))
        return self.get_paginated_response(MessageSerializer(page, many=True).data)

    def _message_post(self, request: Request, conversation: Conversation) -> Response:
        payload = MessagePostSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            # The same service as the inbox's socket: assigns a waiting conversation, broadcasts on commit.
            posted = agent_message_post(
                conversation=conversation,
                agent=request.user,
                text=payload.validated_data["text"],
                client_id=payload.validated_data.get("client_id"),
                note=payload.validated_data["role"] == Message.Role.NOTE,
                suggestion=payload.validated_data.get("suggestion") or None,
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError(serializers.as_serializer_error(error)) from error
        stored_now = status.HTTP_201_CREATED if posted.created else status.HTTP_200_OK
        return Response(MessageSerializer(posted.message).data, status=stored_now)
