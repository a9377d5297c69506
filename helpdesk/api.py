"""The /api/ router: each app's api.py registers its viewsets here.

helpdesk/urls.py mounts ``api_urlpatterns`` (the router and the token endpoint) under /api/.
"""

from django.urls import path
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import DefaultRouter
from rest_framework.throttling import AnonRateThrottle

from apps.conversations.api import ConversationViewSet
from apps.conversations.widget_api import WidgetSessionView
from apps.customers.api import CustomerViewSet
from apps.privacy.api import CustomerEraseView, CustomerExportView
from apps.recommendations.api import CustomerRecommendationsView, InteractionCreateView
from apps.reports.api import ReportViewSet
from apps.tickets.api import TicketViewSet

api_router = DefaultRouter()
api_router.register("tickets", TicketViewSet, basename="ticket")
api_router.register("conversations", ConversationViewSet, basename="conversation")
api_router.register("customers", CustomerViewSet, basename="customer")
api_router.register("reports", ReportViewSet, basename="report")

api_urlpatterns = [
    # POST username and password, get {"token": ...} for "Authorization: Token <key>". Callers are
    # anonymous by nature, so the anon rate (REST_FRAMEWORK's DEFAULT_THROTTLE_RATES) limits password guessing.
    path("auth/token/", ObtainAuthToken.as_view(throttle_classes=[AnonRateThrottle]), name="api-token"),
    # The customer widget starts its chat here (anonymous, origin-checked, rate-limited).
    path("widget/sessions/", WidgetSessionView.as_view(), name="widget-session"),
    path("customers/<int:pk>/export/", CustomerExportView.as_view(), name="customer-export"),
    path("customers/<int:pk>/erase/", CustomerEraseView.as_view(), name="customer-erase"),
    path("customers/<int:pk>/recommendations/", CustomerRecommendationsView.as_view(), name="customer-recommendations"),
    path("interactions/", InteractionCreateView.as_view(), name="interaction-create"),
    *api_router.urls,
]
