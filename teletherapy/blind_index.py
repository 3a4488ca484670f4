"""Blind indexes: equality-only lookup tokens for sealed values (a chart's date of birth), so a
value can be found without the database ever holding it readable."""

from __future__ import annotations

import hashlib
import hmac

from teletherapy.keyring import keyring


def blind_index(value: str) -> str:
    """An equality-only lookup token: HMAC under the index key, tagged with that key's id."""
    key = keyring().current("index")
    digest = hmac.new(key.secret, value.strip().lower().encode(), hashlib.sha256).hexdigest()
    return f"{key.key_id}:{digest[:40]}"
