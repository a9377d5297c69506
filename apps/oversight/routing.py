from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from apps.oversight.consumers import FloorConsumer

websocket_urlpatterns = [
    # The floor is an admin page of the desk's own: only its own hosts.
    path("ws/floor/", AllowedHostsOriginValidator(FloorConsumer.as_asgi())),
]
