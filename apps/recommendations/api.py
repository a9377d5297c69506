"""The recommendations over HTTP.

- ``GET /api/customers/{id}/recommendations/``: what to show a customer (the host site, agents, managers, or
  the customer's own widget with ``Authorization: Widget <token>``: a token reaches only its own customer).
- ``POST /api/interactions/``: the host site records article views, "this helped" answers, product views and
  purchases (a user holding the "Can add interaction" permission, e.g. the host site's API user, or the Admin).
"""

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import user_has_role
from apps.accounts.roles import AGENTS, MANAGERS
from apps.conversations.tokens import ExpiredWidgetToken, InvalidWidgetToken, widget_token_conversation
from apps.customers.models import Customer
from apps.recommendations.models import Interaction
from apps.recommendations.services import interaction_record, recommendations_shown
from apps.recommendations.serving import recommendations_for

MAX_K = 20


class WidgetTokenAuthentication(BaseAuthentication):
    """``Authorization: Widget <token>``: the chat widget's session token; ``request.auth`` is its conversation
    and ``request.user`` stays anonymous (a customer is not a staff user)."""

    keyword = b"widget"

    def authenticate(self, request: Request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization: Widget <token>, one token.")
        try:
            conversation = widget_token_conversation(token=header[1].decode())
        except (InvalidWidgetToken, ExpiredWidgetToken, UnicodeDecodeError) as error:
            raise exceptions.AuthenticationFailed(str(error)) from error
        return AnonymousUser(), conversation

    def authenticate_header(self, request: Request) -> str:
        return "Widget"


class WidgetTokenScheme(OpenApiAuthenticationExtension):
    target_class = WidgetTokenAuthentication
    name = "widgetToken"

    def get_security_definition(self, auto_schema) -> dict:
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Widget <chat session token>"}


class CustomerOrStaff(BasePermission):
    """Agents, managers and the Admin; or a widget token, for its own customer only (checked in the view)."""

    def has_permission(self, request: Request, view) -> bool:
        return hasattr(request.auth, "customer_id") or user_has_role(request.user, AGENTS, MANAGERS)


class RecommendationQuerySerializer(serializers.Serializer):
    intent = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    k = serializers.IntegerField(required=False, min_value=1, max_value=MAX_K, default=5)
    shown = serializers.BooleanField(required=False, default=False)


RECOMMENDATION_FIELDS = (
    "Recommendation",
    {
        "item": serializers.CharField(),
        "kind": serializers.ChoiceField(["article", "product"]),
        "title": serializers.CharField(),
        "url": serializers.CharField(),
        "summary": serializers.CharField(),
        "why": serializers.ChoiceField(["for you", "related", "popular"]),
    },
)


class CustomerRecommendationsView(APIView):
    authentication_classes = [WidgetTokenAuthentication, *APIView.authentication_classes]
    permission_classes = [CustomerOrStaff]

    @extend_schema(
        summary="What to show a customer next (articles and products)",
        parameters=[
            RecommendationQuerySerializer,
            OpenApiParameter(
                "Authorization",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Token <staff token>, or Widget <chat session token>",
            ),
        ],
        responses={
            200: inline_serializer(
                "Recommendations",
                {
                    "customer": serializers.IntegerField(),
                    "recommendations": inline_serializer(*RECOMMENDATION_FIELDS, many=True),
                },
            )
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        conversation = request.auth if hasattr(request.auth, "customer_id") else None
        if conversation is not None and conversation.customer_id != pk:
            # Another customer's recommendations would tell what they read and bought: as if they did not exist.
            raise exceptions.NotFound("No such customer.")
        customer = get_object_or_404(Customer, pk=pk, erased_at__isnull=True)
        query = RecommendationQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = recommendations_for(
            customer=customer, intent=query.validated_data["intent"], k=query.validated_data["k"]
        )
        if query.validated_data["shown"] or conversation is not None:
            source = Interaction.Source.WIDGET if conversation is not None else Interaction.Source.HOST
            recommendations_shown(
                customer=customer, items=[r.item for r in found], source=source, conversation=conversation
            )
        rows = [
            {"item": r.item, "kind": r.kind, "title": r.title, "url": r.url, "summary": r.summary, "why": r.why}
            for r in found
        ]
        return Response({"customer": customer.pk, "recommendations": rows})


class CanRecordInteractions(BasePermission):
    def has_permission(self, request: Request, view) -> bool:
        return bool(
            request.user and request.user.is_authenticated and request.user.has_perm("recommendations.add_interaction")
        )


class InteractionSerializer(serializers.Serializer):
    customer = serializers.IntegerField(required=False, help_text="The desk's customer id.")
    customer_external_id = serializers.CharField(required=False, max_length=100, help_text="Or the host site's id.")
    item = serializers.CharField(max_length=220, help_text="article:12, article:<slug>, product:7 or product:<slug>")
    action = serializers.ChoiceField([a for a in Interaction.Action.values if a not in ("shown", "sent")])
    occurred_at = serializers.DateTimeField(required=False)
    external_id = serializers.CharField(required=False, max_length=100, help_text="Records a retried event once.")

    def validate(self, attrs: dict) -> dict:
        if ("customer" in attrs) == ("customer_external_id" in attrs):
            raise serializers.ValidationError("Give either customer or customer_external_id.")
        return attrs


class InteractionCreateView(APIView):
    permission_classes = [CanRecordInteractions]

    @extend_schema(
        summary="Record what a customer did with an article or a product",
        request=InteractionSerializer,
        responses={201: dict, 200: dict},
    )
    def post(self, request: Request) -> Response:
        form = InteractionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        lookup = {"pk": data["customer"]} if "customer" in data else {"external_id": data["customer_external_id"]}
        customer = Customer.objects.filter(**lookup, erased_at__isnull=True).first()
        if customer is None:
            raise serializers.ValidationError({"customer": "No such customer."})
        try:
            interaction, created = interaction_record(
                customer=customer,
                item=data["item"],
                action=data["action"],
                source=Interaction.Source.HOST,
                external_id=data.get("external_id"),
                occurred_at=data.get("occurred_at"),
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError({"item": error.messages}) from error
        body = {"id": interaction.pk, "item": interaction.item_key, "action": interaction.action, "created": created}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
