from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from accounts.models import Invitation
from teletherapy.keyring import keyring


def _aad(invitation_id: str) -> bytes:
    return f"invitation-email:{invitation_id}".encode()


def invitation_email_enqueue(*, invitation: Invitation, token: str) -> None:
    # The token is sealed before it goes through the broker, so Redis never holds it readable.
    sealed = keyring().seal(token, purpose="field", aad=_aad(str(invitation.pk)))
    send_invitation_email.delay(str(invitation.pk), sealed)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email(invitation_id: str, sealed_token: str) -> None:
    invitation = Invitation.objects.select_related("practice", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or invitation.status != "pending":
        return
    token = keyring().unseal(sealed_token, purpose="field", aad=_aad(invitation_id))
    site = (settings.SITE_URL or "").rstrip("/")
    link = site + reverse("accounts:invitation_accept", args=[token])
    facts = site + reverse("privacy:sheet", args=[invitation.practice.slug])
    send_mail(
        subject=f"{invitation.practice.name} invites you to its secure therapy platform",
        message=(
            f"Hello{(' ' + invitation.full_name) if invitation.full_name else ''},\n\n"
            f"{invitation.invited_by.full_name} at {invitation.practice.name} has invited you to join as "
            f"{invitation.get_role_display().lower()}.\n\n"
            f"Open this link to choose a password and set up two-step sign-in:\n{link}\n\n"
            f"The link works once and expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC.\n\n"
            f"Before you start, you can read how {invitation.practice.name} protects your data, where it is "
            f"kept and for how long:\n{facts}\n\n"
            "If you did not expect this, you can ignore this message.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invitation.email],
    )


@shared_task
def sessions_purge_ended() -> int:
    """Drop expired sessions, and the bookkeeping rows of sessions that no longer exist."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from accounts.models import UserSession

    Session.objects.filter(expire_date__lt=timezone.now()).delete()
    live = Session.objects.values("session_key")
    deleted, _ = UserSession.objects.exclude(session_key__in=live).delete()
    return deleted


@shared_task
def throttles_forget_old() -> int:
    from datetime import timedelta

    from django.db.models import Q
    from django.utils import timezone

    from accounts.models import LoginThrottle

    cutoff = timezone.now() - timedelta(seconds=settings.LOCKOUT_FORGET_SECONDS)
    deleted, _ = LoginThrottle.objects.filter(
        Q(last_failure_at__lt=cutoff) | Q(last_failure_at__isnull=True),
        Q(locked_until__isnull=True) | Q(locked_until__lt=timezone.now()),
    ).delete()
    return deleted
