"""WebSocket routes."""

from django.urls import path, re_path

from sessions.consumers import NoSuchSocket, SignalingConsumer
from sessions.presence import PresenceConsumer

websocket_urlpatterns = [
    path("ws/sessions/<uuid:appointment_id>/", SignalingConsumer.as_asgi()),
    path("ws/presence/", PresenceConsumer.as_asgi()),
    re_path(r"", NoSuchSocket.as_asgi()),
]
