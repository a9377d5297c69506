"""Every websocket route of the project, gathered from the apps that speak websockets (their routing.py).

Each route carries its own origin check: the widget's allows the customers' sites, the inbox only the
desk's own hosts, and so does the admin's floor.
"""

from apps.conversations.routing import websocket_urlpatterns as conversation_websocket_urlpatterns
from apps.oversight.routing import websocket_urlpatterns as oversight_websocket_urlpatterns

websocket_urlpatterns = [*conversation_websocket_urlpatterns, *oversight_websocket_urlpatterns]
