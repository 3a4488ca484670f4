"""A forgotten password: a link e-mailed to the account's address, single-use, bound to the
account and lasting 30 minutes, to choose a new password. The page that asks for the link answers
the same whether or not the address has an account; requests are limited per client address (the
page says so) and per account (silently, so the limit says nothing about who has an account).
A new password ends every session and socket of the account, tells the person by e-mail, and the
second factor is still asked for at the next sign-in: the link proves the e-mail address, which is
what the password stood for, and nothing more."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.login_session import practice_zone
from accounts.models import LoginThrottle, PasswordResetLink, Role, ThrottleScope, User
from accounts.services.auth import normalize_email, sessions_end_for_user, throttle_clear_account
from audit.models import Action, Outcome
from audit.services import audit_record
from teletherapy.context import AuditContext
from teletherapy.errors import NotAllowed, ServiceError
from teletherapy.keyring import keyring
from teletherapy.when import when

LINK_LIFETIME = timedelta(minutes=30)
PER_ACCOUNT_PER_HOUR = 3
PER_ADDRESS_PER_HOUR = 10


class ResetRefused(ServiceError):
    """Too many requests from one client address; says when to try again."""

    def __init__(self, message: str, *, until: datetime) -> None:
        super().__init__(message, code="reset_throttled")
        self.until = until


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _subject(user: User) -> int | None:
    """A client sees account changes like this one in "who opened my record"."""
    return user.pk if user.has_role(Role.CLIENT) else None


def address_counted(
    address: str, *, scope: str = ThrottleScope.RESET_ADDRESS, limit: int = PER_ADDRESS_PER_HOUR
) -> None:
    """Count one request from this client address in ``scope``; refuse past ``limit`` an hour."""
    now = timezone.now()
    with transaction.atomic():
        LoginThrottle.objects.bulk_create([LoginThrottle(scope=scope, key=address)], ignore_conflicts=True)
        row = LoginThrottle.objects.select_for_update().get(scope=scope, key=address)
        if row.locked_until and row.locked_until > now:
            until = row.locked_until
        else:
            if row.last_failure_at is None or now - row.last_failure_at > timedelta(hours=1):
                row.failures, row.last_failure_at = 0, now
            row.failures += 1
            row.locked_until = row.last_failure_at + timedelta(hours=1) if row.failures > limit else None
            row.save(update_fields=["failures", "last_failure_at", "locked_until"])
            if row.locked_until is None:
                return
            until = row.locked_until
    minutes = max(1, int((until - now).total_seconds() + 59) // 60)
    raise ResetRefused(
        f"Too many requests from this network. Try again in about {minutes} minute{'s' if minutes != 1 else ''}.",
        until=until,
    )


def _link_make(*, user: User, sent_by: User | None) -> PasswordResetLink:
    token = secrets.token_urlsafe(32)
    link = PasswordResetLink.objects.create(
        user=user, token_hash=_digest(token), expires_at=timezone.now() + LINK_LIFETIME, sent_by=sent_by
    )
    sealed = keyring().seal(token, purpose="field", aad=_aad(link))
    transaction.on_commit(lambda: password_reset_mail.delay(link.pk, sealed))
    return link


def _aad(link: PasswordResetLink) -> bytes:
    return f"accounts.passwordresetlink:{link.pk}".encode()


def password_reset_request(*, context: AuditContext | None, email: str) -> None:
    """Someone at the sign-in page asks for a link. Nothing returned: the page says the same
    thing whether or not the address has an account, and whether or not a link went."""
    address = (context.address if context else None) or "unknown"
    address_counted(address)
    email = normalize_email(email)
    user = User.objects.filter(email=email, is_active=True).select_related("practice").first()
    with transaction.atomic():
        if user is None:
            audit_record(
                action=Action.PASSWORD_RESET_REQUEST, context=context, outcome=Outcome.DENIED,
                details={"reason": "no_account"},
            )  # fmt: skip
            return
        recent = PasswordResetLink.objects.filter(user=user, created_at__gt=timezone.now() - timedelta(hours=1))
        if recent.count() >= PER_ACCOUNT_PER_HOUR:
            audit_record(
                action=Action.PASSWORD_RESET_REQUEST, context=context, target=user,
                practice_id=user.practice_id, outcome=Outcome.DENIED, details={"reason": "throttled"},
                subject_client_id=_subject(user),
            )  # fmt: skip
            return
        link = _link_make(user=user, sent_by=None)
        audit_record(
            action=Action.PASSWORD_RESET_REQUEST, context=context, target=link,  # type: ignore[arg-type]
            practice_id=user.practice_id, subject_client_id=_subject(user),
        )  # fmt: skip


def password_reset_send_for(*, admin: User, member: User, context: AuditContext | None) -> None:
    """An admin sends a member the same link: it goes to the member's own address, never to the admin."""
    if not admin.has_role(Role.ADMIN) or member.practice_id != admin.practice_id:
        raise NotAllowed("Only an admin of the practice can do that.", target_type="accounts.user", target_id=member.pk)
    if not member.is_active:
        raise ServiceError("This account is deactivated. Reactivate it first.")
    with transaction.atomic():
        recent = PasswordResetLink.objects.filter(user=member, created_at__gt=timezone.now() - timedelta(hours=1))
        if recent.count() >= PER_ACCOUNT_PER_HOUR:
            raise ServiceError("Three links went to this address in the last hour. Ask them to look for those.")
        link = _link_make(user=member, sent_by=admin)
        audit_record(
            action=Action.PASSWORD_RESET_REQUEST, actor=admin, context=context, target=link,  # type: ignore[arg-type]
            practice_id=member.practice_id, subject_client_id=_subject(member), details={"sent_by": "admin"},
        )  # fmt: skip


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def password_reset_mail(link_id: int, sealed_token: str) -> None:
    link = PasswordResetLink.objects.select_related("user", "user__practice", "sent_by").filter(pk=link_id).first()
    if link is None or link.used_at is not None or link.expires_at <= timezone.now():
        return
    token = keyring().unseal(sealed_token, purpose="field", aad=_aad(link))
    user = link.user
    url = (settings.SITE_URL or "").rstrip("/") + reverse("accounts:password_reset_link", args=[token])
    who = (
        f"{link.sent_by.full_name}, an admin at {user.practice.name}, sent you"
        if link.sent_by
        else "Someone asked at the sign-in page for"
    )
    send_mail(
        subject="Choose a new password",
        message=(
            f"Hello {user.full_name},\n\n{who} a link to choose a new password for your account at "
            f"{user.practice.name}. If that was you, open it within 30 minutes:\n\n{url}\n\n"
            "It works once. You will still confirm with your passkey or authenticator app when you sign in.\n\n"
            "If you did not ask for it, you can ignore this message: your password stays as it is.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )


def password_reset_link_find(*, token: str) -> PasswordResetLink | None:
    """The open link this token names, or None (unknown, used or expired)."""
    found = PasswordResetLink.objects.select_related("user").filter(token_hash=_digest(str(token)[:200])).first()
    if found is None or found.used_at is not None or found.expires_at <= timezone.now() or not found.user.is_active:
        return None
    return found


def password_reset_complete(*, context: AuditContext | None, token: str, new_password: str) -> User:
    """Set the new password from an open link: the link and every other open one of the account
    are spent, every session and socket of the account ends, the person is told by e-mail."""
    with transaction.atomic():
        link = (
            PasswordResetLink.objects.select_for_update()
            .select_related("user")
            .filter(token_hash=_digest(str(token)[:200]))
            .first()
        )
        if link is None or link.used_at is not None or link.expires_at <= timezone.now() or not link.user.is_active:
            audit_record(
                action=Action.PASSWORD_RESET, context=context, outcome=Outcome.DENIED,
                target=link.user if link else None, practice_id=link.user.practice_id if link else None,
                details={"reason": "link_unusable"},
            )  # fmt: skip
            raise ServiceError("This link has been used or has expired. Ask for a new one.", code="link_unusable")
        user = link.user
        try:
            validate_password(new_password, user=user)
        except ValidationError as error:
            raise ServiceError(" ".join(error.messages), field="password") from None
        now = timezone.now()
        PasswordResetLink.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
        user.set_password(new_password)
        user.save(update_fields=["password"])
        audit_record(
            action=Action.PASSWORD_RESET, actor=user, context=context, target=user,
            subject_client_id=_subject(user),
        )  # fmt: skip
        sessions_end_for_user(user=user, actor=user, context=context, reason="password_reset")
        throttle_clear_account(email=user.email)
        with timezone.override(practice_zone(user.zone_name)):
            at = when(now, "stamp")
        security = (settings.SITE_URL or "").rstrip("/") + reverse("accounts:security")
        transaction.on_commit(
            lambda: send_mail(
                subject="Your password was changed",
                message=(
                    f"Hello {user.full_name},\n\nThe password of your account was changed on "
                    f"{at} from a link sent to this address. Every place the "
                    "account was signed in has been signed out.\n\n"
                    "If this was you, there is nothing to do. If not, tell your practice at once: your "
                    f"second factor still protects the account. Security settings:\n{security}\n"
                ),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[user.email],
            )
        )
    return user
