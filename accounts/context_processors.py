from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import LIVE_ROLES, Role
from accounts.rules import is_mfa_verified
from accounts.selectors import practice_logo_header


def _under(path: str, url: str) -> bool:
    """Whether the page shown is the item's, or one under it."""
    return path == url or (url != "/" and path.startswith(url) and not url.endswith("/mine/"))


def _placed(request: HttpRequest, items: list[tuple[str, str]]) -> list[tuple[str, str, str, bool]]:
    """Each item with its address, and one current at most: of the items the page is under, the
    most specific (Settings at /sessions/policy/, not Sessions as well)."""
    urls = [reverse(name) for name, _ in items]
    matching = [url for url in urls if _under(request.path, url)]
    current = max(matching, key=len) if matching else None
    return [(name, label, url, url == current) for (name, label), url in zip(items, urls, strict=True)]


# Staff see their pages grouped by task (a sidebar on a desktop); clients and guardians a few.
GROUPS = {
    "home:dashboard": "Today",
    "sessions:list": "Today",
    "sessions:availability": "Today",
    "records:charts": "Clients",
    "messaging:list": "Clients",
    "consent:caseload": "Clients",
    "accounts:members": "Practice",
    "accounts:invitations": "Practice",
    "sessions:requests": "Practice",
    "billing:home": "Practice",
    "records:services": "Practice",
    "consent:documents": "Practice",
    "sessions:policy": "Practice",
    "audit:console": "Compliance",
    "safeguards:overview": "Compliance",
    "incidents:list": "Compliance",
    "training:mine": "Compliance",
    "accounts:security": "You",
}
GROUP_ORDER = ("Today", "Clients", "Practice", "Compliance", "You")
# Clients and guardians on a phone: these four as tabs at the foot of the screen, the rest
# under More.
TABS = {"home:dashboard": "home", "sessions:list": "calendar", "messaging:list": "chat", "records:portal": "record"}


def _grouped(items: list[tuple[str, str, str, bool]]) -> list[tuple[str, list[tuple[str, str, str, bool]]]]:
    groups: dict[str, list[tuple[str, str, str, bool]]] = {name: [] for name in GROUP_ORDER}
    for item in items:
        groups[GROUPS.get(item[0], "You")].append(item)
    return [(name, found) for name, found in groups.items() if found]


def navigation(request: HttpRequest) -> dict[str, Any]:
    verified = is_mfa_verified(request)
    user = getattr(request, "user", None)
    nav: list[tuple[str, str]] = []
    staff = bool(verified and user is not None and user.has_role(Role.THERAPIST, Role.ADMIN))
    if verified and user is not None:
        nav.append(("home:dashboard", "Home"))
        nav.append(("sessions:list", "Sessions"))
        if user.has_role(Role.CLIENT, Role.GUARDIAN):
            nav.append(("messaging:list", "Messages"))
            nav.append(("records:portal", "My record"))
            nav.append(("audit:record_access", "Who opened it"))
            nav.append(("consent:mine", "Consent"))
        if user.has_role(Role.THERAPIST, Role.ADMIN):
            nav.append(("records:charts", "Charts"))
        if user.has_role(Role.THERAPIST):
            if not user.has_role(Role.CLIENT, Role.GUARDIAN):
                nav.append(("messaging:list", "Messages"))
            nav.append(("consent:caseload", "Client consent"))
            nav.append(("sessions:availability", "Availability"))
            # An admin (a therapist who is one too) invites from Members; the audit log leads to its alerts.
            if not user.has_role(Role.ADMIN):
                nav.append(("accounts:invitations", "Invitations"))
            nav.append(("training:mine", "Training"))
        if user.has_role(Role.ADMIN):
            nav.append(("accounts:members", "Members"))
            nav.append(("sessions:requests", "Requests"))
            nav.append(("billing:home", "Billing"))
            nav.append(("records:services", "Fees"))
            nav.append(("consent:documents", "Consent forms"))
            nav.append(("audit:console", "Audit log"))
            nav.append(("sessions:policy", "Settings"))
            nav.append(("safeguards:overview", "Safeguards"))
        nav.append(("incidents:list", "Incidents" if user.has_role(Role.ADMIN) else "Report a concern"))
        nav.append(("accounts:security", "Security"))
    items = _placed(request, nav)
    portal = bool(items) and not staff
    tabs = [(*item, TABS[item[0]]) for item in items if item[0] in TABS] if portal else []
    more = [item for item in items if item[0] not in TABS] if portal else []
    return {
        "tab_items": tabs,
        "more_items": more,
        "more_current": any(item[3] for item in more),
        "nav_items": items,
        "nav_groups": _grouped(items) if staff else [("", items)] if items else [],
        "staff_layout": staff,
        "mfa_verified": verified,
        "practice_logo": practice_logo_header(practice_id=user.practice_id) if verified and user is not None else None,
        "presence": bool(verified and user is not None and user.has_role(Role.THERAPIST)),
        "live": bool(verified and user is not None and any(user.has_role(r) for r in LIVE_ROLES)),
        "idle_timeout_seconds": settings.SESSION_IDLE_TIMEOUT_SECONDS,
        "idle_warning_seconds": settings.SESSION_IDLE_WARNING_SECONDS,
    }
