"""Signed checkpoints of each chain's head (Ed25519 from the key ring)."""

from __future__ import annotations

import json
from datetime import UTC

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.db import transaction
from django.utils import timezone

from audit.models import AuditChainHead, AuditCheckpoint
from teletherapy.keyring import keyring


def _private_key(key_id: str | None = None) -> tuple[str, Ed25519PrivateKey]:
    ring = keyring()
    key = ring.current("signing") if key_id is None else ring.get("signing", key_id)
    if key is None:
        raise LookupError(f"no signing key {key_id!r}")
    return key.key_id, Ed25519PrivateKey.from_private_bytes(key.secret)


def public_key_pem(key_id: str | None = None) -> str:
    _, private = _private_key(key_id)
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


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
            public_key = _private_key(checkpoint.key_id)[1].public_key()
        except LookupError:
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
