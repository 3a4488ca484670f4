"""The canonical form of an audit event and the public digest chain.

This module uses only the standard library, so the standalone verifier can share it: whoever
checks an exported log computes exactly what the platform computed when it wrote it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64
CONTENT_FIELDS = (
    "chain", "seq", "occurred_at", "actor_id", "actor_role", "action", "target_type", "target_id",
    "subject_client_id", "practice_id", "ip_address", "user_agent", "request_id", "outcome", "flagged",
    "details", "key_id", "prev_mac",
)  # fmt: skip


def _reference(content: dict[str, Any]) -> bytes:
    """The definition: sorted keys, no spaces, ASCII only."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _fast_encoder() -> Any:
    """The same encoding without building an encoder per call (it is most of the cost of checking
    a million events). Used only if it gives exactly the reference bytes."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    try:
        fast = make(None, encoder.default, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, True)
        sample = {"b": [1, 2.5, None, True], "a": '\u00e9"\n', "c": {"z": False, "y": -3}}
        if "".join(fast(sample, 0)).encode() != _reference(sample):
            return None
    except TypeError:  # another signature in another Python
        return None
    return fast


_FAST = _fast_encoder()


def canonical_bytes(content: dict[str, Any]) -> bytes:
    if _FAST is not None:
        return "".join(_FAST(content, 0)).encode()
    return _reference(content)


def next_digest(previous_digest: str, content: dict[str, Any], mac: str) -> str:
    """SHA-256 over the previous digest, the event and its MAC: checkable with no secret at all."""
    return digest_of(previous_digest, canonical_bytes(content), mac)


def digest_of(previous_digest: str, body: bytes, mac: str) -> str:
    """``next_digest`` over an event already in canonical form."""
    return hashlib.sha256(previous_digest.encode() + body + mac.encode()).hexdigest()
