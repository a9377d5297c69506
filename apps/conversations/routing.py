from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from apps.conversations.consumers import InboxConsumer, WidgetConsumer
from apps.conversations.origins import WidgetOriginValidator

websocket_urlpatterns = [
    # The widget lives on the customers' sites: their origins are allowed by HELPDESK_WIDGET_ORIGINS.
    path("ws/widget/", WidgetOriginValidator(WidgetConsumer.as_asgi())),
    # The inbox is the desk's own page: only its own hosts.
    path("ws/inbox/", AllowedHostsOriginValidator(InboxConsumer.as_asgi())),
]
