"""/api/customers/: customer records for the desk. Agents and the Admin write, managers read; nobody else,
so ML admins see no customer's personal data here."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.permissions import IsAgentOrReadOnlyManager
from apps.customers.models import Customer
from apps.customers.selectors import customer_list
from apps.customers.serializers import (
    CustomerCreateSerializer,
    CustomerFilterSerializer,
    CustomerSerializer,
    CustomerUpdateSerializer,
)
from apps.customers.services import customer_create, customer_update


@extend_schema_view(
    list=extend_schema(summary="List or search customers", parameters=[CustomerFilterSerializer]),
    retrieve=extend_schema(summary="A customer"),
)
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAgentOrReadOnlyManager]
    filter_backends = [OrderingFilter]
    ordering_fields = ["id", "created_at", "updated_at", "name"]
    ordering = ["-created_at", "-id"]

    def get_serializer_class(self) -> type[serializers.Serializer]:
        # The input serializers are named here too so that the browsable API offers their forms.
        by_action = {"create": CustomerCreateSerializer, "partial_update": CustomerUpdateSerializer}
        return by_action.get(self.action, CustomerSerializer)

    def get_queryset(self) -> QuerySet[Customer]:
        if self.action != "list":
            return customer_list()
        filters = CustomerFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return customer_list(query=filters.validated_data.get("q", ""))

    @extend_schema(summary="Add a customer", request=CustomerCreateSerializer, responses={201: CustomerSerializer})
    def create(self, request: Request) -> Response:
        payload = CustomerCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            customer = customer_create(**payload.validated_data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(serializers.as_serializer_error(error)) from error
        return Response(CustomerSerializer(customer).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Change a customer", request=CustomerUpdateSerializer, responses=CustomerSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        customer = self.get_object()
        payload = CustomerUpdateSerializer(instance=customer, data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        try:
            customer_update(customer=customer, **payload.validated_data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(serializers.as_serializer_error(error)) from error
        return Response(CustomerSerializer(customer).data)
