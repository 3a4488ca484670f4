"""The key ring: versioned keys for field encryption and the audit chain.

Keys never live in the database. They come from the environment (``FIELD_ENCRYPTION_KEYS``,
``PSYCHOTHERAPY_ENCRYPTION_KEYS``, ``AUDIT_HMAC_KEYS``, ``BLIND_INDEX_KEYS``,
``AUDIT_SIGNING_KEYS`` holding Ed25519 seeds, and ``BACKUP_ENCRYPTION_KEYS`` for backups; each
``id:base64key[,id:base64key...]`` with the current key first, or the same names with ``_FILE``),
or from a JSON key file (``KEYRING_FILE``).
The embedded default writes a local key file on first run.

Sealed values look like ``tt1:<key id>:<base64(nonce || ciphertext+tag)>``; the key id lets
old values be read after a rotation, and the associated data binds each value to the row and
field it belongs to, so a ciphertext copied elsewhere fails to open.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PURPOSES = ("field", "psychotherapy", "audit", "index", "signing", "backup")
ENV_NAMES = {
    "field": "FIELD_ENCRYPTION_KEYS",
    "psychotherapy": "PSYCHOTHERAPY_ENCRYPTION_KEYS",
    "audit": "AUDIT_HMAC_KEYS",
    "index": "BLIND_INDEX_KEYS",
    "signing": "AUDIT_SIGNING_KEYS",
    "backup": "BACKUP_ENCRYPTION_KEYS",
}
# Needed only by the processes that use them: the backup key by `backup` and `restore` (it may
# be given to them alone), the signing key by the signer.
OPTIONAL_PURPOSES = ("backup",)
TOKEN_PREFIX = "tt1"  # noqa: S105 - a format marker, not a secret
NONCE_BYTES = 12
KEY_BYTES = 32


class KeyRingError(ImproperlyConfigured):
    pass


class CiphertextIntegrityError(Exception):
    """A sealed value failed authentication: it was altered, moved or sealed under another key."""

    def __init__(self, reason: str, *, aad: bytes = b"") -> None:
        super().__init__(reason)
        self.reason = reason
        self.aad = aad


@dataclass(frozen=True)
class Key:
    key_id: str
    secret: bytes


def _decode_key(key_id: str, encoded: str) -> Key:
    if not key_id or ":" in key_id or len(key_id) > 32:
        raise KeyRingError(f"Key id {key_id!r} must be 1-32 characters without ':'.")
    try:
        secret = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyRingError(f"Key {key_id!r} is not valid base64.") from exc
    if len(secret) != KEY_BYTES:
        raise KeyRingError(f"Key {key_id!r} must be {KEY_BYTES} bytes, not {len(secret)}.")
    return Key(key_id=key_id, secret=secret)


def parse_key_list(raw: str) -> list[dict[str, str]]:
    """Parse ``id:base64,id:base64`` into the JSON shape the key file uses."""
    entries = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        if not sep:
            raise KeyRingError("Keys are written as id:base64key, separated by commas.")
        entries.append({"id": key_id.strip(), "key": encoded.strip()})
    return entries


def _new_key_entry(purpose: str) -> dict[str, str]:
    return {"id": f"{purpose[:3]}1", "key": base64.b64encode(secrets.token_bytes(32)).decode()}


def generate_key_file(path: Path) -> dict[str, list[dict[str, str]]]:
    data = {purpose: [_new_key_entry(purpose)] for purpose in PURPOSES}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    print(
        f"Generated a local key file at {path}. It holds the keys that encrypt clinical data: "
        "back it up apart from the database, and never commit it.",
        file=sys.stderr,
    )
    return data


def complete_local_key_file(path: Path) -> dict[str, list[dict[str, str]]]:
    """Add keys for purposes a local key file from an older version lacks (embedded default only)."""
    data = load_key_file(path)
    missing = [purpose for purpose in PURPOSES if not data.get(purpose)]
    if missing:
        for purpose in missing:
            data[purpose] = [_new_key_entry(purpose)]
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
        os.replace(tmp, path)
        print(f"Added {', '.join(missing)} keys to the local key file {path}.", file=sys.stderr)
    return data


def load_key_file(path: Path) -> dict[str, list[dict[str, str]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KeyRingError(f"Cannot read key file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise KeyRingError(f"Key file {path} must hold a JSON object.")
    return data


class KeyRing:
    def __init__(self, config: dict[str, list[dict[str, str]]]) -> None:
        self._keys: dict[str, list[Key]] = {}
        # The public halves of signing keys kept on another host (a separate signer): with them
        # this process verifies checkpoints but cannot sign one.
        self.signing_public: dict[str, bytes] = {}
        for entry in config.get("signing_public") or []:
            public = _decode_key(str(entry.get("id", "")), str(entry.get("key", "")))
            self.signing_public[public.key_id] = public.secret
        for purpose in PURPOSES:
            entries = config.get(purpose) or []
            if not entries and (purpose in OPTIONAL_PURPOSES or (purpose == "signing" and self.signing_public)):
                self._keys[purpose] = []
                continue
            if not entries:
                raise KeyRingError(f"The key ring has no {purpose!r} key ({ENV_NAMES[purpose]}).")
            keys = [_decode_key(str(e.get("id", "")), str(e.get("key", ""))) for e in entries]
            if len({k.key_id for k in keys}) != len(keys):
                raise KeyRingError(f"Duplicate key ids among the {purpose!r} keys.")
            self._keys[purpose] = keys
        # One cipher object per key, by (purpose, key id): building it costs more than sealing a
        # small value.
        self._ciphers: dict[tuple[str, str], AESGCM] = {}

    def _cipher(self, purpose: str, key_id: str) -> AESGCM | None:
        cipher = self._ciphers.get((purpose, key_id))
        if cipher is None:
            key = self.get(purpose, key_id)
            if key is None:
                return None
            cipher = self._ciphers[(purpose, key_id)] = AESGCM(key.secret)
        return cipher

    def current(self, purpose: str) -> Key:
        if not self._keys[purpose]:
            raise KeyRingError(
                f"This process holds no {purpose!r} key: set {ENV_NAMES[purpose]}"
                + (" (or leave checkpoints to the separate signer)." if purpose == "signing" else ".")
            )
        return self._keys[purpose][0]

    def has(self, purpose: str) -> bool:
        return bool(self._keys[purpose])

    def get(self, purpose: str, key_id: str) -> Key | None:
        for key in self._keys[purpose]:
            if key.key_id == key_id:
                return key
        return None

    def seal(self, plaintext: str, *, purpose: str, aad: bytes) -> str:
        key = self.current(purpose)
        nonce = secrets.token_bytes(NONCE_BYTES)
        cipher = self._cipher(purpose, key.key_id)
        assert cipher is not None  # the current key is always on the ring
        sealed = cipher.encrypt(nonce, plaintext.encode("utf-8"), aad)
        body = base64.b64encode(nonce + sealed).decode("ascii")
        return f"{TOKEN_PREFIX}:{key.key_id}:{body}"

    def unseal(self, token: str, *, purpose: str, aad: bytes) -> str:
        parts = token.split(":", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
            raise CiphertextIntegrityError("not a sealed value", aad=aad)
        _, key_id, body = parts
        cipher = self._cipher(purpose, key_id)
        if cipher is None:
            raise CiphertextIntegrityError(f"unknown key id {key_id!r}", aad=aad)
        try:
            raw = binascii.a2b_base64(body, strict_mode=True)
            plaintext = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
        except (binascii.Error, ValueError, InvalidTag) as exc:
            raise CiphertextIntegrityError("authentication failed", aad=aad) from exc
        return plaintext.decode("utf-8")

    def key_id_of(self, token: str) -> str:
        return token.split(":", 2)[1] if token.count(":") >= 2 else ""


@cache
def keyring() -> KeyRing:
    return KeyRing(settings.KEYRING)


def reset_keyring_cache() -> None:
    keyring.cache_clear()
