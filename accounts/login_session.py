"""What a login session holds and how long it lasts: read by the middleware, the MFA services
and the signalling socket alike, so it sits below all of them."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.conf import settings

from accounts.selectors import device_for_persistent_id

DEVICE_SESSION_KEY = "otp_device_id"
AUTH_AT_KEY = "auth_at"
LAST_SEEN_KEY = "last_seen"
# The account (pk) this browser session may enroll a first second factor for: set when it
# accepted the account's invitation, or opened a link sent to the account's e-mail address.
ENROLL_GRANT_KEY = "enroll_grant"


def grant_enrollment(session: Any, user: Any) -> None:
    session[ENROLL_GRANT_KEY] = user.pk


def may_enroll(session: Any, user: Any) -> bool:
    return session is not None and session.get(ENROLL_GRANT_KEY) == user.pk


def practice_zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def session_device(session: Any, user: Any) -> Any:
    """The confirmed second-factor device this login session was verified with, or None."""
    persistent_id = session.get(DEVICE_SESSION_KEY) if session is not None else None
    device = device_for_persistent_id(persistent_id) if persistent_id else None
    if device is None or device.user_id != user.pk or not device.confirmed:
        return None
    return device


def session_end_reason(session: Any, now: int) -> str | None:
    """ "absolute" or "idle" when this login session has outlived its lifetime or sat unused."""
    auth_at = int(session.get(AUTH_AT_KEY, now))
    last_seen = int(session.get(LAST_SEEN_KEY, now))
    if now - auth_at > settings.SESSION_ABSOLUTE_LIFETIME_SECONDS:
        return "absolute"
    if now - last_seen > settings.SESSION_IDLE_TIMEOUT_SECONDS:
        return "idle"
    return None
