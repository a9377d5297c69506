"""Every websocket route of the project, gathered from the apps that speak websockets (their routing.py).

The live-chat issue adds ``apps.conversations.routing`` (``/ws/widget/`` and ``/ws/inbox/``).
"""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
