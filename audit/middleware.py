"""Request middleware of the audit layer: refusals, audit failures and altered data become clean
answers, each audited the same way for pages and the API."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from audit.models import Action, Outcome
from audit.services import AuditWriteError, audit_record
from teletherapy.context import context_of
from teletherapy.errors import ServiceError, database_unavailable, error_response, service_error_response
from teletherapy.keyring import CiphertextIntegrityError

logger = logging.getLogger(__name__)


class FailClosedMiddleware:
    """Turns a service error into its page, and an audit write failure or altered ciphertext into a
    clean refusal.

    The view's own transaction has rolled back by the time we get here, so whatever it was going
    to show is gone; we answer with an error that reveals nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | TemplateResponse | None:
        if isinstance(exception, ServiceError):
            return service_error_response(request, exception)
        if isinstance(exception, AuditWriteError):
            if exception.database_away:
                # Not the audit trail's own failure: the database went away under the request
                # (a restart, a failover), and everything else the request needed went with it.
                return database_unavailable(request)
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
        if isinstance(exception, DatabaseError):
            return database_unavailable(request)
        if isinstance(exception, CiphertextIntegrityError):
            logger.error("Encrypted data failed its integrity check: %s", exception.reason)
            user = getattr(request, "user", None)
            try:
                audit_record(
                    action=Action.INTEGRITY_FAILURE,
                    actor=user if user is not None and user.is_authenticated else None,
                    context=context_of(request),
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


def write_denial(request: HttpRequest, *, target_type: str = "", target_id: str = "", reason: str = "") -> None:
    """The denial hook: the refusal stands even if its event cannot be written."""
    user = getattr(request, "user", None)
    actor = user if user is not None and user.is_authenticated else None
    try:
        with transaction.atomic():
            audit_record(
                action=Action.ACCESS_DENIED,
                actor=actor,
                context=context_of(request),
                target_type=target_type,
                target_id=target_id,
                outcome=Outcome.DENIED,
                details={"path": request.path[:200], "reason": reason},
            )
    except AuditWriteError:
        logger.exception("Could not audit a refused access")
