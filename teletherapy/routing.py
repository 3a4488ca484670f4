"""WebSocket routes. The video sessions app adds its signaling consumer here."""

websocket_urlpatterns: list = []
