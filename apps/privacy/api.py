"""GDPR over the API: ``GET /api/customers/{id}/export/`` (Managers and the Admin) returns everything held about
the customer; ``POST /api/customers/{id}/erase/`` (the Admin only) erases them. Both are audited."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsManager
from apps.customers.models import Customer
from apps.privacy.services import customer_erase, customer_export


class IsAdminRole(BasePermission):
    """The Admin role: an active superuser."""

    def has_permission(self, request: Request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_superuser)


def _client_ip(request: Request) -> str | None:
    return request.META.get("REMOTE_ADDR")


class CustomerExportView(APIView):
    permission_classes = [IsManager]

    @extend_schema(summary="Everything held about a customer (GDPR export)", responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        customer = get_object_or_404(Customer, pk=pk)
        document = customer_export(customer=customer, actor=request.user, ip_address=_client_ip(request))
        headers = {"Content-Disposition": f'attachment; filename="customer-{customer.pk}.json"'}
        return Response(document, headers=headers)


class CustomerEraseView(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(
        summary="Erase a customer (GDPR); aggregate figures are kept",
        request=None,
        responses={200: OpenApiResponse(description="What was erased: counts per kind of record")},
    )
    def post(self, request: Request, pk: int) -> Response:
        customer = get_object_or_404(Customer, pk=pk)
        summary = customer_erase(customer=customer, actor=request.user, ip_address=_client_ip(request))
        return Response(summary.as_dict())
