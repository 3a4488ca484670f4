"""Who may enroll an account's first second factor: the browser session that accepted its
invitation, or one that proved control of its e-mail address with a single-use link that lasts
30 minutes. A session that only knows the password gets neither the enrolment page nor
anything else, so someone who learned the password cannot attach their own authenticator."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.login_session import grant_enrollment
from accounts.models import EnrollmentLink, User
from accounts.selectors import user_has_confirmed_device
from audit.models import Action, Outcome
from audit.services import audit_record
from teletherapy.context import context_of
from teletherapy.errors import ServiceError

LINK_LIFETIME = timedelta(minutes=30)
RESEND_AFTER = timedelta(minutes=2)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def enrollment_link_create(*, user: User, lifetime: timedelta = LINK_LIFETIME) -> str:
    """A new single-use link for this account; returns its address (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    EnrollmentLink.objects.create(user=user, token_hash=_digest(token), expires_at=timezone.now() + lifetime)
    return (settings.SITE_URL or "").rstrip("/") + reverse("accounts:enroll_link", args=[token])


def enrollment_link_send(*, request: object, user: User) -> bool:
    """E-mail the person a link to set up their second factor; not again within two minutes."""
    if user_has_confirmed_device(user=user):
        raise ServiceError("This account already has a second factor.")
    now = timezone.now()
    with transaction.atomic():
        recent = EnrollmentLink.objects.filter(user=user, used_at__isnull=True, created_at__gt=now - RESEND_AFTER)
        if recent.exists():
            return False
        link = enrollment_link_create(user=user)
        audit_record(action=Action.ENROLL_LINK_SENT, actor=user, context=context_of(request), target=user)  # type: ignore[arg-type]
    send_mail(
        subject="Set up your second factor",
        message=(
            f"Hello {user.full_name},\n\nSomeone signed in to your account with its password and asked to set up "
            f"its second factor. If it was you, open this link in the same browser within 30 minutes:\n\n{link}\n\n"
            "It works once. If it was not you, do not open it: change your password, and tell the practice.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )
    return True


def enrollment_link_use(*, request: object, user: User, token: str) -> None:
    """The link proves the e-mail address: this session may enroll this account. Once."""
    with transaction.atomic():
        link = EnrollmentLink.objects.select_for_update().filter(token_hash=_digest(token[:200])).first()
        usable = (
            link is not None and link.user_id == user.pk and link.used_at is None and link.expires_at > timezone.now()
        )
        if not usable:
            audit_record(
                action=Action.ENROLL_LINK_USED, actor=user, context=context_of(request), target=user,  # type: ignore[arg-type]
                outcome=Outcome.DENIED,
            )  # fmt: skip
        else:
            assert link is not None
            link.used_at = timezone.now()
            link.save(update_fields=["used_at"])
            audit_record(action=Action.ENROLL_LINK_USED, actor=user, context=context_of(request), target=user)  # type: ignore[arg-type]
            grant_enrollment(request.session, user)  # type: ignore[attr-defined]
    if not usable:
        raise ServiceError("This link has been used, has expired or belongs to another account. Ask for a new one.")
