from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from teletherapy.context import AuditContext
from teletherapy.markers import allow_media as allow_media  # views import it from here
from teletherapy.network import client_address

# Features no page needs. The video page (and only it) is marked with allow_media.
_FEATURES = (
    "accelerometer",
    "autoplay",
    "camera",
    "display-capture",
    "geolocation",
    "gyroscope",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "usb",
)
_MEDIA_FEATURES = {"autoplay", "camera", "display-capture", "microphone"}  # screen share in a call
_DENY_ALL = ", ".join(f"{name}=()" for name in _FEATURES)
_MEDIA_ONLY = ", ".join(f"{name}=(self)" if name in _MEDIA_FEATURES else f"{name}=()" for name in _FEATURES)


class RequestContextMiddleware:
    """Gives each request an id (echoed as X-Request-ID) and its trusted client address."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = secrets.token_hex(8)  # type: ignore[attr-defined]
        request.client_address = client_address(request)  # type: ignore[attr-defined]
        request.audit_context = AuditContext.of_request(request)  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.allow_media = False  # type: ignore[attr-defined]
        response = self.get_response(request)
        media = getattr(request, "allow_media", False)
        response["Permissions-Policy"] = _MEDIA_ONLY if media else _DENY_ALL
        if not request.path.startswith(settings.STATIC_URL):
            # Nothing a signed-in person sees may stay in a shared computer's cache.
            response["Cache-Control"] = "no-store, max-age=0"
            response["Pragma"] = "no-cache"
        response.setdefault("Referrer-Policy", "same-origin")
        response.setdefault("X-Content-Type-Options", "nosniff")
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response

    def process_view(self, request: HttpRequest, view_func: Callable, args: tuple, kwargs: dict) -> None:
        if getattr(view_func, "allow_media", False):
            request.allow_media = True  # type: ignore[attr-defined]
