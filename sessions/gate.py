"""Who may open a signaling socket. Middleware does not run on WebSockets: every check the
pages rely on (second factor, session lifetime, participant, window, consent) is made here again.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from accounts.login_session import LAST_SEEN_KEY, session_device, session_end_reason
from accounts.models import User
from consent.selectors import consent_missing_for
from sessions.models import Appointment, CheckIn, SessionPolicy
from sessions.policy import join_window, policy_for
from sessions.realtime import CloseCode
from sessions.services import check_in_latest, licensed_in


@dataclass(frozen=True)
class Refusal:
    code: CloseCode
    reason: str
    detail: str
    user: User | None = None
    appointment: Appointment | None = None


@dataclass(frozen=True)
class Entry:
    user: User
    appointment: Appointment
    role: str  # "therapist" or "client"
    policy: SessionPolicy
    check_in: CheckIn | None
    licensed: bool


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def origin_allowed(scope: dict[str, Any]) -> bool:
    """The Origin must be present, name this very host, and the host must be one we serve."""
    headers = _headers(scope)
    origin, host = headers.get("origin", ""), headers.get("host", "")
    if not origin or not host or origin == "null":
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    if not settings.DEBUG and settings.SESSION_COOKIE_SECURE and parts.scheme != "https":
        return False
    if parts.netloc.lower() != host.lower():
        trusted = {o.lower().rstrip("/") for o in settings.CSRF_TRUSTED_ORIGINS}
        if f"{parts.scheme}://{parts.netloc}".lower() not in trusted:
            return False
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


def login_state(session: Any, user: User) -> Refusal | None:
    """None when this login session is still signed in with a second factor; else why not."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Refusal(CloseCode.NOT_SIGNED_IN, "not_signed_in", "Sign in first.")
    if session_device(session, user) is None:
        return Refusal(CloseCode.MFA_REQUIRED, "mfa_required", "Complete the second sign-in step first.", user=user)
    if session_end_reason(session, int(time.time())) is not None:
        return Refusal(CloseCode.SIGNED_OUT, "session_expired", "Your session has ended. Sign in again.", user=user)
    return None


def appointment_for_participant(user: User, appointment_id: uuid.UUID | str) -> tuple[Appointment, str] | None:
    appointment = (
        Appointment.objects.select_related("practice", "therapist")
        .filter(pk=appointment_id, practice_id=user.practice_id)
        .first()
    )
    if appointment is None:
        return None
    if appointment.therapist_id == user.pk:
        return appointment, "therapist"
    if appointment.participants.filter(client=user).exists():
        return appointment, "client"
    return None


def entry_decision(
    *, user: User, session: Any, appointment_id: uuid.UUID | str, check_in_required: bool = True
) -> Refusal | Entry:
    """The one gate to a call: the socket and the ICE endpoint both ask it. The ICE endpoint asks
    before the check-in (the connection test needs TURN first), so only it may skip that step."""
    refusal = login_state(session, user)
    if refusal is not None:
        return refusal
    found = appointment_for_participant(user, appointment_id)
    if found is None:
        return Refusal(CloseCode.NOT_FOUND, "not_found", "There is no such session for you.", user=user)
    appointment, role = found
    policy = policy_for(appointment.practice_id)
    window = join_window(appointment, policy=policy)
    if window.state in ("cancelled", "ended"):
        return Refusal(CloseCode.APPOINTMENT_OVER, window.state, window.message(), user, appointment)
    if not window.is_open:
        return Refusal(CloseCode.OUTSIDE_WINDOW, f"window_{window.state}", window.message(), user, appointment)
    if not consent_missing_for(appointment, user).ready:
        return Refusal(
            CloseCode.CONSENT_MISSING,
            "consent_missing",
            "Consent for this session is missing. Sign it from your consent page first.",
            user,
            appointment,
        )
    check_in = None
    licensed = True
    if role == "client" and check_in_required:
        check_in = check_in_latest(user_id=user.pk, appointment_id=appointment.pk)
        if check_in is None:
            return Refusal(
                CloseCode.CHECK_IN_REQUIRED,
                "check_in_required",
                "Tell us where you are before joining.",
                user,
                appointment,
            )
        licensed = licensed_in(appointment.therapist_id, check_in.location)
        if policy.block_unlicensed_location and not licensed:
            return Refusal(
                CloseCode.LOCATION_BLOCKED,
                "location_blocked",
                "Your therapist is not licensed where you are, and this practice does not hold sessions there.",
                user,
                appointment,
            )
    return Entry(user=user, appointment=appointment, role=role, policy=policy, check_in=check_in, licensed=licensed)


def still_allowed(
    *, user_id: int, session_key: str | None, appointment_id: uuid.UUID | str, activity: bool = True
) -> Refusal | None:
    """Re-checked on the server's own timer (``activity=False``) and on the client's heartbeats,
    which count as activity: a socket outlives nothing that would refuse a new one."""
    from importlib import import_module

    from django.contrib.auth import SESSION_KEY

    if not session_key:
        return Refusal(CloseCode.SIGNED_OUT, "signed_out", "You were signed out.")
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    data = dict(store.items())  # read once: the store keeps it, so recording activity reads nothing more
    user = User.objects.select_related("practice").filter(pk=user_id).first()
    if not data or str(data.get(SESSION_KEY)) != str(user_id) or user is None:
        return Refusal(CloseCode.SIGNED_OUT, "signed_out", "You were signed out.")
    refusal = entry_decision(user=user, session=data, appointment_id=appointment_id)
    if isinstance(refusal, Refusal):
        if refusal.code in (CloseCode.NOT_SIGNED_IN, CloseCode.MFA_REQUIRED):
            return Refusal(CloseCode.SIGNED_OUT, "signed_out", "You were signed out.", user=user)
        return refusal
    if activity:
        # A call is activity: keep the login session from idling out while it lasts.
        store[LAST_SEEN_KEY] = int(time.time())
        store.save()
    return None
