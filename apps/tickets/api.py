"""/api/tickets/: agents and the Admin work tickets through tickets.services, managers read them."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.permissions import IsAgentOrReadOnlyManager
from apps.accounts.selectors import work_scope
from apps.tickets.models import Ticket
from apps.tickets.selectors import ticket_list, ticket_list_with_history
from apps.tickets.serializers import (
    TicketCreateSerializer,
    TicketDetailSerializer,
    TicketFilterSerializer,
    TicketSerializer,
    TicketUpdateSerializer,
)
from apps.tickets.services import ticket_create, ticket_update


@extend_schema_view(
    list=extend_schema(summary="List tickets", parameters=[TicketFilterSerializer]),
    retrieve=extend_schema(summary="A ticket with its change history"),
)
class TicketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAgentOrReadOnlyManager]
    filter_backends = [OrderingFilter]
    # Priority is left out: its values sort alphabetically, not by urgency.
    ordering_fields = ["id", "created_at", "updated_at", "first_response_due_at", "resolution_due_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[Ticket]:
        if getattr(self, "swagger_fake_view", False):
            return Ticket.objects.none()  # drf-spectacular reads the model's id type; there is no user to scope
        scope = work_scope(user=self.request.user).q()
        if self.action != "list":
            return ticket_list_with_history().filter(scope)
        filters = TicketFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return ticket_list().filter(scope, **filters.validated_data)

    def get_serializer_class(self) -> type[serializers.Serializer]:
        # The input serializers are named here too so that the browsable API offers their forms.
        by_action = {
            "list": TicketSerializer,
            "create": TicketCreateSerializer,
            "partial_update": TicketUpdateSerializer,
        }
        return by_action.get(self.action, TicketDetailSerializer)

    @extend_schema(summary="Open a ticket", request=TicketCreateSerializer, responses={201: TicketDetailSerializer})
    def create(self, request: Request) -> Response:
        payload = TicketCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            ticket = ticket_create(**payload.validated_data, actor=request.user)
        except DjangoValidationError as error:
            raise serializers.ValidationError(serializers.as_serializer_error(error)) from error
        return Response(self._detail(ticket), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a ticket",
        description="Every field that really changes writes one audit row with you as the actor.",
        request=TicketUpdateSerializer,
        responses=TicketDetailSerializer,
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        ticket = self.get_object()
        payload = TicketUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            ticket_update(ticket=ticket, actor=request.user, **payload.validated_data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(serializers.as_serializer_error(error)) from error
        return Response(self._detail(ticket))

    @staticmethod
    def _detail(ticket: Ticket) -> dict:
        return TicketDetailSerializer(ticket_list_with_history().get(pk=ticket.pk)).data
