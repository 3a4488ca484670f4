from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from teletherapy.errors import error_response
from teletherapy.keyring import CiphertextIntegrityError
from teletherapy.network import client_address

logger = logging.getLogger(__name__)

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
_MEDIA_FEATURES = {"autoplay", "camera", "microphone"}
_DENY_ALL = ", ".join(f"{name}=()" for name in _FEATURES)
_MEDIA_ONLY = ", ".join(f"{name}=(self)" if name in _MEDIA_FEATURES else f"{name}=()" for name in _FEATURES)


def allow_media(view: Callable) -> Callable:
    """Let this view's page use the camera and microphone (Permissions-Policy)."""
    view.allow_media = True  # type: ignore[attr-defined]
    return view


class RequestContextMiddleware:
    """Gives each request an id (echoed as X-Request-ID) and its trusted client address."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = secrets.token_hex(8)  # type: ignore[attr-defined]
        request.client_address = client_address(request)  # type: ignore[attr-defined]
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


class FailClosedMiddleware:
    """Turns an audit write failure or altered ciphertext into a clean refusal.

    The view's own transaction has rolled back by the time we get here, so whatever it was going
    to show is gone; we answer with an error that reveals nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | TemplateResponse | None:
        from audit.models import Action, Outcome
        from audit.services import AuditWriteError, audit_record

        if isinstance(exception, AuditWriteError):
            logger.error("Refused a request because its audit event could not be written: %s", exception)
            return error_response(
                request,
                status=503,
                code="audit_unavailable",
                detail=(
                    "This action could not be recorded in the audit trail, so it was not carried out. "
                    "Please try again shortly."
                ),
            )
        if isinstance(exception, CiphertextIntegrityError):
            logger.error("Encrypted data failed its integrity check: %s", exception.reason)
            user = getattr(request, "user", None)
            try:
                audit_record(
                    action=Action.INTEGRITY_FAILURE,
                    actor=user if user is not None and user.is_authenticated else None,
                    request=request,
                    target_type=getattr(exception, "model_label", "")[:64],
                    target_id=getattr(exception, "object_id", ""),
                    outcome=Outcome.FAILED,
                    details={"field": getattr(exception, "field_name", ""), "reason": exception.reason},
                )
            except AuditWriteError:
                logger.exception("Could not audit an integrity failure")
            return error_response(
                request,
                status=500,
                code="integrity_error",
                detail="Stored data failed its integrity check and was not shown. The practice has been alerted.",
            )
        return None
