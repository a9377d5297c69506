"""HTTP and websockets in one ASGI application, served by Daphne.

Websocket routes come from each app's ``routing.py``, each with its own origin check; every socket gets the
session user on ``scope["user"]``.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
# Django must be set up before anything imports models (consumers, routing).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from helpdesk.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origins are checked per route (helpdesk/routing.py): the widget is embedded on other sites.
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
