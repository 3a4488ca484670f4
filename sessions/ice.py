"""ICE servers for a participant: STUN from settings, TURN with short-lived credentials.

The TURN credential follows the shared-secret scheme of coturn's ``use-auth-secret``: the
user name is ``<expiry unix time>:<opaque id>`` and the password is
``base64(HMAC-SHA1(secret, user name))``. coturn recomputes it, so no per-user state exists
anywhere, and a leaked credential stops working when the session's join window closes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from sessions.models import Appointment, SessionPolicy

MIN_TTL = timedelta(minutes=5)


def turn_credential(*, secret: str, expires_at: datetime, label: str | None = None) -> tuple[str, str]:
    username = f"{int(expires_at.timestamp())}:{label or secrets.token_hex(8)}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def credential_expiry(appointment: Appointment, policy: SessionPolicy, now: datetime) -> datetime:
    """At most the session's length from now, and never past the end of the join window."""
    length = appointment.ends_at - appointment.starts_at
    window_closes = appointment.ends_at + timedelta(minutes=policy.join_after_minutes)
    return max(min(now + length, window_closes), now + MIN_TTL)


def ice_config(
    *, appointment: Appointment | None, policy: SessionPolicy, now: datetime | None = None
) -> dict[str, Any]:
    """What a browser passes to ``new RTCPeerConnection()``.

    Without an appointment (the connection test) the credential lasts 10 minutes.
    """
    now = now or timezone.now()
    servers: list[dict[str, Any]] = []
    if settings.ICE_STUN_URLS:
        servers.append({"urls": list(settings.ICE_STUN_URLS)})
    expires_at = credential_expiry(appointment, policy, now) if appointment else now + timedelta(minutes=10)
    if settings.ICE_TURN_URLS and settings.TURN_SHARED_SECRET:
        username, credential = turn_credential(secret=settings.TURN_SHARED_SECRET, expires_at=expires_at)
        servers.append({"urls": list(settings.ICE_TURN_URLS), "username": username, "credential": credential})
    return {
        "iceServers": servers,
        "iceTransportPolicy": "relay" if policy.relay_only else "all",
        "expiresAt": expires_at.isoformat(),
    }
