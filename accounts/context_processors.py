from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from accounts.models import Role
from accounts.rules import is_mfa_verified


def navigation(request: HttpRequest) -> dict[str, Any]:
    verified = is_mfa_verified(request)
    user = getattr(request, "user", None)
    nav: list[tuple[str, str]] = []
    if verified and user is not None:
        nav.append(("home:dashboard", "Home"))
        nav.append(("sessions:list", "Sessions"))
        if user.has_role(Role.CLIENT, Role.GUARDIAN):
            nav.append(("records:portal", "My record"))
            nav.append(("audit:record_access", "Who opened it"))
            nav.append(("consent:mine", "Consent"))
        if user.has_role(Role.THERAPIST, Role.ADMIN):
            nav.append(("records:charts", "Charts"))
        if user.has_role(Role.THERAPIST):
            nav.append(("consent:caseload", "Client consent"))
        if user.has_role(Role.ADMIN, Role.THERAPIST):
            nav.append(("accounts:invitations", "Invitations"))
        if user.has_role(Role.THERAPIST):
            nav.append(("training:mine", "Training"))
        if user.has_role(Role.ADMIN):
            nav.append(("accounts:members", "Members"))
            nav.append(("consent:documents", "Consent documents"))
            nav.append(("audit:console", "Audit log"))
            nav.append(("audit:flags", "Alerts"))
            nav.append(("sessions:policy", "Session settings"))
            nav.append(("safeguards:overview", "Safeguards"))
        nav.append(("incidents:list", "Incidents" if user.has_role(Role.ADMIN) else "Report a concern"))
        nav.append(("accounts:security", "Security"))
    return {
        "nav_items": nav,
        "mfa_verified": verified,
        "presence": bool(verified and user is not None and user.has_role(Role.THERAPIST)),
        "idle_timeout_seconds": settings.SESSION_IDLE_TIMEOUT_SECONDS,
        "idle_warning_seconds": settings.SESSION_IDLE_WARNING_SECONDS,
    }
