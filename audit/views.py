from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import Role, User
from accounts.rules import role_required
from accounts.types import AuthedRequest
from audit.access_log import record_access_for
from audit.models import Action
from audit.services import audit_denied, audit_record


@role_required(Role.CLIENT, Role.GUARDIAN)
@require_GET
def record_access_view(request: AuthedRequest) -> HttpResponse:
    """Who opened my record (or, for a guardian, the minor's)."""
    user = request.user
    client_id = request.GET.get("client") or str(user.pk)
    people = ([user] if user.has_role(Role.CLIENT) else []) + list(
        User.objects.filter(guardians__guardian=user, chart__is_minor=True).order_by("full_name")
    )
    client = next((p for p in people if str(p.pk) == client_id), None)
    if client is None:
        audit_denied(request=request, target_type="accounts.user", target_id=client_id[:64], reason="not_found")
        raise Http404
    before = request.GET.get("before")
    entries, more = record_access_for(client=client, before=int(before) if before and before.isdigit() else None)
    audit_record(
        action=Action.RECORD_ACCESS_LOG_VIEW, actor=user, request=request, target=client, subject_client_id=client.pk
    )
    context = {"client": client, "people": people, "entries": entries, "more": more, "mine": client.pk == user.pk}
    return render(request, "audit/record_access.html", context)
