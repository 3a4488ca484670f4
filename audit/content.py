"""What an audit event says, canonically, and its MAC: shared by the writer and the verifier."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC
from typing import Any

from audit.canonical import CONTENT_FIELDS, canonical_bytes
from audit.models import AuditEvent

_SECRET_KEY_PATTERN = re.compile(r"pass|secret|token|key|otp|code|cookie|session|auth|csrf", re.I)


MASK = "***"


MAX_DETAIL_VALUE = 200


MAX_DETAIL_ITEMS = 20


def mask_details(details: dict[str, Any] | None) -> dict[str, Any]:
    """Keep details small and scalar, and mask anything whose name looks like a secret."""
    clean: dict[str, Any] = {}
    for key, value in list((details or {}).items())[:MAX_DETAIL_ITEMS]:
        key = str(key)[:64]
        if _SECRET_KEY_PATTERN.search(key):
            clean[key] = MASK
        elif value is None or isinstance(value, bool | int | float):
            clean[key] = value
        else:
            clean[key] = str(value)[:MAX_DETAIL_VALUE]
    return clean


def event_content(event: AuditEvent) -> dict[str, Any]:
    content = {
        "chain": event.chain,
        "seq": event.seq,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "subject_client_id": event.subject_client_id,
        "practice_id": event.practice_id,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "outcome": event.outcome,
        "flagged": event.flagged,
        "details": event.details,
        "key_id": event.key_id,
        "prev_mac": event.prev_mac,
    }
    assert tuple(sorted(content)) == tuple(sorted(CONTENT_FIELDS))
    return content


def canonical_content(event: AuditEvent) -> bytes:
    return canonical_bytes(event_content(event))


def compute_mac(event: AuditEvent, *, secret: bytes) -> str:
    return hmac.new(secret, canonical_content(event), hashlib.sha256).hexdigest()
