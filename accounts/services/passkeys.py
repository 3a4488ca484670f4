"""Passkeys (WebAuthn): a second factor wherever a code is accepted, and, where the practice
allows it, a sign-in on its own (a passkey that verified the person stands for both steps).

The relying party is this site: its ID is the host of ``SITE_URL`` and the only origin accepted
is ``SITE_URL``'s. Attestation is ``none``: the platform trusts the public key it is given at
enrolment, in a session that may enroll, and nothing about the maker of the device. Each
challenge lives in the session for five minutes and is used once. A sign counter that does not
move forward on a valid signature means the credential was copied: refused and flagged.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import login as auth_login
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts.login_session import AUTH_AT_KEY, LAST_SEEN_KEY
from accounts.models import PasskeyDevice, TOTPDevice, User
from accounts.rules import mark_reauthenticated
from accounts.services.auth import (
    LoginRefused,
    _session_bind,
    demo_refused,
    locked_message,
    throttle_locked_until,
    throttle_register_failure,
)
from accounts.services.mfa import _backup_codes_replace, _session_mark_verified
from accounts.types import AuthedRequest
from audit.models import Action, Outcome
from audit.services import audit_record
from teletherapy.context import context_of
from teletherapy.errors import ServiceError

CHALLENGE_KEY = "passkey_challenge"
CHALLENGE_SECONDS = 300
NAME_LIMIT = 64
PURPOSES = ("register", "sign_in", "reauth", "passwordless")


def relying_party() -> tuple[str, str]:
    """(RP ID, the one origin accepted), from SITE_URL."""
    parts = urlsplit(settings.SITE_URL or "")
    return parts.hostname or "", f"{parts.scheme}://{parts.netloc}"


def user_handle(user: User) -> bytes:
    """An opaque, stable id for the person's passkeys: no e-mail address or number in it."""
    return salted_hmac("passkey-user-handle", str(user.pk)).digest()[:32]


def _remember(request: Any, purpose: str, challenge: bytes, user_id: int | None) -> None:
    request.session[CHALLENGE_KEY] = {
        "purpose": purpose,
        "challenge": bytes_to_base64url(challenge),
        "at": int(time.time()),
        "user": user_id,
    }


def _take(request: Any, purpose: str) -> tuple[bytes, int | None]:
    """The challenge handed out for this purpose, once; refused when missing, stale or another's."""
    held = request.session.pop(CHALLENGE_KEY, None)
    if not isinstance(held, dict) or held.get("purpose") != purpose:
        raise ServiceError("Start again: ask your browser for the passkey once more.", field="credential")
    if time.time() - int(held.get("at", 0)) > CHALLENGE_SECONDS:
        raise ServiceError("That took too long. Try the passkey again.", field="credential")
    return base64url_to_bytes(held["challenge"]), held.get("user")


def _descriptor(device: PasskeyDevice) -> PublicKeyCredentialDescriptor:
    transports = []
    for name in device.transports or []:
        try:
            transports.append(AuthenticatorTransport(name))
        except ValueError:
            continue
    return PublicKeyCredentialDescriptor(id=base64url_to_bytes(device.credential_id), transports=transports or None)


def _credential(value: Any) -> dict[str, Any]:
    """The browser's PublicKeyCredential as JSON (a dict or its text), or a plain refusal."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, dict) or not isinstance(value.get("id"), str) or len(value["id"]) > 1400:
        raise ServiceError("The browser did not send a passkey.", field="credential")
    return value


# Enrolment ---------------------------------------------------------------------------------


def passkey_register_options(*, request: AuthedRequest) -> str:
    """What the browser needs to make a passkey for this person (existing ones excluded)."""
    user = request.user
    rp_id, _origin = relying_party()
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=user.practice.name,
        user_name=user.email,
        user_id=user_handle(user),
        user_display_name=user.full_name,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED
        ),
        exclude_credentials=[_descriptor(d) for d in PasskeyDevice.objects.filter(user=user)],
    )
    _remember(request, "register", options.challenge, user.pk)
    return options_to_json(options)


def passkey_register(*, request: AuthedRequest, credential: Any, name: object = "") -> tuple[PasskeyDevice, list[str]]:
    """Keep the new passkey. The account's first factor verifies the session, and gets backup
    codes (returned) unless it is a synced passkey: one kept on every device of the person's
    account (the authenticator says so), whose loss is not the loss of a phone; such a person can
    make backup codes on the Security page. A later passkey leaves the session as it is."""
    user = request.user
    challenge, owner = _take(request, "register")
    rp_id, origin = relying_party()
    label = " ".join(str(name or "").split())[:NAME_LIMIT] or "Passkey"
    try:
        if owner != user.pk:
            raise WebAuthnException("challenge of another account")
        verified = verify_registration_response(
            credential=_credential(credential), expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin,
        )  # fmt: skip
    except (WebAuthnException, KeyError, TypeError, ValueError) as problem:
        with transaction.atomic():
            audit_record(
                action=Action.MFA_FAILURE, actor=user, context=context_of(request), target=user, outcome=Outcome.DENIED,
                details={"stage": "enroll", "method": "passkey", "reason": str(problem)[:200]},
            )  # fmt: skip
        raise ServiceError("The passkey could not be added. Try again.", field="credential") from None
    credential_id = bytes_to_base64url(verified.credential_id)
    transports = [
        t for t in (_credential(credential).get("response") or {}).get("transports", []) if isinstance(t, str)
    ]
    codes: list[str] = []
    with transaction.atomic():
        if PasskeyDevice.objects.filter(credential_id=credential_id).exists():
            raise ServiceError("This passkey is already added.", field="credential")
        first = not _has_factor(user)
        device = PasskeyDevice.objects.create(
            user=user, name=label, confirmed=True, credential_id=credential_id,
            public_key=bytes_to_base64url(verified.credential_public_key), sign_count=verified.sign_count,
            transports=transports[:8], backed_up=verified.credential_backed_up,
        )  # fmt: skip
        audit_record(
            action=Action.MFA_ENROLL, actor=user, context=context_of(request), target=user,
            details={"method": "passkey", "name": label, "first": first},
        )  # fmt: skip
        if first:
            if not verified.credential_backed_up:
                codes = _backup_codes_replace(user=user)
                audit_record(
                    action=Action.BACKUP_CODES_REGENERATED, actor=user, context=context_of(request), target=user
                )
            _session_mark_verified(request, device)
    return device, codes


def _has_factor(user: User, *, besides: PasskeyDevice | None = None) -> bool:
    """Whether the person has a second factor (an authenticator app or a passkey) other than this."""
    passkeys = PasskeyDevice.objects.filter(user=user, confirmed=True)
    if besides is not None:
        passkeys = passkeys.exclude(pk=besides.pk)
    return passkeys.exists() or TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def passkey_remove(*, request: AuthedRequest, device_id: object) -> None:
    """Remove one of the person's passkeys (the view asks for re-authentication first). The last
    second factor cannot go: backup codes alone are not a way in."""
    user = request.user
    with transaction.atomic():
        device = PasskeyDevice.objects.select_for_update().filter(user=user, pk=as_uuid(device_id)).first()
        if device is None:
            raise ServiceError("There is no such passkey.", field="device")
        if not _has_factor(user, besides=device):
            raise ServiceError(
                "This is your only second factor. Add another passkey or an authenticator app first.", field="device"
            )
        audit_record(
            action=Action.MFA_DEVICE_REMOVED, actor=user, context=context_of(request), target=user,
            details={"method": "passkey", "name": device.name},
        )  # fmt: skip
        device.delete()


def as_uuid(value: object) -> str:
    import uuid

    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return "00000000-0000-0000-0000-000000000000"


# Using a passkey ---------------------------------------------------------------------------


def passkey_request_options(*, request: Any, purpose: str) -> str:
    """A challenge for signing in (the second step, or passwordless) or re-authenticating."""
    if purpose not in PURPOSES[1:]:
        raise ServiceError("Unknown purpose.", field="purpose")
    rp_id, _origin = relying_party()
    user = request.user if purpose != "passwordless" else None
    allow = [_descriptor(d) for d in PasskeyDevice.objects.filter(user=user, confirmed=True)] if user else []
    if user is not None and not allow:
        raise ServiceError("You have no passkey yet.", field="credential")
    options = generate_authentication_options(
        rp_id=rp_id,
        allow_credentials=allow,
        user_verification=UserVerificationRequirement.REQUIRED
        if purpose == "passwordless"
        else UserVerificationRequirement.PREFERRED,
    )
    _remember(request, purpose, options.challenge, user.pk if user else None)
    return options_to_json(options)


def _check(request: Any, *, purpose: str, credential: Any, user: User | None) -> PasskeyDevice:
    """The passkey whose signature over this challenge is good; refused (and audited) otherwise."""
    challenge, owner = _take(request, purpose)
    payload = _credential(credential)
    rp_id, origin = relying_party()
    reason = ""
    with transaction.atomic():
        device = (
            PasskeyDevice.objects.select_for_update()
            .select_related("user", "user__practice")
            .filter(credential_id=payload["id"], confirmed=True)
            .first()
        )
        if device is None:
            reason = "unknown_credential"
        elif user is not None and (device.user_id != user.pk or owner != user.pk):
            reason = "another_account"
        else:
            try:
                verified = verify_authentication_response(
                    credential=payload, expected_challenge=challenge, expected_rp_id=rp_id, expected_origin=origin,
                    credential_public_key=base64url_to_bytes(device.public_key), credential_current_sign_count=0,
                    require_user_verification=purpose == "passwordless",
                )  # fmt: skip
            except (WebAuthnException, KeyError, TypeError, ValueError) as problem:
                reason = f"invalid: {str(problem)[:160]}"
            else:
                if (verified.new_sign_count or device.sign_count) and verified.new_sign_count <= device.sign_count:
                    reason = "sign_count_regression"
                else:
                    device.sign_count = verified.new_sign_count
                    device.last_used_at = timezone.now()
                    device.save(update_fields=["sign_count", "last_used_at"])
    if not reason:
        assert device is not None
        return device
    # The refusal is written in its own transaction, so that it stays when the caller's does not.
    target = user or (device.user if device else None)
    with transaction.atomic():
        audit_record(
            action=Action.MFA_FAILURE, actor=target, context=context_of(request), target=target,
            practice_id=target.practice_id if target else None, outcome=Outcome.DENIED,
            flagged=reason == "sign_count_regression",
            details={"method": "passkey", "purpose": purpose, "reason": reason,
                     **({"stored_count": device.sign_count} if device else {})},
        )  # fmt: skip
        locked = throttle_register_failure(email=target.email, request=request, user=target) if target else None
    if locked:
        raise LoginRefused(locked_message(locked), locked_until=locked)
    if reason == "sign_count_regression":
        raise ServiceError(
            "This passkey looks like a copy of one already used (its counter went backwards), so it was refused. "
            "The practice's admins can see this.",
            field="credential",
        )
    raise ServiceError(
        "That passkey was not accepted. Try again, or use your authenticator app or a backup code.", field="credential"
    )


def _not_locked(request: Any, email: str) -> None:
    locked = throttle_locked_until(email=email, ip=getattr(request, "client_address", None))
    if locked:
        raise LoginRefused(locked_message(locked), locked_until=locked)


def passkey_verify(*, request: AuthedRequest, credential: Any) -> PasskeyDevice:
    """The second step of signing in, with a passkey instead of a code."""
    user = request.user
    _not_locked(request, user.email)
    device = _check(request, purpose="sign_in", credential=credential, user=user)
    with transaction.atomic():
        audit_record(
            action=Action.MFA_VERIFY, actor=user, context=context_of(request), target=user,
            details={"method": "passkey", "name": device.name},
        )  # fmt: skip
        _session_mark_verified(request, device)
    return device


def passkey_reauthenticate(*, request: AuthedRequest, credential: Any) -> None:
    user = request.user
    _not_locked(request, user.email)
    _check(request, purpose="reauth", credential=credential, user=user)
    with transaction.atomic():
        audit_record(
            action=Action.REAUTHENTICATE,
            actor=user,
            context=context_of(request),
            target=user,
            details={"method": "passkey"},
        )
    mark_reauthenticated(request)


def passkey_sign_in(*, request: Any, credential: Any) -> User:
    """Passwordless: a passkey that verified the person signs them in, if their practice allows it."""
    device = _check(request, purpose="passwordless", credential=credential, user=None)
    # The same lockout as a password's: an account or address locked out is refused whatever the
    # method, until the lock runs out.
    locked = throttle_locked_until(email=device.user.email, ip=getattr(request, "client_address", None))
    if locked:
        with transaction.atomic():
            audit_record(
                action=Action.LOGIN_FAILURE, context=context_of(request), target=device.user,
                practice_id=device.user.practice_id, outcome=Outcome.DENIED,
                details={"reason": "locked", "method": "passkey"},
            )  # fmt: skip
        raise LoginRefused(locked_message(locked), locked_until=locked)
    with transaction.atomic():
        user = device.user
        if not user.is_active or not user.practice.passwordless_sign_in or demo_refused(user):
            audit_record(
                action=Action.LOGIN_FAILURE, context=context_of(request), target=user, practice_id=user.practice_id,
                outcome=Outcome.DENIED, details={"reason": "passwordless_off" if user.is_active else "inactive",
                                                 "method": "passkey"},
            )  # fmt: skip
            refused = True
        else:
            refused = False
            audit_record(
                action=Action.LOGIN_SUCCESS,
                actor=user,
                context=context_of(request),
                target=user,
                details={"method": "passkey"},
            )
            audit_record(
                action=Action.MFA_VERIFY, actor=user, context=context_of(request), target=user,
                details={"method": "passkey", "name": device.name, "passwordless": True},
            )  # fmt: skip
            auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            now = int(time.time())
            request.session[AUTH_AT_KEY] = now
            request.session[LAST_SEEN_KEY] = now
            _session_bind(request, user)
            _session_mark_verified(request, device)
    if refused:
        raise ServiceError("Your practice asks for your password first. Sign in with it, then use the passkey.")
    return user
