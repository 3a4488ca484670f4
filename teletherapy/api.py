"""The API's one exception handler: every error is ``{"code", "detail"}`` (plus ``fields``)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from teletherapy.errors import ServiceError, report_denial, report_error

_CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid",
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
}


def sentences(errors: Any, where: str = "") -> list[str]:
    """A field's errors as the schema says: a list of sentences. DRF nests the errors of a list's
    items and of a nested object ({"0": [...]}, {"name": [...]}); each is said with where it is."""
    if isinstance(errors, dict):
        out: list[str] = []
        for key, inner in errors.items():
            place = f"item {int(key) + 1}" if str(key).isdigit() else str(key)
            out += sentences(inner, f"{where}{place}: ")
        return out
    if isinstance(errors, list | tuple):
        return [sentence for error in errors for sentence in sentences(error, where)]
    return [f"{where}{errors}"]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    request = context.get("request")
    django_request = getattr(request, "_request", None)
    if isinstance(exc, ServiceError):
        if django_request is not None:
            report_error(django_request, exc)
        return Response(exc.body(), status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        flat = {str(name): sentences(errors) for name, errors in fields.items()}
        response.data = {"code": "invalid", "detail": "Some fields are not valid.", "fields": flat}
        return response
    if isinstance(exc, exceptions.PermissionDenied | exceptions.NotFound) and django_request is not None:
        report_denial(django_request, reason=type(exc).__name__)
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else str(response.data)
    code = getattr(detail, "code", None) or _CODES.get(response.status_code, "error")
    if code in ("not_authenticated", "authentication_failed"):
        response.status_code = status.HTTP_403_FORBIDDEN
    response.data = {"code": str(code), "detail": str(detail)}
    return response
