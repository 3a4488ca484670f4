"""Signed checkpoints of each chain's head (Ed25519 from the key ring)."""

from __future__ import annotations

import base64
import json
from datetime import UTC

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.db import transaction
from django.utils import timezone

from audit.models import AuditChainHead, AuditCheckpoint
from teletherapy.keyring import KeyRingError, keyring


def _private_key(key_id: str | None = None) -> tuple[str, Ed25519PrivateKey]:
    ring = keyring()
    key = ring.current("signing") if key_id is None else ring.get("signing", key_id)
    if key is None:
        raise LookupError(f"no signing key {key_id!r}")
    return key.key_id, Ed25519PrivateKey.from_private_bytes(key.secret)


def verifying_key(key_id: str | None = None) -> Ed25519PublicKey:
    """The key that verifies checkpoints: from the signing key if this process holds it, else
    from its public half (AUDIT_SIGNING_PUBLIC_KEYS, where a separate signer holds the key)."""
    ring = keyring()
    if key_id is None and ring.signing_public and not ring.has("signing"):
        key_id = next(iter(ring.signing_public))
    if key_id is not None and key_id in ring.signing_public:
        return Ed25519PublicKey.from_public_bytes(ring.signing_public[key_id])
    return _private_key(key_id)[1].public_key()


def public_key_pem(key_id: str | None = None) -> str:
    return (
        verifying_key(key_id)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def public_key_raw(key_id: str | None = None) -> str:
    """The public key as AUDIT_SIGNING_PUBLIC_KEYS takes it (``id:base64``)."""
    ring = keyring()
    key_id = key_id or ring.current("signing").key_id
    raw = verifying_key(key_id).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"{key_id}:{base64.b64encode(raw).decode()}"


def checkpoint_message(*, chain: int, seq: int, head_mac: str, head_digest: str, created_at: str, key_id: str) -> bytes:
    body = {
        "chain": chain,
        "seq": seq,
        "head_mac": head_mac,
        "head_digest": head_digest,
        "created_at": created_at,
        "key_id": key_id,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def checkpoint_export(checkpoint: AuditCheckpoint) -> dict[str, object]:
    return {
        "chain": checkpoint.chain,
        "seq": checkpoint.seq,
        "head_mac": checkpoint.head_mac,
        "head_digest": checkpoint.head_digest,
        "created_at": _stamp(checkpoint),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }


def _stamp(checkpoint: AuditCheckpoint) -> str:
    return checkpoint.created_at.astimezone(UTC).isoformat(timespec="microseconds")


def checkpoint_verify(checkpoint: AuditCheckpoint, public_key: Ed25519PublicKey | None = None) -> bool:
    if public_key is None:
        try:
            public_key = verifying_key(checkpoint.key_id)
        except (LookupError, KeyRingError):
            return False
    message = checkpoint_message(
        chain=checkpoint.chain,
        seq=checkpoint.seq,
        head_mac=checkpoint.head_mac,
        head_digest=checkpoint.head_digest,
        created_at=_stamp(checkpoint),
        key_id=checkpoint.key_id,
    )
    try:
        public_key.verify(bytes.fromhex(checkpoint.signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def checkpoints_create() -> list[AuditCheckpoint]:
    """Sign the head of every chain that moved since its last checkpoint."""
    key_id, private = _private_key()
    made = []
    for head in AuditChainHead.objects.filter(seq__gt=0):
        last = AuditCheckpoint.objects.filter(chain=head.chain).order_by("-seq").first()
        if last is not None and last.seq >= head.seq:
            continue
        with transaction.atomic():
            locked = AuditChainHead.objects.select_for_update().get(chain=head.chain)
            checkpoint = AuditCheckpoint(
                chain=locked.chain,
                seq=locked.seq,
                head_mac=locked.mac,
                head_digest=locked.digest,
                created_at=timezone.now(),
                key_id=key_id,
            )
            message = checkpoint_message(
                chain=checkpoint.chain,
                seq=checkpoint.seq,
                head_mac=checkpoint.head_mac,
                head_digest=checkpoint.head_digest,
                created_at=_stamp(checkpoint),
                key_id=key_id,
            )
            checkpoint.signature = private.sign(message).hex()
            checkpoint.save()
        made.append(checkpoint)
    return made
