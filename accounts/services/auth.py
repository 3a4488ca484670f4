"""Sign-in, sign-out, lockout and session bookkeeping."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate, update_session_auth_hash
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import LoginThrottle, ThrottleScope, User, UserSession
from accounts.rules import mark_reauthenticated
from accounts.signals import login_sessions_ended
from accounts.types import AuthedRequest
from audit.models import Action, Outcome
from audit.services import audit_record
from teletherapy.context import AuditContext, context_of
from teletherapy.errors import ServiceError

AUTH_AT_KEY = "auth_at"
LAST_SEEN_KEY = "last_seen"


class LoginRefused(ServiceError):
    def __init__(self, message: str, *, locked_until: datetime | None = None) -> None:
        super().__init__(message, code="login_refused")
        self.locked_until = locked_until


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()[:254]


def _throttle_keys(*, email: str, ip: str | None) -> list[tuple[str, str]]:
    keys = [(ThrottleScope.ACCOUNT.value, normalize_email(email))]
    keys.append((ThrottleScope.ADDRESS.value, ip or "unknown"))
    return keys


def throttle_locked_until(*, email: str, ip: str | None) -> datetime | None:
    now = timezone.now()
    latest: datetime | None = None
    for scope, key in _throttle_keys(email=email, ip=ip):
        row = LoginThrottle.objects.filter(scope=scope, key=key, locked_until__gt=now).first()
        if row is not None and row.locked_until is not None and (latest is None or row.locked_until > latest):
            latest = row.locked_until
    return latest


def throttle_register_failure(*, email: str, request: HttpRequest, user: User | None) -> datetime | None:
    """Count a failed password or code; lock with exponential backoff past the threshold."""
    now = timezone.now()
    forget = timedelta(seconds=settings.LOCKOUT_FORGET_SECONDS)
    locked_until = None
    with transaction.atomic():
        for scope, key in _throttle_keys(email=email, ip=getattr(request, "client_address", None)):
            LoginThrottle.objects.bulk_create([LoginThrottle(scope=scope, key=key)], ignore_conflicts=True)
            row = LoginThrottle.objects.select_for_update().get(scope=scope, key=key)
            if row.last_failure_at and now - row.last_failure_at > forget:
                row.failures = 0
            row.failures += 1
            row.last_failure_at = now
            over = row.failures - settings.LOCKOUT_THRESHOLD
            if over >= 0:
                seconds = min(settings.LOCKOUT_BASE_SECONDS * (2**over), settings.LOCKOUT_MAX_SECONDS)
                row.locked_until = now + timedelta(seconds=seconds)
                locked_until = max(locked_until or row.locked_until, row.locked_until)
                audit_record(
                    action=Action.LOCKOUT,
                    context=context_of(request),
                    target=user,
                    practice_id=user.practice_id if user else None,
                    outcome=Outcome.DENIED,
                    details={"scope": scope, "failures": row.failures, "seconds": seconds},
                )
            row.save()
    return locked_until


def throttle_clear_account(*, email: str) -> None:
    LoginThrottle.objects.filter(scope=ThrottleScope.ACCOUNT, key=normalize_email(email)).update(
        failures=0, locked_until=None
    )


def locked_message(locked_until: datetime) -> str:
    minutes = max(1, int((locked_until - timezone.now()).total_seconds() + 59) // 60)
    return (
        f"Too many unsuccessful attempts. For your protection, sign-in is paused for about "
        f"{minutes} minute{'s' if minutes != 1 else ''}."
    )


def _session_bind(request: HttpRequest, user: User, *, old_key: str | None = None) -> None:
    key = request.session.session_key
    if key is None:
        request.session.save()
        key = request.session.session_key
    if old_key and old_key != key:
        UserSession.objects.filter(session_key=old_key).delete()
    UserSession.objects.update_or_create(
        session_key=key,
        defaults={
            "user": user,
            "last_seen_at": timezone.now(),
            "ip_address": getattr(request, "client_address", None),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:256],
        },
    )


def session_rotate(request: HttpRequest, user: User) -> None:
    """Give the session a new key (after MFA, after a password change) and keep it tracked."""
    old_key = request.session.session_key
    request.session.cycle_key()
    _session_bind(request, user, old_key=old_key)


def _audit_login_failure(*, request: HttpRequest, known: User | None, reason: str) -> None:
    """A refused sign-in, filed under the targeted account's practice when the account exists."""
    audit_record(
        action=Action.LOGIN_FAILURE,
        context=context_of(request),
        target=known,
        practice_id=known.practice_id if known else None,
        outcome=Outcome.DENIED,
        details={"reason": reason},
    )


def login_with_password(*, request: HttpRequest, email: str, password: str) -> User:
    email = normalize_email(email)
    locked = throttle_locked_until(email=email, ip=getattr(request, "client_address", None))
    known = User.objects.filter(email=email).first()
    if locked:
        with transaction.atomic():
            _audit_login_failure(request=request, known=known, reason="locked")
        raise LoginRefused(locked_message(locked), locked_until=locked)

    user = authenticate(request, username=email, password=password)
    if user is not None and demo_refused(user):
        with transaction.atomic():
            _audit_login_failure(request=request, known=user, reason="demo_in_production")
        raise LoginRefused("The demo practice cannot be signed in to on a production server.")
    if user is None:
        with transaction.atomic():
            reason = "inactive" if known and not known.is_active else "bad_credentials"
            _audit_login_failure(request=request, known=known, reason=reason)
            locked = throttle_register_failure(email=email, request=request, user=known)
        if locked:
            raise LoginRefused(locked_message(locked), locked_until=locked)
        raise LoginRefused("That e-mail address and password do not match an active account.")

    with transaction.atomic():
        throttle_clear_account(email=email)
        # Audit first: if it cannot be written, the session is never marked as signed in.
        audit_record(action=Action.LOGIN_SUCCESS, actor=user, context=context_of(request), target=user)
        auth_login(request, user)  # gives the session a new key
        now = int(time.time())
        request.session[AUTH_AT_KEY] = now
        request.session[LAST_SEEN_KEY] = now
        mark_reauthenticated(request)
        _session_bind(request, user)
    return user


def demo_refused(user: User) -> bool:
    """A demo account (published password, printed authenticator key) on a production server."""
    return bool(settings.PRODUCTION and user.practice.is_demo)


def logout_user(*, request: AuthedRequest) -> None:
    user = request.user
    with transaction.atomic():
        if user.is_authenticated:
            audit_record(action=Action.LOGOUT, actor=user, context=context_of(request), target=user)
            UserSession.objects.filter(session_key=request.session.session_key).delete()
        auth_logout(request)


def session_timeout_end(*, request: AuthedRequest, reason: str) -> None:
    user = request.user
    action = Action.IDLE_TIMEOUT if reason == "idle" else Action.ABSOLUTE_TIMEOUT
    try:
        with transaction.atomic():
            audit_record(action=action, actor=user, context=context_of(request), target=user)
            UserSession.objects.filter(session_key=request.session.session_key).delete()
    finally:
        # The session ends even if the event could not be written: refusing is the safe side.
        auth_logout(request)


def sessions_end_for_user(
    *,
    user: User,
    actor: User | None,
    context: AuditContext | None,
    reason: str,
    keep_session_key: str | None = None,
) -> int:
    """End every signed-in session of ``user`` except ``keep_session_key``."""
    with transaction.atomic():
        tracked = UserSession.objects.filter(user=user)
        if keep_session_key:
            tracked = tracked.exclude(session_key=keep_session_key)
        keys = list(tracked.values_list("session_key", flat=True))
        Session.objects.filter(session_key__in=keys).delete()
        tracked.delete()
        audit_record(
            action=Action.SESSION_REVOKED,
            actor=actor,
            context=context,
            target=user,
            practice_id=user.practice_id,
            details={"reason": reason, "sessions": len(keys)},
        )
        login_sessions_ended.send(sender=User, user=user, session_keys=keys, reason=reason)
    return len(keys)


def sessions_revoke_others(*, request: AuthedRequest, reason: str = "signed_out_elsewhere") -> int:
    """End every session of the requesting user except this one."""
    return sessions_end_for_user(
        user=request.user,
        actor=request.user,
        context=context_of(request),
        reason=reason,
        keep_session_key=request.session.session_key,
    )


def password_change(*, request: AuthedRequest, new_password: str) -> None:
    user: User = request.user
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        update_session_auth_hash(request, user)
        session_rotate(request, user)
        audit_record(action=Action.PASSWORD_CHANGE, actor=user, context=context_of(request), target=user)
        sessions_revoke_others(request=request, reason="password_changed")
