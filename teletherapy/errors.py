"""One error channel for the whole platform.

Services and access functions raise a ``ServiceError``; the API's exception handler and the page
middleware turn it into a response (JSON ``{"code", "detail"}`` for the API, a plain page for
people). A refusal (``NotVisible``, ``NotAllowed``, or the framework's own 403/404) is reported once
per request to the hooks registered in ``teletherapy.hooks.denials``, which is how the audit trail records it
without this bottom layer importing the audit app.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse

from teletherapy.hooks import denials

logger = logging.getLogger(__name__)

# The status of the codes services share; any other code is a 400. The one table for every app.
_STATUS_OF_CODE = {
    "not_allowed": 403,
    "permission_denied": 403,
    "not_found": 404,
    "location_blocked": 403,
    "conflict": 409,
    "stale_version": 409,
    "signed": 409,
    "not_signed": 409,
    "completed": 409,
    "not_needed": 409,
    "published_immutable": 409,
    "not_draft": 409,
    "already_withdrawn": 409,
}


class ServiceError(Exception):
    """A request that cannot be carried out, with a stable code, a readable message and a status.

    A 403 or 404 is a refusal: it is audited once, as ``access.denied``.
    """

    status = 400
    code = "invalid"
    target_type = ""
    target_id = ""
    reason = ""

    def __init__(
        self, message: str, *, code: str | None = None, field: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
            self.status = _STATUS_OF_CODE.get(code, self.status)
        if status is not None:
            self.status = status
        self.field = field

    @property
    def is_refusal(self) -> bool:
        return self.status in (403, 404)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "detail": self.message}
        if self.field:
            body["fields"] = {self.field: [self.message]}
        return body


class Conflict(ServiceError):
    """The record moved on (stale edit, already signed, already withdrawn): 409."""

    status = 409
    code = "conflict"


class Denial(ServiceError):
    """A refusal: audited once as ``access.denied`` naming what was asked for."""

    def __init__(
        self,
        message: str,
        *,
        target_type: str = "",
        target_id: object = "",
        reason: str = "",
        code: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, code=code, field=field, status=type(self).status)
        self.target_type = target_type
        self.target_id = str(target_id)[:64] if target_id is not None else ""
        self.reason = reason or self.code


class NotVisible(Denial):
    """The asker may not know the target exists: 404."""

    status = 404
    code = "not_found"

    def __init__(self, target_type: str = "", target_id: object = "", message: str = "There is nothing here.") -> None:
        super().__init__(message, target_type=target_type, target_id=target_id, reason="not_found")


class NotAllowed(Denial):
    """The asker may see the target but not do this to it: 403."""

    status = 403
    code = "not_allowed"


# Denial hooks -----------------------------------------------------------------------------

_REPORTED = "_denial_reported"


def report_denial(request: HttpRequest, *, target_type: str = "", target_id: object = "", reason: str = "") -> None:
    """Tell the hooks a request was refused, unless this request's refusal was already told."""
    if getattr(request, _REPORTED, False):
        return
    setattr(request, _REPORTED, True)
    for hook in denials:
        hook(request, target_type=target_type, target_id=str(target_id)[:64], reason=reason)


def report_error(request: HttpRequest, error: ServiceError) -> None:
    if error.is_refusal:
        report_denial(
            request, target_type=error.target_type, target_id=error.target_id, reason=error.reason or error.code
        )


def error_text(request: HttpRequest, error: ServiceError) -> str:
    """What a page shows for an error it handles itself (a form message); a refusal among them is
    still audited, once."""
    report_error(request, error)
    return error.message


# Responses ---------------------------------------------------------------------------------


def wants_json(request: HttpRequest) -> bool:
    """An API path, or a request that asks for JSON or sends it (a page's script), is answered in JSON."""
    return (
        request.path.startswith("/api/")
        or "application/json" in request.headers.get("Accept", "")
        or request.content_type == "application/json"
    )


def error_response(request: HttpRequest, *, status: int, code: str, detail: str) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"code": code, "detail": detail}, status=status)
    response = TemplateResponse(
        request, "error.html", {"status": status, "code": code, "detail": detail}, status=status
    )
    return response.render()


def service_error_response(request: HttpRequest, error: ServiceError) -> HttpResponse:
    report_error(request, error)
    if wants_json(request):
        return JsonResponse(error.body(), status=error.status)
    return error_response(request, status=error.status, code=error.code, detail=error.message)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The database could not be reached or failed mid-request: nothing was shown or changed (the
    request's transaction, and its audit event, rolled back together). Retry shortly."""
    logger.error("Answered 503: the database is unavailable", exc_info=True)
    detail = "The service is briefly unavailable. Nothing was shown or changed; please try again in a moment."
    if wants_json(request):
        response: HttpResponse = JsonResponse({"code": "database_unavailable", "detail": detail}, status=503)
    else:
        # No template, context processor or session: each of them would need the database.
        response = HttpResponse(
            "<!doctype html><html lang=en><meta charset=utf-8><title>Briefly unavailable</title>"
            f"<main><h1>Briefly unavailable</h1><p>{detail}</p></main></html>",
            status=503,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = "5"
    response["Cache-Control"] = "no-store"
    return response
