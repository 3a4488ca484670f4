"""Where an audited act came from, whatever carried it: a page or API request, a socket, a task,
a management command. Built once at the edge (RequestContextMiddleware, the socket's scope, the
task or command itself) and handed to the audit trail instead of an HTTP request."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from teletherapy.network import client_address


@dataclass(frozen=True)
class AuditContext:
    address: str | None = None
    user_agent: str = ""
    request_id: str = ""
    channel: str = "web"  # web, socket, task, command
    path: str = ""

    @classmethod
    def of_request(cls, request: HttpRequest) -> AuditContext:
        return cls(
            address=getattr(request, "client_address", None) or client_address(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:256],
            request_id=str(getattr(request, "request_id", ""))[:64],
            channel="web",
            path=request.path[:200],
        )

    @classmethod
    def of_scope(cls, scope: dict[str, Any]) -> AuditContext:
        client = scope.get("client") or (None, None)
        headers = dict(scope.get("headers", []))
        return cls(
            address=client[0],
            user_agent=headers.get(b"user-agent", b"").decode("latin-1")[:256],
            request_id=secrets.token_hex(8),
            channel="socket",
            path=str(scope.get("path", ""))[:200],
        )

    @classmethod
    def background(cls, channel: str, name: str) -> AuditContext:
        """A Celery task (``channel="task"``) or a management command (``"command"``)."""
        return cls(request_id=secrets.token_hex(8), channel=channel, path=name[:200])


def context_of(source: HttpRequest | AuditContext | None) -> AuditContext | None:
    """The context of an act: given as such, or the one the middleware attached to the request."""
    if source is None or isinstance(source, AuditContext):
        return source
    attached = getattr(source, "audit_context", None)
    return attached if isinstance(attached, AuditContext) else AuditContext.of_request(source)
