"""Second factor: TOTP enrollment and verification, backup codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

import qrcode
import qrcode.image.svg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.oath import TOTP

from accounts.login_session import DEVICE_SESSION_KEY
from accounts.models import BackupCode, BackupCodeDevice, PasskeyDevice, Role, TOTPDevice, User
from accounts.rules import mark_reauthenticated
from accounts.services.auth import (
    LoginRefused,
    locked_message,
    session_rotate,
    sessions_revoke_others,
    throttle_locked_until,
    throttle_register_failure,
)
from accounts.types import AuthedRequest
from audit.models import Action, Outcome
from audit.services import audit_record
from teletherapy.context import context_of
from teletherapy.errors import ServiceError
from teletherapy.keyring import keyring

ISSUER = "Teletherapy"
BACKUP_CODE_COUNT = 10
_BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_TOTP_PATTERN = re.compile(r"^\d{6}$")


# TOTP ----------------------------------------------------------------------------------------


def totp_device_start(*, user: User) -> TOTPDevice:
    """The pending authenticator for this user, created with a fresh secret if there is none."""
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-created_at").first()
    if pending is not None:
        return pending
    secret = base64.b32encode(secrets.token_bytes(20)).decode("ascii")
    device = TOTPDevice(user=user, name="Authenticator app", confirmed=False, secret=secret)
    device.save()
    return device


def totp_provisioning_uri(device: TOTPDevice) -> str:
    label = quote(f"{ISSUER}:{device.user.email}")
    query = urlencode({"secret": device.secret, "issuer": ISSUER, "digits": device.digits, "period": device.step})
    return f"otpauth://totp/{label}?{query}"


def totp_qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


def _totp_check(device: TOTPDevice, code: str) -> bool:
    """Check a code within OTP_TOTP_TOLERANCE_STEPS steps either side (one by default), refusing any
    step already used (replay)."""
    code = (code or "").strip().replace(" ", "")
    if not _TOTP_PATTERN.match(code):
        return False
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        return False
    key = base64.b32decode(device.secret)
    totp = TOTP(key, step=device.step, t0=0, digits=device.digits, drift=0)
    if totp.verify(int(code), tolerance=settings.OTP_TOTP_TOLERANCE_STEPS, min_t=device.last_t + 1):
        device.last_t = totp.t()
        device.throttle_reset(commit=False)
        device.save(update_fields=["last_t", "throttling_failure_count", "throttling_failure_timestamp"])
        return True
    device.throttle_increment(commit=False)
    device.save(update_fields=["throttling_failure_count", "throttling_failure_timestamp"])
    return False


# Backup codes --------------------------------------------------------------------------------


def _backup_code_key(key_id: str | None = None) -> tuple[str, bytes]:
    ring = keyring()
    key = ring.current("field") if key_id is None else ring.get("field", key_id)
    if key is None:
        raise ServiceError("This backup code was made under a key that is no longer available.")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"backup-codes").derive(key.secret)
    return key.key_id, derived


def _normalize_backup_code(code: str) -> str:
    return re.sub(r"[\s-]", "", (code or "").lower())


def _backup_digest(*, user_id: int, code: str, secret: bytes) -> str:
    message = f"{user_id}:{_normalize_backup_code(code)}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _new_backup_codes() -> list[str]:
    codes = []
    for _ in range(BACKUP_CODE_COUNT):
        raw = "".join(secrets.choice(_BACKUP_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def _backup_codes_replace(*, user: User) -> list[str]:
    BackupCodeDevice.objects.filter(user=user).delete()
    device = BackupCodeDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    key_id, secret = _backup_code_key()
    codes = _new_backup_codes()
    BackupCode.objects.bulk_create(
        [
            BackupCode(device=device, key_id=key_id, digest=_backup_digest(user_id=user.pk, code=c, secret=secret))
            for c in codes
        ]
    )
    return codes


def _backup_code_use(*, user: User, code: str) -> BackupCodeDevice | None:
    normalized = _normalize_backup_code(code)
    if len(normalized) != 10:
        return None
    device = BackupCodeDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
    if device is None:
        return None
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        return None
    for stored in device.codes.select_for_update().filter(used_at__isnull=True):
        _, secret = _backup_code_key(stored.key_id)
        if hmac.compare_digest(stored.digest, _backup_digest(user_id=user.pk, code=normalized, secret=secret)):
            stored.used_at = timezone.now()
            stored.save(update_fields=["used_at"])
            device.throttle_reset()
            return device
    device.throttle_increment()
    return None


# Flows ---------------------------------------------------------------------------------------


def verify_code_for_user(*, user: User, code: str) -> TOTPDevice | BackupCodeDevice:
    """Check a TOTP or backup code without touching the session. Raises ServiceError."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is not None and _totp_check(device, code):
            return device
        backup = _backup_code_use(user=user, code=code)
        if backup is not None:
            return backup
    raise ServiceError("That code is not valid. Codes change every 30 seconds and each works only once.")


def _session_mark_verified(request: AuthedRequest, device: TOTPDevice | BackupCodeDevice) -> None:
    session_rotate(request, request.user)
    request.session[DEVICE_SESSION_KEY] = device.persistent_id
    request.user.otp_device = device
    mark_reauthenticated(request)


def passkey_deadline(user: User) -> datetime | None:
    """For staff of a practice that requires passkeys: from when an authenticator code no longer
    signs them in (the end of their grace period: PASSKEY_GRACE_DAYS from when the practice began
    to require passkeys, or from when they joined, whichever is later); None for everyone else."""
    practice = user.practice
    if not practice.passkeys_required_for_staff or not user.has_role(Role.THERAPIST, Role.ADMIN):
        return None
    since = practice.passkeys_required_since or user.date_joined
    return max(since, user.date_joined) + timedelta(days=settings.PASSKEY_GRACE_DAYS)


def passkey_only(user: User) -> bool:
    """Whether only a passkey (or a backup code, the way back in) signs this person in: staff of a
    practice that requires passkeys, once they have one or once their grace period is over."""
    deadline = passkey_deadline(user)
    if deadline is None:
        return False

    return timezone.now() >= deadline or PasskeyDevice.objects.filter(user=user).exists()


def mfa_verify(*, request: AuthedRequest, code: str) -> TOTPDevice | BackupCodeDevice:
    user: User = request.user
    ip = getattr(request, "client_address", None)
    if _TOTP_PATTERN.match((code or "").strip().replace(" ", "")) and passkey_only(user):
        with transaction.atomic():
            audit_record(
                action=Action.MFA_FAILURE, actor=user, context=context_of(request), target=user, outcome=Outcome.DENIED,
                details={"reason": "passkey_required"},
            )  # fmt: skip
        raise ServiceError(
            "Your practice signs its staff in with a passkey: use yours. If you have none or lost it, use a "
            "backup code, then add a passkey; or ask an admin to recover your account."
        )
    locked = throttle_locked_until(email=user.email, ip=ip)
    if locked:
        with transaction.atomic():
            audit_record(
                action=Action.MFA_FAILURE,
                actor=user,
                context=context_of(request),
                target=user,
                outcome=Outcome.DENIED,
                details={"reason": "locked"},
            )
        raise LoginRefused(locked_message(locked), locked_until=locked)
    try:
        device = verify_code_for_user(user=user, code=code)
    except ServiceError:
        with transaction.atomic():
            audit_record(
                action=Action.MFA_FAILURE, actor=user, context=context_of(request), target=user, outcome=Outcome.DENIED
            )
            locked = throttle_register_failure(email=user.email, request=request, user=user)
        if locked:
            raise LoginRefused(locked_message(locked), locked_until=locked) from None
        raise
    with transaction.atomic():
        method = "backup_code" if isinstance(device, BackupCodeDevice) else "totp"
        audit_record(
            action=Action.MFA_VERIFY, actor=user, context=context_of(request), target=user, details={"method": method}
        )
        if isinstance(device, BackupCodeDevice):
            remaining = device.codes.filter(used_at__isnull=True).count()
            audit_record(
                action=Action.BACKUP_CODE_USED,
                actor=user,
                context=context_of(request),
                target=user,
                details={"remaining": remaining},
            )
        # Only once the events are written does the session count as verified.
        _session_mark_verified(request, device)
    return device


def totp_device_confirm(*, request: AuthedRequest, device: TOTPDevice, code: str) -> list[str]:
    """Confirm a pending authenticator with a valid code; returns the new backup codes.

    Replacing an existing authenticator ends every other session of the user.
    """
    user: User = request.user
    with transaction.atomic():
        locked_device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
        if not _totp_check(locked_device, code):
            audit_record(
                action=Action.MFA_FAILURE,
                actor=user,
                context=context_of(request),
                target=user,
                outcome=Outcome.DENIED,
                details={"stage": "enroll"},
            )
            failed = True
        else:
            failed = False
            replaced = TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=locked_device.pk)
            had_device = replaced.exists()
            replaced.delete()
            locked_device.confirmed = True
            locked_device.confirmed_at = timezone.now()
            locked_device.save(update_fields=["confirmed", "confirmed_at"])
            codes = _backup_codes_replace(user=user)
            audit_record(
                action=Action.MFA_ENROLL,
                actor=user,
                context=context_of(request),
                target=user,
                details={"replaced": had_device},
            )
            audit_record(action=Action.BACKUP_CODES_REGENERATED, actor=user, context=context_of(request), target=user)
            _session_mark_verified(request, locked_device)
            if had_device:
                sessions_revoke_others(request=request, reason="mfa_changed")
    if failed:
        locked = throttle_register_failure(email=user.email, request=request, user=user)
        if locked:
            raise LoginRefused(locked_message(locked), locked_until=locked)
        raise ServiceError("That code did not match. Check the time on your phone and enter the current code.")
    return codes


def backup_codes_regenerate(*, request: AuthedRequest) -> list[str]:
    user: User = request.user
    with transaction.atomic():
        codes = _backup_codes_replace(user=user)
        if isinstance(request.user.otp_device, BackupCodeDevice):
            # The session was verified with a code that no longer exists; keep it verified
            # by the authenticator instead.
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if device is not None:
                request.session[DEVICE_SESSION_KEY] = device.persistent_id
                request.user.otp_device = device
        audit_record(action=Action.BACKUP_CODES_REGENERATED, actor=user, context=context_of(request), target=user)
        sessions_revoke_others(request=request, reason="mfa_changed")
    return codes


def reauthenticate(*, request: AuthedRequest, password: str = "", token: str = "") -> bool:
    """Confirm the signed-in person again, by password or by a code from their authenticator."""
    user: User = request.user
    locked = throttle_locked_until(email=user.email, ip=getattr(request, "client_address", None))
    if locked:
        raise LoginRefused(locked_message(locked), locked_until=locked)
    ok = False
    if password:
        ok = user.check_password(password)
    elif token:
        try:
            verify_code_for_user(user=user, code=token)
            ok = True
        except ServiceError:
            ok = False
    with transaction.atomic():
        audit_record(
            action=Action.REAUTHENTICATE,
            actor=user,
            context=context_of(request),
            target=user,
            outcome=Outcome.ALLOWED if ok else Outcome.DENIED,
            details={"method": "password" if password else "code"},
        )
        if not ok:
            locked = throttle_register_failure(email=user.email, request=request, user=user)
    if ok:
        mark_reauthenticated(request)
    elif locked:
        raise LoginRefused(locked_message(locked), locked_until=locked)
    return ok
