from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from teletherapy import metrics
from teletherapy.context import AuditContext
from teletherapy.log_redaction import redact
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


# One line per request, and its metrics: method, route pattern, path (secrets redacted), status,
# time taken, and the request id that the audit trail's events of the same request carry (and the
# response's X-Request-ID). Written when LOG_REQUESTS is on; counted always.
request_logger = logging.getLogger("teletherapy.requests")


def route_of(request: HttpRequest) -> str:
    """The pattern the request matched (``charts/<uuid:chart_id>/``), never its path."""
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None)
    return str(route) if route else "unmatched"


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        seconds = time.monotonic() - started
        route = route_of(request)
        metrics.request_done(route, str(request.method), response.status_code, seconds)
        if settings.LOG_REQUESTS:
            path = redact(request.path)
            request_logger.info(
                "%s %s %s %.1fms",
                request.method,
                path,
                response.status_code,
                seconds * 1000,
                extra={
                    "request_id": str(getattr(request, "request_id", "")),
                    "method": request.method,
                    "route": route,
                    "path": path,
                    "status": response.status_code,
                    "ms": round(seconds * 1000, 1),
                },
            )
        return response


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
