from __future__ import annotations

import sys

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from teletherapy.errors import database_unavailable, error_response, report_denial
from teletherapy.markers import mfa_exempt


@mfa_exempt
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return error_response(
        request,
        status=403,
        code="csrf_failed",
        detail="This form has expired or came from another site. Go back, reload the page and try again.",
    )


def _caused_by_the_database(exception: BaseException | None) -> bool:
    """A session that could not be saved because the database went away (Django reports it as
    an interrupted session, a 400) is the database's fault, not the request's."""
    while exception is not None:
        if isinstance(exception, DatabaseError):
            return True
        exception = exception.__cause__ or exception.__context__
    return False


@mfa_exempt
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _caused_by_the_database(exception):
        return database_unavailable(request)
    return error_response(request, status=400, code="bad_request", detail="The request could not be understood.")


@mfa_exempt
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    report_denial(request, reason="role")
    return error_response(request, status=403, code="permission_denied", detail="You do not have access to this.")


@mfa_exempt
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, status=404, code="not_found", detail="There is nothing here.")


@mfa_exempt
def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while it handles the exception: a database that went away (restarted,
    # unreachable) anywhere in the request, middleware included, is a 503 to retry, not a fault.
    if isinstance(sys.exc_info()[1], DatabaseError):
        return database_unavailable(request)
    return error_response(
        request,
        status=500,
        code="server_error",
        detail="Something went wrong on our side. Nothing was shown or changed.",
    )


@mfa_exempt
def health(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. It touches nothing else (no database, no Redis), so an outage
    of a part never gets a healthy process restarted; readiness is ``/healthz/ready`` (home.health)."""
    return HttpResponse("ok", content_type="text/plain")
