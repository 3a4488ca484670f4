"""A software passkey: what a phone or a security key does, for tests that drive the platform's
own endpoints without a browser. P-256 keys, "none" attestation, a real sign counter."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SoftPasskey:
    def __init__(
        self,
        *,
        rp_id: str = "localhost",
        origin: str = "http://localhost:8000",
        verifies_user: bool = True,
        synced: bool = False,
    ):
        self.rp_id = rp_id
        self.origin = origin
        self.verifies_user = verifies_user
        self.synced = synced  # backup eligible and backed up (the BE and BS flags)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = 0
        self.user_handle = b""

    def clone(self) -> SoftPasskey:
        """A copy of the same credential (its private key), with the counter where it is now."""
        twin = SoftPasskey(rp_id=self.rp_id, origin=self.origin, verifies_user=self.verifies_user, synced=self.synced)
        twin.key, twin.credential_id, twin.sign_count, twin.user_handle = (
            self.key, self.credential_id, self.sign_count, self.user_handle,
        )  # fmt: skip
        return twin

    def _cose(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _auth_data(self, *, attested: bool, rp_id: str | None = None) -> bytes:
        flags = 0x01 | (0x04 if self.verifies_user else 0) | (0x18 if self.synced else 0) | (0x40 if attested else 0)
        data = hashlib.sha256((rp_id or self.rp_id).encode()).digest() + bytes([flags])
        data += struct.pack(">I", self.sign_count)
        if attested:
            data += bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose()
        return data

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False}
        ).encode()

    def create(self, options: dict[str, Any] | str, *, origin: str | None = None) -> dict[str, Any]:
        options = json.loads(options) if isinstance(options, str) else options
        self.user_handle = base64.urlsafe_b64decode(options["user"]["id"] + "==")
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": self._auth_data(attested=True)})
        return {
            "id": b64(self.credential_id), "rawId": b64(self.credential_id), "type": "public-key",
            "response": {"clientDataJSON": b64(client_data), "attestationObject": b64(attestation),
                         "transports": ["internal"]},
            "clientExtensionResults": {}, "authenticatorAttachment": "platform",
        }  # fmt: skip

    def get(
        self, options: dict[str, Any] | str, *, origin: str | None = None, rp_id: str | None = None
    ) -> dict[str, Any]:
        options = json.loads(options) if isinstance(options, str) else options
        self.sign_count += 1
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = self._auth_data(attested=False, rp_id=rp_id)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64(self.credential_id), "rawId": b64(self.credential_id), "type": "public-key",
            "response": {"clientDataJSON": b64(client_data), "authenticatorData": b64(auth_data),
                         "signature": b64(signature), "userHandle": b64(self.user_handle)},
            "clientExtensionResults": {}, "authenticatorAttachment": "platform",
        }  # fmt: skip
