"""Field encryption: AES-256-GCM under versioned keys, bound to row and field."""

from __future__ import annotations

import base64
import json
import secrets

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts.models import TOTPDevice
from audit.models import Action, AuditEvent
from teletherapy.keyring import CiphertextIntegrityError, KeyRing
from tests.conftest import password_only_session


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _ring(field_keys: list[tuple[str, str]]) -> KeyRing:
    other = [{"id": "x1", "key": _key()}]
    return KeyRing(
        {
            "field": [{"id": i, "key": k} for i, k in field_keys],
            "psychotherapy": other,
            "audit": other,
            "index": other,
            "signing": other,
        }
    )


def test_it_round_trips_and_never_repeats_a_ciphertext():
    ring = _ring([("k1", _key())])
    a = ring.seal("hello", purpose="field", aad=b"row:1")
    b = ring.seal("hello", purpose="field", aad=b"row:1")
    assert a != b
    assert ring.unseal(a, purpose="field", aad=b"row:1") == "hello"


def test_old_values_open_after_a_rotation():
    old = _key()
    sealed = _ring([("k1", old)]).seal("note", purpose="field", aad=b"r")
    rotated = _ring([("k2", _key()), ("k1", old)])
    assert rotated.unseal(sealed, purpose="field", aad=b"r") == "note"
    assert rotated.key_id_of(rotated.seal("x", purpose="field", aad=b"r")) == "k2"


@pytest.mark.parametrize(
    "mangle",
    ["flip", "aad", "unknown_key", "garbage", "non_ascii", "padding", "short", "no_body", "no_key", "other_purpose"],
)
def test_tampering_raises_an_integrity_error(mangle):
    ring = _ring([("k1", _key())])
    sealed = ring.seal("secret text", purpose="field", aad=b"row:1")
    aad = b"row:1"
    if mangle == "flip":
        prefix, key_id, body = sealed.split(":")
        raw = bytearray(base64.b64decode(body))
        raw[-1] ^= 1
        sealed = f"{prefix}:{key_id}:{base64.b64encode(bytes(raw)).decode()}"
    elif mangle == "aad":
        aad = b"row:2"
    elif mangle == "unknown_key":
        sealed = sealed.replace("tt1:k1:", "tt1:k9:")
    elif mangle == "non_ascii":
        sealed = sealed[:-4] + "é" + sealed[-3:]
    elif mangle == "padding":
        sealed = sealed[:20] + "==" + sealed[20:]
    elif mangle == "short":
        sealed = "tt1:k1:" + base64.b64encode(b"too short").decode()
    elif mangle == "no_body":
        sealed = "tt1:k1:"
    elif mangle == "no_key":
        sealed = sealed.replace("tt1:k1:", "tt1::")
    elif mangle == "other_purpose":
        sealed = ring.seal("secret text", purpose="psychotherapy", aad=aad)
    else:
        sealed = "tt1:k1:!!!not-base64"
    with pytest.raises(CiphertextIntegrityError):
        ring.unseal(sealed, purpose="field", aad=aad)


@pytest.mark.parametrize(
    "config",
    [
        {"field": [{"id": "k1", "key": base64.b64encode(b"short").decode()}]},
        {"field": [{"id": "k1", "key": "not base64!"}]},
        {"field": []},
        {"field": [{"id": "a:b", "key": base64.b64encode(bytes(32)).decode()}]},
    ],
)
def test_bad_key_configuration_is_refused_clearly(config):
    full = {
        "psychotherapy": [{"id": "p", "key": _key()}],
        "audit": [{"id": "a", "key": _key()}],
        "index": [{"id": "i", "key": _key()}],
        "signing": [{"id": "s", "key": _key()}],
        **config,
    }
    with pytest.raises(ImproperlyConfigured):
        KeyRing(full)


def test_keys_can_come_from_the_environment(tmp_path, monkeypatch):
    import subprocess
    import sys

    env = {
        "PATH": "/usr/bin:/bin",
        "DATA_DIR": str(tmp_path),
        "FIELD_ENCRYPTION_KEYS": f"f2:{_key()},f1:{_key()}",
        "PSYCHOTHERAPY_ENCRYPTION_KEYS": f"p1:{_key()}",
        "AUDIT_HMAC_KEYS_FILE": str(tmp_path / "audit-keys"),
        "BLIND_INDEX_KEYS": f"i1:{_key()}",
        "AUDIT_SIGNING_KEYS": f"s1:{_key()}",
    }
    (tmp_path / "audit-keys").write_text(f"a1:{_key()}\n")
    script = (
        "import django; django.setup(); from teletherapy.keyring import keyring; r = keyring(); "
        "print(r.current('field').key_id, r.current('audit').key_id)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "DJANGO_SETTINGS_MODULE": "teletherapy.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["f2", "a1"]
    assert not (tmp_path / "keyring.json").exists()


@pytest.mark.django_db
@pytest.mark.embedded
def test_altered_ciphertext_in_the_database_gives_a_clean_audited_error(make_user):
    user = make_user("client")
    sealed = TOTPDevice.objects.values_list("secret", flat=True).get(user=user)
    prefix, key_id, body = sealed.split(":")
    raw = bytearray(base64.b64decode(body))
    raw[20] ^= 0xFF
    TOTPDevice.objects.filter(user=user).update(secret=f"{prefix}:{key_id}:{base64.b64encode(bytes(raw)).decode()}")
    # Verifying a code opens the sealed secret; the altered one must fail loudly, not yield garbage.
    response = password_only_session(user).post("/mfa/", {"code": "123456"})
    assert response.status_code == 500
    assert b"integrity check" in response.content
    assert b"Traceback" not in response.content
    event = AuditEvent.objects.get(action=Action.INTEGRITY_FAILURE)
    assert event.target_type == "accounts.TOTPDevice" and event.target_id == str(TOTPDevice.objects.get(user=user).pk)
    assert json.dumps(event.details).find(sealed) == -1
