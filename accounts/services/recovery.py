"""Recovering an account whose person lost every second factor and every backup code, without a
back door: two admins who are not that person (one approves having checked identity outside the
platform, a second confirms), then a delay (``ACCOUNT_RECOVERY_DELAY_HOURS``, 24 by default)
during which the account's e-mail address is told and the person can cancel. When it takes
effect every old factor goes, and a set-up link goes to the account's e-mail address."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import BackupCodeDevice, PasskeyDevice, RecoveryRequest, Role, TOTPDevice, User
from accounts.services.auth import sessions_end_for_user
from accounts.services.enrollment import enrollment_link_create
from audit.models import Action
from audit.services import audit_record
from teletherapy.context import AuditContext
from teletherapy.errors import Conflict, NotAllowed, NotVisible, ServiceError


def _delay() -> timedelta:
    return timedelta(hours=int(getattr(settings, "ACCOUNT_RECOVERY_DELAY_HOURS", 24)))


def delay_hours() -> int:
    return int(_delay().total_seconds() // 3600)


def _site() -> str:
    return (settings.SITE_URL or "").rstrip("/")


def _subject(user: User) -> int | None:
    """Recovery is an account change a client sees in "who opened my record"."""
    return user.pk if user.has_role(Role.CLIENT) else None


def _admins(user: User) -> list[str]:
    return list(
        User.objects.filter(practice_id=user.practice_id, role_grants__role=Role.ADMIN, is_active=True)
        .exclude(pk=user.pk)
        .values_list("email", flat=True)
        .distinct()
    )


def recovery_open_for(user: User) -> RecoveryRequest | None:
    for found in RecoveryRequest.objects.filter(user=user, cancelled_at__isnull=True, completed_at__isnull=True):
        return found
    return None


def recovery_request(*, context: AuditContext | None, user: User) -> RecoveryRequest:
    """The person (signed in with the password only) asks; the admins are told."""
    with transaction.atomic():
        existing = recovery_open_for(user)
        if existing is not None:
            return existing
        made = RecoveryRequest.objects.create(user=user)
        audit_record(
            action=Action.RECOVERY_REQUEST, actor=user, context=context, target=made,  # type: ignore[arg-type]
            subject_client_id=_subject(user),
        )  # fmt: skip
    admins = _admins(user)
    if admins:
        send_mail(
            subject=f"{user.full_name} asks to recover their account",
            message=(
                f"{user.full_name} ({user.email}) says they lost every second factor and backup code.\n\n"
                "Check that it is really them by a way you already know (a phone number on file, in person), "
                "not by replying to anything sent from the account. Then approve it; a second admin confirms, "
                f"and it takes effect {delay_hours()} hours later.\n\n"
                f"{_site()}{reverse('accounts:recoveries')}\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=admins,
        )
    return made


def recoveries_for_admin(*, admin: User) -> QuerySet[RecoveryRequest]:
    if not admin.has_role(Role.ADMIN):
        raise NotVisible("accounts.recoveryrequest", "")
    return RecoveryRequest.objects.filter(user__practice_id=admin.practice_id).select_related(
        "user", "approved_by", "confirmed_by"
    )


def _for_admin(admin: User, recovery_id: object) -> RecoveryRequest:
    import uuid

    try:
        key = uuid.UUID(str(recovery_id))
    except ValueError:
        raise NotVisible("accounts.recoveryrequest", recovery_id) from None
    found = recoveries_for_admin(admin=admin).select_for_update(of=("self",)).filter(pk=key).first()
    if found is None:
        raise NotVisible("accounts.recoveryrequest", recovery_id)
    if found.user_id == admin.pk:
        raise NotAllowed(
            "Nobody recovers their own account: two other admins must do it.",
            target_type="accounts.recoveryrequest",
            target_id=recovery_id,
        )
    return found


def recovery_approve(
    *, admin: User, recovery_id: object, identity_check: object, context: AuditContext | None
) -> RecoveryRequest:
    how = " ".join(str(identity_check or "").split())[:300]
    if not how:
        raise ServiceError("Say how you checked that it is really them.", field="identity_check")
    with transaction.atomic():
        found = _for_admin(admin, recovery_id)
        if found.state != "requested":
            raise Conflict(f"This recovery is already {found.state}.")
        found.approved_by, found.approved_at, found.identity_check = admin, timezone.now(), how
        found.save(update_fields=["approved_by", "approved_at", "identity_check"])
        audit_record(
            action=Action.RECOVERY_APPROVE, actor=admin, context=context, target=found,  # type: ignore[arg-type]
            # What the admin wrote stays sealed in the request; the trail (and so the witness,
            # exports and backups) says only that a check was recorded.
            subject_client_id=_subject(found.user), details={"identity_check": "recorded"},
        )  # fmt: skip
    return found


def recovery_confirm(*, admin: User, recovery_id: object, context: AuditContext | None) -> RecoveryRequest:
    """The second admin: the delay starts, and the account's e-mail address is told, with a way to cancel."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        found = _for_admin(admin, recovery_id)
        if found.state != "approved":
            raise Conflict("Only an approved recovery can be confirmed." if found.state == "requested" else
                           f"This recovery is already {found.state}.")  # fmt: skip
        if found.approved_by_id == admin.pk:
            raise NotAllowed(
                "A second admin confirms: not the one who approved it.",
                target_type="accounts.recoveryrequest",
                target_id=recovery_id,
            )
        now = timezone.now()
        found.confirmed_by, found.confirmed_at, found.effective_at = admin, now, now + _delay()
        found.cancel_token_hash = hashlib.sha256(token.encode()).hexdigest()
        found.save(update_fields=["confirmed_by", "confirmed_at", "effective_at", "cancel_token_hash"])
        audit_record(
            action=Action.RECOVERY_CONFIRM, actor=admin, context=context, target=found,  # type: ignore[arg-type]
            subject_client_id=_subject(found.user), details={"effective_at": found.effective_at.isoformat()},
        )  # fmt: skip
        user = found.user
        when = timezone.localtime(found.effective_at)
        cancel = f"{_site()}{reverse('accounts:recovery_cancel', args=[token])}"

        def tell() -> None:
            send_mail(
                subject="Your account's second factors will be reset",
                message=(
                    f"Hello {user.full_name},\n\nTwo admins of {user.practice.name} approved resetting the second "
                    f"factors of your account. It happens on {when:%d %B %Y at %H:%M %Z}; then we send a link to "
                    f"set up new ones.\n\nIf you did not ask for this, cancel it now:\n{cancel}\n"
                ),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[user.email],
            )

        transaction.on_commit(tell)
    return found


def recovery_cancel(*, token: str, context: AuditContext | None) -> RecoveryRequest:
    """The person (or whoever reads the account's e-mail) stops it, while it waits."""
    digest = hashlib.sha256(str(token)[:200].encode()).hexdigest()
    with transaction.atomic():
        found = RecoveryRequest.objects.select_for_update().filter(cancel_token_hash=digest).first()
        if found is None or found.state != "waiting":
            raise ServiceError("This link no longer cancels anything: the recovery was cancelled or has happened.")
        found.cancelled_at = timezone.now()
        found.save(update_fields=["cancelled_at"])
        audit_record(
            action=Action.RECOVERY_CANCEL, actor=found.user, context=context, target=found,  # type: ignore[arg-type]
            subject_client_id=_subject(found.user),
        )  # fmt: skip
    return found


def recovery_withdraw(*, admin: User, recovery_id: object, context: AuditContext | None) -> RecoveryRequest:
    """An admin stops a recovery that is not done (for example after a failed identity check)."""
    with transaction.atomic():
        found = _for_admin(admin, recovery_id)
        if not found.open:
            raise Conflict(f"This recovery is already {found.state}.")
        found.cancelled_at = timezone.now()
        found.save(update_fields=["cancelled_at"])
        audit_record(
            action=Action.RECOVERY_CANCEL, actor=admin, context=context, target=found,  # type: ignore[arg-type]
            subject_client_id=_subject(found.user),
        )  # fmt: skip
    return found


def recoveries_complete(now: object = None) -> int:
    """Carry out every confirmed recovery whose delay is over: all second factors and backup codes
    go, the account's sessions end, and a set-up link goes to its e-mail address."""
    moment = now or timezone.now()
    done = 0
    for found in RecoveryRequest.objects.filter(
        confirmed_at__isnull=False, cancelled_at__isnull=True, completed_at__isnull=True, effective_at__lte=moment
    ).select_related("user"):
        with transaction.atomic():
            locked = RecoveryRequest.objects.select_for_update().get(pk=found.pk)
            if locked.state != "waiting":
                continue
            user = found.user
            removed = {
                "authenticator_apps": TOTPDevice.objects.filter(user=user).delete()[0],
                "passkeys": PasskeyDevice.objects.filter(user=user).delete()[0],
                "backup_codes": BackupCodeDevice.objects.filter(user=user).delete()[0],
            }
            locked.completed_at = timezone.now()
            locked.save(update_fields=["completed_at"])
            audit_record(
                action=Action.RECOVERY_COMPLETE, target=locked, practice_id=user.practice_id,
                subject_client_id=_subject(user), details=removed,
            )  # fmt: skip
            sessions_end_for_user(user=user, actor=None, context=None, reason="account_recovered")
            link = enrollment_link_create(user=user, lifetime=timedelta(days=1))

            def tell(user: User = user, link: str = link) -> None:
                send_mail(
                    subject="Set up your second factor again",
                    message=(
                        f"Hello {user.full_name},\n\nYour account's old second factors were removed, as two admins "
                        f"approved. Sign in with your password from this link, within a day, to set up new ones:\n\n"
                        f"{link}\n"
                    ),
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    recipient_list=[user.email],
                )

            transaction.on_commit(tell)
            done += 1
    return done
